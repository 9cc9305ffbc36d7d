"""What each rule declares for running elsewhere: a conda env in envs/ that lists every third-party
package its code reaches (at the version requirements.txt pins and pyproject allows), and the
resources a cluster scheduler needs, GPUs exactly where the code uses one."""

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

CONFIGS = [REPO / "config" / "config.yaml", *sorted((REPO / "config" / "examples").glob("*.yaml"))]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def workflow_rules(configfile: Path, workdir: Path) -> list:
    """The rules Snakemake builds from the Snakefile for one config (its private workflow object:
    no public API lists a rule's conda env and script)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with pytest.MonkeyPatch.context() as patch, SnakemakeApi(OutputSettings()) as api:
        patch.setenv("NEURORECON_CHECK_DATA", "0")  # the examples' data are elsewhere; only their rules are read here
        workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(configfiles=[CONFIGS[0], configfile]),
                                snakefile=REPO / "Snakefile", workdir=workdir)
        return list(workflow._workflow.rules)


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> dict[str, object]:
    """Every rule that any shipped config defines, by name."""
    found = {}
    for configfile in CONFIGS:
        for rule in workflow_rules(configfile, tmp_path_factory.mktemp(configfile.stem)):
            found.setdefault(rule.name, rule)
    return found


def env_packages(env_file: Path) -> dict[str, str]:
    """Normalised package name -> pinned version, from a conda env file's conda and pip lists."""
    pins = {}
    for entry in yaml.safe_load(env_file.read_text())["dependencies"]:
        for spec in entry["pip"] if isinstance(entry, dict) else [entry]:
            name, *version = re.split(r"==|=", spec, maxsplit=1)
            pins[canonicalize_name(name)] = version[0] if version else None
    return pins


@cache
def distribution_of(module: str) -> str | None:
    """The installed distribution that provides a top-level module (None for the standard library)."""
    if module in sys.stdlib_module_names:
        return None
    names = importlib.metadata.packages_distributions().get(module)
    assert names, f"no installed distribution provides module {module!r}"
    return canonicalize_name(names[0])


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import in a file, lazy ones inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def third_party_reached(script: Path) -> set[str]:
    """Distributions the script, the scripts' shared _common.py and the src modules it reaches import."""
    from neurorecon.artifacts import source_closure

    files = [script, script.parent / "_common.py", *source_closure(script)]
    modules = set().union(*(imported_modules(f) for f in files)) - {"neurorecon", "_common", "snakemake"}
    return {d for d in map(distribution_of, modules) if d is not None}


def pinned_requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def pyproject_requirements() -> dict[str, Requirement]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def test_every_rule_names_an_env_file_in_envs(rules):
    assert len(rules) > 40
    for name, rule in rules.items():
        if name == "all":
            continue
        assert rule.conda_env, f"rule {name} has no conda: directive"
        env = (Path(rule.snakefile).parent / str(rule.conda_env)).resolve()
        assert env.parent == REPO / "envs" and env.is_file(), f"rule {name}: {rule.conda_env} is not a file in envs/"


def test_each_rules_env_lists_every_third_party_package_its_code_imports(rules):
    missing = {}
    for name, rule in rules.items():
        if name == "all":
            continue
        script = (Path(rule.snakefile).parent / str(rule.script)).resolve()
        env = (Path(rule.snakefile).parent / str(rule.conda_env)).resolve()
        lacking = third_party_reached(script) - set(env_packages(env))
        if lacking:
            missing[f"{name} ({env.name})"] = sorted(lacking)
    assert not missing, f"envs lack packages their rules import: {missing}"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_versions_equal_the_pins_and_satisfy_pyproject(env_file):
    pins, ranges = pinned_requirements(), pyproject_requirements()
    for package, version in env_packages(env_file).items():
        if package in ("python", "pip"):
            continue
        assert package in ranges, f"{env_file.name}: {package} is not a dependency in pyproject.toml"
        assert pins.get(package) == version, f"{env_file.name}: {package} {version}, requirements.txt pins {pins.get(package)}"
        assert ranges[package].specifier.contains(version), \
            f"{env_file.name}: {package} {version} is outside pyproject's {ranges[package].specifier}"


def test_env_checks_catch_a_missing_package(tmp_path):
    """The import scan sees lazy imports inside functions, so an env without them would fail."""
    script = tmp_path / "script.py"
    script.write_text("import os\n\ndef f():\n    from sklearn.linear_model import Ridge\n    import yaml\n")
    (tmp_path / "_common.py").write_text("")
    assert third_party_reached(script) == {"scikit-learn", "pyyaml"}


def test_every_rule_declares_memory_runtime_and_a_gpu_exactly_where_its_script_uses_one(rules):
    for name, rule in rules.items():
        if name == "all":
            continue
        declared = set(rule.resources)
        assert {"mem_mb", "runtime"} <= declared, f"rule {name} lacks mem_mb or runtime"
        script = (Path(rule.snakefile).parent / str(rule.script)).read_text()
        uses_gpu = "best_device()" in script
        assert ("gpu" in declared) == uses_gpu, \
            f"rule {name}: script {'uses' if uses_gpu else 'never uses'} a GPU but gpu is {'not ' if uses_gpu else ''}declared"
