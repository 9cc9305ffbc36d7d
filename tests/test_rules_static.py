"""Static guards on the workflow: what Snakemake cannot check for us."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))
RULE_FILES = sorted((REPO / "rules").glob("*.smk"))
STANDARD_RESOURCES = {"mem_mb", "disk_mb", "runtime", "gpu", "gpu_model", "tmpdir", "cpus_per_gpu"}


def _rule_blocks():
    for path in RULE_FILES:
        text = path.read_text()
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)+)", text, flags=re.M):
            yield path.name, match.group(1), match.group(2)


RULES = list(_rule_blocks())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_read_snakemake_config(script):
    tree = ast.parse(script.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "config" and getattr(node.value, "id", None) == "snakemake":
            pytest.fail(f"{script.name}:{node.lineno} reads snakemake.config; pass the section through params:")


def test_rules_were_found():
    assert len(RULES) >= 8


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r[1])
def test_every_rule_has_log_conda_resources_and_a_code_hash(rule):
    file, name, body = rule
    for directive in ("log:", "conda:", "resources:", "threads:", "params:", "script:"):
        assert f"    {directive}" in body, f"{file}: rule {name} lacks {directive}"
    script = re.search(r"scripts/(\w+\.py)", body).group(1)
    assert f'code=script_code_hash("{script}")' in body, f"{file}: rule {name} must pass the code hash of its script"
    params = re.search(r"    params:\n((?:        .*\n)+)", body).group(1)
    assert "config[" not in params, f"{file}: rule {name} passes raw config; use stage_config() (sorted keys)"
    resources = re.search(r"    resources:\n((?:        .*\n)+)", body).group(1)
    names = {line.strip().split("=")[0] for line in resources.splitlines()}
    assert names <= STANDARD_RESOURCES, f"{file}: rule {name} uses non-standard resources {names - STANDARD_RESOURCES}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r[1])
def test_rule_scripts_exist_and_use_their_params(rule):
    file, name, body = rule
    script = REPO / "workflow" / "scripts" / re.search(r'script:\n\s+"\.\./workflow/scripts/(\w+\.py)"', body).group(1)
    assert script.is_file()
    params = re.search(r"    params:\n((?:        .*\n)+)", body).group(1)
    text = script.read_text()
    for param in (line.strip().split("=")[0] for line in params.splitlines() if "=" in line):
        if param != "code":  # the code hash exists only to trigger reruns
            assert f"snakemake.params.{param}" in text, f"{script.name} ignores params.{param} of rule {name}"


def test_code_hash_follows_imports_transitively():
    from neurorecon.artifacts import PACKAGE_ROOT, source_closure

    files = {p.relative_to(PACKAGE_ROOT).as_posix() for p in source_closure(REPO / "workflow/scripts/evaluate_embeddings.py")}
    # imported directly, and reached through neurorecon.evaluate.embedding -> preprocess.fmri -> io.inputs
    assert {"evaluate/embedding.py", "decode/ridge.py", "responses.py", "evaluate/ceiling.py", "artifacts.py"} <= files
    assert not any(f.startswith("synth/") for f in files)


def test_code_hash_changes_when_a_reached_module_changes(tmp_path, monkeypatch):
    from neurorecon import artifacts

    package = tmp_path / "neurorecon"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("from neurorecon.sub.b import f\n")
    (package / "sub" / "b.py").write_text("def f():\n    return 1\n")
    (package / "other.py").write_text("x = 1\n")
    script = tmp_path / "script.py"
    script.write_text("from neurorecon.sub.a import f\n")
    monkeypatch.setattr(artifacts, "PACKAGE_ROOT", package)
    before = artifacts.source_hash(script)
    (package / "other.py").write_text("x = 2\n")
    assert artifacts.source_hash(script) == before       # not reached: no rerun
    (package / "sub" / "b.py").write_text("def f():\n    return 2\n")
    assert artifacts.source_hash(script) != before       # reached through a.py: rerun


def test_import_cache_on_disk_is_used_and_never_hides_an_edit(tmp_path, monkeypatch):
    from neurorecon import artifacts

    package = tmp_path / "neurorecon"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from neurorecon.b import g\n    return g()\n")  # a lazy import
    (package / "b.py").write_text("def g():\n    return 1\n")
    script = tmp_path / "script.py"
    script.write_text("from neurorecon.a import f\n")
    monkeypatch.setattr(artifacts, "PACKAGE_ROOT", package)
    cache = tmp_path / ".snakemake" / "imports.json"
    first = artifacts.SourceHasher(cache).hash(script)
    assert cache.is_file() and len(json.loads(cache.read_text())) == 3  # script, a, b

    def no_parsing(*args):
        raise AssertionError("parsed although the cache knows this content")

    monkeypatch.setattr(artifacts, "_parse_imports", no_parsing)
    assert artifacts.SourceHasher(cache).hash(script) == first
    (package / "b.py").write_text("def g():\n    return 2\n")  # new content: parsed, hash changes
    monkeypatch.undo()
    monkeypatch.setattr(artifacts, "PACKAGE_ROOT", package)
    assert artifacts.SourceHasher(cache).hash(script) != first
    cache.write_text("{not json")
    assert artifacts.SourceHasher(cache).hash(script) == artifacts.SourceHasher().hash(script)


def test_snakefmt_leaves_the_rule_files_unchanged():
    snakefmt = Path(sys.executable).parent / "snakefmt"
    result = subprocess.run([str(snakefmt), "--check", "--diff", "Snakefile", "rules"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"snakefmt would change the rule files:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"


@pytest.mark.parametrize("example", [None, *sorted(p.name for p in (REPO / "config" / "examples").glob("*.yaml"))])
def test_snakemake_lint_has_no_findings(example, tmp_path):
    configs = [REPO / "config" / "config.yaml", *([REPO / "config" / "examples" / example] if example else [])]
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile"),
                             "--configfile", *map(str, configs)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "NEURORECON_CHECK_DATA": "0"})  # example data are elsewhere
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Congratulations, your workflow is in a good condition" in output, output[-3000:]
