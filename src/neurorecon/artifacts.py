"""Versioned artifacts: content hashes, atomic writes and manifests.

An artifact's folder name carries a hash of its stage's config section and of its inputs'
versions (see docs/architecture.md), so an edited stage writes to a new folder and everything
above it is reused. Every folder gets a ``manifest.json`` saying how it was made.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

PACKAGE_ROOT = Path(__file__).resolve().parent
HASH_LENGTH = 10

# Distributions whose versions go into every manifest (absent ones are skipped).
RECORDED_PACKAGES = (
    "neurorecon", "numpy", "scipy", "pandas", "scikit-learn", "nibabel", "nilearn",
    "torch", "torchvision", "open-clip-torch", "diffusers", "transformers", "safetensors", "h5py",
    "scikit-image", "snakemake",
)


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal configs hash equally."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(obj: Any, length: int = HASH_LENGTH) -> str:
    """Short sha256 of a JSON-able object (a config slice, a list of parent versions)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def stage_version(section: Mapping[str, Any], parents: Sequence[str] = ()) -> str:
    """Version of a stage: its own config section plus the versions of the stages it reads."""
    return config_hash({"config": section, "parents": list(parents)})


def _module_file(module: str) -> Path | None:
    """The source file of ``neurorecon.<...>`` (a module or a package's __init__)."""
    return _module_file_under(PACKAGE_ROOT, module)


@functools.lru_cache(maxsize=None)
def _module_file_under(root: Path, module: str) -> Path | None:
    parts = module.split(".")[1:]
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parse_imports(source: bytes, filename: str) -> list[str]:
    """Modules of neurorecon that a Python source imports (absolute imports, lazy ones included)."""
    found = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "neurorecon":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "neurorecon")
    return sorted(found)


class SourceHasher:
    """Content hashes of the neurorecon code that rule scripts reach.

    Every Snakemake start hashes some 40 scripts, following their imports through src/; parsing
    those files was most of the workflow's own start-up. The imports of each file are therefore
    kept by the sha256 of its content, in memory and, when ``cache_file`` is given, on disk across
    runs. Files are read and hashed every time, so any edit changes the code hash as before; a
    file whose content is new is parsed again.
    """

    def __init__(self, cache_file: str | os.PathLike | None = None):
        self.cache_file = None if cache_file is None else Path(cache_file)
        self.imports_by_digest: dict[str, list[str]] = {}
        if self.cache_file is not None and self.cache_file.is_file():
            try:
                self.imports_by_digest = json.loads(self.cache_file.read_text())
            except (OSError, ValueError):
                self.imports_by_digest = {}  # a damaged cache is rebuilt

    def imports(self, path: Path) -> list[str]:
        """The neurorecon modules a file imports."""
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        if digest not in self.imports_by_digest:
            self.imports_by_digest[digest] = _parse_imports(source, str(path))
            self._save()
        return self.imports_by_digest[digest]

    def _save(self) -> None:
        if self.cache_file is None:
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.cache_file, json.dumps(self.imports_by_digest))
        except OSError:
            pass  # only a speed-up: a read-only folder costs parsing, nothing else

    def closure(self, script: str | os.PathLike) -> list[Path]:
        """Every neurorecon source file a script uses, following imports transitively."""
        seen: set[Path] = set()
        pending = [Path(script)]
        while pending:
            current = pending.pop()
            for module in self.imports(current):
                parts = module.split(".")
                for depth in range(2, len(parts) + 1):  # the package __init__ files on the way run too
                    file = _module_file(".".join(parts[:depth]))
                    if file is not None and file not in seen:
                        seen.add(file)
                        pending.append(file)
        return sorted(seen)

    def hash(self, script: str | os.PathLike, length: int = HASH_LENGTH) -> str:
        """Content hash of the code a script reaches (its ``closure``)."""
        digest = hashlib.sha256()
        for path in self.closure(script):
            digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:length]


_IN_MEMORY = SourceHasher()


def source_closure(script: str | os.PathLike) -> list[Path]:
    """Every neurorecon source file a script uses, following imports transitively."""
    return _IN_MEMORY.closure(script)


