"""Render apps the way their controller does: `kustomize build`, `helm template`.

Rendering reads only the scanned commit (its files are written out of the Git object
database into a scratch folder, never taken from the work tree), never runs code from
the repo (no exec plugins, no KRM functions, no `--enable-helm`, no post-renderers) and
never reaches the network: remote bases are refused before kustomize runs. Each render
is cached by what it read (Git tree ids of its folders), the tool and its version, and
the app's options, so a repeat scan renders nothing, in any checkout of the repo.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.mesh.kinds import trim
from auditor.sources import cache
from auditor.sources.apps import App, AppType
from auditor.sources.kustomize import repo_path
from auditor.sources.yamldocs import SAFE_LOADER, parse

ORIGIN = "config.kubernetes.io/origin"
_WRAPPERS = ".mesh-audit-render"
_TIMEOUT = 120
_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}")
NO_HELM = (
    "helm is not installed: install helm to render this chart, "
    "or render it in CI and scan the output folder as a directory app"
)


@dataclass(frozen=True)
class Tool:
    """A renderer binary: the command that builds a folder, and its version."""

    name: str
    argv: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class Job:
    """One render to run: the app, what it reads, and its cache key."""

    app: App
    folders: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class Rendered:
    # (repo path of the file the object came from, or "" when unknown; the object)
    objects: tuple[tuple[str, dict[str, Any]], ...] = ()
    error: str | None = None
    # False for a failure the same inputs need not repeat (a timeout, a renderer that could
    # not start or was killed): it is not cached, so the next scan renders again.
    lasting: bool = True


def _tool_version(argv: list[str], parse: Callable[[str], str]) -> str:
    """A binary's version, remembered by its path, size and mtime (asking costs ~0.1 s)."""
    path = shutil.which(argv[0]) or argv[0]
    st = os.stat(path)
    ident = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    memo_path = cache.cache_root() / "tools.json"
    memo = cache.load(memo_path)
    memo = memo if isinstance(memo, dict) else {}
    if ident not in memo:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        memo[ident] = parse(out.stdout)
        cache.save(memo_path, memo)
    return str(memo[ident])


def _kubectl_kustomize(out: str) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(out).get("kustomizeVersion") or "")
    return out.strip()


def kustomize_tool() -> Tool | None:
    """`kustomize build` when kustomize is on PATH, else `kubectl kustomize`."""
    if shutil.which("kustomize"):
        version = _tool_version(["kustomize", "version"], str.strip)
        return Tool("kustomize", ("kustomize", "build"), version)
    if shutil.which("kubectl"):
        version = _tool_version(
            ["kubectl", "version", "--client", "-o", "json"], _kubectl_kustomize
        )
        return Tool("kubectl kustomize", ("kubectl", "kustomize"), version)
    return None


def helm_tool() -> Tool | None:
    if not shutil.which("helm"):
        return None
    version = _tool_version(["helm", "version", "--short"], str.strip)
    return Tool("helm", ("helm", "template"), version)


def cache_key(
    tool: Tool, app: App, folders: Iterable[str], trees: Mapping[str, str], blobs: Mapping[str, str]
) -> str:
    """What a render depends on: tool, options, and the Git ids of everything it reads."""
    h = hashlib.sha256(f"{tool.name}\0{tool.version}\0{app.options()}".encode())
    for folder in sorted(set(folders)):
        h.update(f"\0{folder}={trees.get(folder, '')}".encode())
    for path in app.value_files:
        h.update(f"\0{path}={blobs.get(path, '')}".encode())
    return h.hexdigest()


def _materialize(
    repo: Any, root: Path, files: Mapping[str, str], folders: Iterable[str], extra: Iterable[str]
) -> None:
    """Write the commit's files under `folders` (and the `extra` files) below `root`."""
    prefixes = tuple(f"{f}/" for f in folders if f)
    everything = "" in folders
    wanted = set(extra)
    for path, blob in files.items():
        if not (everything or path.startswith(prefixes) or path in wanted):
            continue
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(repo.odb.stream(bytes.fromhex(blob)).read())


def _env(home: Path) -> dict[str, str]:
    """A bare environment: no kubeconfig, no credentials, no plugin or cache folders of the user."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "KUSTOMIZE_PLUGIN_HOME": str(home / "no-plugins"),
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
        # A render is a short-lived Go process: collecting garbage costs it ~40% of its
        # time. No collection until 1 GiB, then Go collects as usual.
        "GOGC": "off",
        "GOMEMLIMIT": "1GiB",
    }


def _message(stderr: str, code: int, root: Path) -> str:
    """The renderer's own reason, on one line, with scratch paths made repo paths. Nested
    kustomize errors end with the cause, so a long one keeps its end."""
    lines = [
        line.strip()
        for line in stderr.replace(f"{root}/", "").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "Warning:", "W1", "I1"))
    ]
    text = " ".join(lines[-3:]) if lines else f"exit status {code}"
    text = re.sub(r"^E\d{4} [\d:.]+\s+\d+ \S+\] (\"command failed\" err=)?", "", text)
    text = re.sub(r"\s+", " ", text).strip('"')
    return text if len(text) <= 300 else "..." + text[-300:].partition(" ")[2]


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    """Flux's postBuild substitution: ${var}, ${var:=default}, ${var:-default}."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        return default if default is not None else match.group(0)

    return _VAR.sub(value, text)