def source_hash(script: str | os.PathLike, length: int = HASH_LENGTH) -> str:
    """Content hash of the neurorecon code a rule script uses (see :func:`source_closure`).

    Passed to each rule as a param, so that editing library code reruns exactly the rules whose
    scripts reach it; Snakemake by itself watches only the script file.
    """
    return _IN_MEMORY.hash(script, length)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only if the block succeeds.

    A crash or an exception leaves ``final`` as it was (absent or the previous version), never
    half written.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; it replaces ``final`` only if the block succeeds.

    For libraries that save a model as a folder (``save_pretrained``): a crash leaves the previous
    folder, or none, never a half-written one.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write pretty JSON atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def package_versions(names: Sequence[str] = RECORDED_PACKAGES) -> dict[str, str]:
    """Installed versions of the named distributions (missing ones are left out)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_state(repo: Path = PACKAGE_ROOT) -> dict[str, Any]:
    """The git commit of the code that ran, and whether the tree had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def describe_inputs(paths: Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Path, size and sha256 of each input file (folders are listed file by file)."""
    described = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            described.append({"path": str(file), "bytes": file.stat().st_size, "sha256": file_sha256(file)})
    return described


def write_manifest(
    folder: str | os.PathLike,
    *,
    stage: str,
    config: Mapping[str, Any],
    inputs: Sequence[str | os.PathLike] = (),
    outputs: Sequence[str | os.PathLike] = (),
    started: str,
    code_version: str | None = None,
    extra: Mapping[str, Any] | None = None,
    filename: str = "manifest.json",
) -> Path:
    """Write ``manifest.json`` into an artifact folder: config slice, input and output checksums,
    package versions, git commit, host and timing. Written last, so its presence marks the
    folder complete."""
    folder = Path(folder)
    manifest = {
        "stage": stage,
        "config": config,
        "code_version": code_version,
        "inputs": describe_inputs(inputs),
        "outputs": describe_inputs([p for p in outputs if Path(p).exists()]),
        "packages": package_versions(),
        "python": platform.python_version(),
        "git": git_state(),
        "host": socket.gethostname(),
        "started": started,
        "finished": now_iso(),
    }
    if extra:
        manifest["extra"] = dict(extra)
    target = folder / filename
    write_json_atomic(target, manifest)
    return target


def derivatives_description(name: str, description: str) -> dict[str, Any]:
    """A BIDS-derivatives ``dataset_description.json`` with GeneratedBy."""
    versions = package_versions(["neurorecon"])
    commit = git_state()["commit"]
    return {
        "Name": name,
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{
            "Name": "neurorecon",
            "Version": versions.get("neurorecon", "unknown"),
            "Description": description,
            **({"Commit": commit} if commit else {}),
        }],
    }


class ArtifactChangedError(RuntimeError):
    """A saved artifact's bytes differ from the checksum its manifest recorded when it was made."""


def recording_manifest(path: str | os.PathLike) -> Path | None:
    """The manifest.json of the artifact folder holding ``path``: the nearest one above it."""
    for folder in Path(path).resolve().parents:
        candidate = folder / "manifest.json"
        if candidate.is_file():
            return candidate
        if folder.name == "results" or folder.parent == folder:
            return None
    return None


def _recorded_entry(manifest: Path, outputs: list[dict], path: Path) -> dict | None:
    """The manifest's output entry for ``path`` (entries are paths as the job saw them, from where it ran)."""
    relative = path.resolve().relative_to(manifest.parent.resolve()).as_posix()
    for entry in outputs:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and "sha256" in entry):
            continue
        recorded = Path(entry["path"]).as_posix()
        if recorded == relative or recorded.endswith("/" + relative):
            return entry
    return None


def verify_artifact(path: str | os.PathLike) -> None:
    """Refuse an artifact whose bytes are not those its manifest recorded (a file edited, truncated
    or replaced after its stage finished), naming the file and both checksums. Files without a
    manifest above them, or that it does not list, pass: they are not versioned artifacts."""
    path = Path(path)
    targets = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    manifest = recording_manifest(targets[0] if targets else path)
    if manifest is None:
        return
    try:
        outputs = json.loads(manifest.read_text()).get("outputs") or []
    except (OSError, ValueError):
        return
    for target in targets:
        entry = _recorded_entry(manifest, outputs, target)
        if entry is None:
            continue
        actual = file_sha256(target)
        if actual != entry["sha256"]:
            raise ArtifactChangedError(
                f"{target}: sha256 {actual}, but {manifest} recorded {entry['sha256']} when the stage made it; "
                "the file changed on disk since. Rerun the stage that makes it (delete its folder, or "
                "snakemake --forcerun <rule>); `snakemake verify_artifacts` lists every changed artifact")


def changed_artifacts(folders: Sequence[str | os.PathLike]) -> tuple[int, list[dict]]:
    """Every output that the manifests under ``folders`` record, checked against the disk: the number
    checked, and one row (manifest, path, problem, recorded, actual) per file changed or missing."""
    checked, problems = 0, []
    for folder in folders:
        for manifest in sorted(Path(folder).rglob("manifest.json")):
            try:
                outputs = json.loads(manifest.read_text()).get("outputs") or []
            except (OSError, ValueError) as error:
                problems.append({"manifest": str(manifest), "path": str(manifest), "problem": f"unreadable ({error})",
                                 "recorded": "", "actual": ""})
                continue
            for entry in outputs:
                checked += 1
                path = Path(entry["path"])
                if not path.is_file():
                    problems.append({"manifest": str(manifest), "path": str(path), "problem": "missing",
                                     "recorded": entry["sha256"], "actual": ""})
                    continue
                actual = file_sha256(path)
                if actual != entry["sha256"]:
                    problems.append({"manifest": str(manifest), "path": str(path), "problem": "changed",
                                     "recorded": entry["sha256"], "actual": actual})
    return checked, problems