def _wrapper(app: App, where: str) -> dict[str, Any]:
    """The kustomization that builds the app with the controller's options."""
    up = "/".join([".."] * len(where.split("/")))
    kust: dict[str, Any] = {
        "resources": [posixpath.join(up, app.path) if app.path else up],
        "buildMetadata": ["originAnnotations"],
    }
    if app.target_namespace:
        kust["namespace"] = app.target_namespace
    if app.name_prefix:
        kust["namePrefix"] = app.name_prefix
    if app.name_suffix:
        kust["nameSuffix"] = app.name_suffix
    if app.labels:
        kust["labels"] = [{"pairs": dict(app.labels), "includeSelectors": True}]
    if app.patches:
        kust["patches"] = [json.loads(p) for p in app.patches]
    if app.components:
        kust["components"] = [posixpath.join(up, c) for c in app.components]
    return kust


def _parse(text: str, source: Callable[[dict[str, Any], str], str]) -> Rendered:
    """The rendered objects, read by the rules Git files are read by (timestamps stay
    strings, size limits), so a fresh render and a cached one are the same objects."""
    objects = []
    docs, errors = parse(text, "renderer output")
    if errors:
        return Rendered(error=f"renderer output, line {errors[0].line}: {errors[0].problem}")
    chunks = _SOURCE.findall(text)
    for i, doc in enumerate(d.data for d in docs if isinstance(d.data, dict)):
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            continue
        path = source(doc, chunks[i] if i < len(chunks) else "")
        objects.append((path, trim(doc) if isinstance(doc.get("kind"), str) else doc))
    return Rendered(tuple(objects))


def _origin(doc: dict[str, Any], where: str) -> str:
    """The repo path kustomize's origin annotation names (removed from the object)."""
    meta = doc["metadata"]
    notes = meta.get("annotations")
    raw = notes.pop(ORIGIN, None) if isinstance(notes, dict) else None
    if isinstance(notes, dict) and not notes:
        del meta["annotations"]
    try:
        origin = yaml.load(raw, Loader=SAFE_LOADER) if isinstance(raw, str) else None
    except yaml.YAMLError:
        origin = None
    if not isinstance(origin, dict) or origin.get("repo"):
        return ""
    path = origin.get("path") or origin.get("configuredIn")
    if not isinstance(path, str):
        return ""
    found = repo_path(where, path)
    return "" if found.startswith("..") else found


def _render_kustomize(tool: Tool, root: Path, app: App, index: int, home: Path) -> Rendered:
    where = f"{_WRAPPERS}/{index}"
    folder = root / where
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(_wrapper(app, where)))
    return _run([*tool.argv, str(folder)], root, home, app, lambda d, _: _origin(d, where))


def _render_helm(tool: Tool, root: Path, app: App, index: int, home: Path) -> Rendered:
    argv = [*tool.argv, app.release or app.name, str(root / app.path)]
    argv += ["--namespace", app.namespace or "default"]
    for path in app.value_files:
        argv += ["--values", str(root / path)]
    for n, text in enumerate(app.values):
        values = home / f"values-{index}-{n}.yaml"
        values.write_text(text)
        argv += ["--values", str(values)]

    def source(_doc: dict[str, Any], comment: str) -> str:
        _, _, inside = comment.partition("/")
        return posixpath.join(app.path, inside) if inside else ""

    return _run(argv, root, home, app, source)


def _run(
    argv: list[str], root: Path, home: Path, app: App, source: Callable[[dict[str, Any], str], str]
) -> Rendered:
    try:
        out = subprocess.run(
            argv,
            cwd=root,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Rendered(error=f"{argv[0]} did not finish within {_TIMEOUT}s", lasting=False)
    except OSError as exc:
        return Rendered(error=f"cannot run {argv[0]}: {exc.strerror or exc}", lasting=False)
    if out.returncode != 0:
        message = _message(out.stderr, out.returncode, root)
        return Rendered(error=message, lasting=out.returncode > 0)
    text = _substitute(out.stdout, dict(app.substitute)) if app.substitute else out.stdout
    return _parse(text, source)


def render_all(
    repo: Any,
    jobs: list[Job],
    files: Mapping[str, str],
    workdir: Path,
    tools: Mapping[AppType, Tool],
    done: Callable[[], None] | None = None,
) -> dict[str, Rendered]:
    """Render every job (in parallel: each is a separate process) from the commit's
    files, in a scratch folder below `workdir` (the system's when that is not writable);
    returns cache key -> result."""
    if not jobs:
        return {}
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="render-", dir=workdir))
    except OSError:
        root = Path(tempfile.mkdtemp(prefix="mesh-audit-render-"))
    try:
        folders = {f for job in jobs for f in job.folders}
        extra = {p for job in jobs for p in job.app.value_files}
        _materialize(repo, root / "tree", files, folders, extra)
        home = root / "home"
        home.mkdir()
        renderers = {AppType.KUSTOMIZE: _render_kustomize, AppType.HELM: _render_helm}

        def one(n: int, job: Job) -> Rendered:
            result = renderers[job.app.type](tools[job.app.type], root / "tree", job.app, n, home)
            if done is not None:
                done()
            return result

        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
            results = list(pool.map(one, range(len(jobs)), jobs))
        return {job.key: result for job, result in zip(jobs, results, strict=True)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def load_cached(folder: Path, key: str) -> Rendered | None:
    entry = cache.load(folder / f"{key}.json")
    if not isinstance(entry, dict):
        return None
    try:
        return Rendered(tuple((p, o) for p, o in entry["objects"]), entry["error"])
    except (KeyError, TypeError, ValueError):
        return None


def save_cached(
    folder: Path, key: str, rendered: Rendered, keep: Callable[[dict[str, Any]], bool]
) -> None:
    """Keep only the objects mesh-audit reads (never Secrets or other kinds)."""
    objects = [[p, o] for p, o in rendered.objects if keep(o)]
    cache.save(folder / f"{key}.json", {"objects": objects, "error": rendered.error})
