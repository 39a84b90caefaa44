"""What the repo applies at one commit: each selected app rendered (or read), plus plain files.

Files that are inputs of an app (bases, patches, components, values, chart templates)
are never manifests of their own. With no controller objects in the repo, YAML outside
every app is read as plain manifests, as `kubectl apply -f` would.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from auditor.cli.progress import Advance
from auditor.mesh.kinds import is_k8s_object, kept, key_of, known_kind, placed
from auditor.sources import cache
from auditor.sources.apps import CHART, App, AppType, Discovery, RepoTree
from auditor.sources.history import MANIFEST_SUFFIXES
from auditor.sources.kustomize import KUSTOMIZATIONS, Closure, closure
from auditor.sources.render import (
    NO_HELM,
    Job,
    Rendered,
    Tool,
    cache_key,
    helm_tool,
    kustomize_tool,
    load_cached,
    render_all,
    save_cached,
)

READ_SUFFIXES = MANIFEST_SUFFIXES + KUSTOMIZATIONS


@dataclass(frozen=True)
class Declared:
    """One rendered object and the document it came from."""

    path: str
    line: int
    key: tuple[str, ...]
    data: dict[str, Any]
    app: str
    source_name: str | None


@dataclass
class Built:
    objects: list[Declared] = field(default_factory=list)
    # Files read document by document: (path, app or None, default namespace).
    files: list[tuple[str, str | None, str]] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # The --path folders that select something.
    selected: list[str] = field(default_factory=list)
    # False when a render failed in a way the next scan need not repeat (a timeout): what
    # was built from it is not cached either.
    lasting: bool = True


def tools_signature() -> str:
    """The renderers on this machine and their versions: a different one renders anew."""
    tools = [kustomize_tool(), helm_tool()]
    return ";".join(f"{t.name} {t.version}" for t in tools if t is not None)


def _under(path: str, folder: str) -> bool:
    return not folder or path == folder or path.startswith(f"{folder}/")


def _braces(pattern: str) -> list[str]:
    """`{a,b}` alternatives, as Argo CD's include/exclude globs allow."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for alt in match.group(1).split(",") for p in _braces(head + alt + tail)]


def _glob_match(path: str, rel: str, pattern: str) -> bool:
    return any(
        fnmatchcase(rel, p) or fnmatchcase(posixpath.basename(path), p) for p in _braces(pattern)
    )


def directory_files(app: App, tree: RepoTree) -> list[str]:
    """The manifest files a directory app applies (Argo CD's recurse/include/exclude)."""
    found = []
    for path in sorted(tree.docs):
        if not path.endswith(MANIFEST_SUFFIXES) or not _under(path, app.path):
            continue
        rel = path[len(app.path) + 1 :] if app.path else path
        if "/" in rel and not app.recurse:
            continue
        if app.include and not _glob_match(path, rel, app.include):
            continue
        if app.exclude and _glob_match(path, rel, app.exclude):
            continue
        found.append(path)
    return found


def _closure(app: App, tree: RepoTree) -> Closure:
    if app.type is AppType.KUSTOMIZE:
        found = closure(app.path, tree.kustomizations, tree.files, tree.folders)
        for component in app.components:
            more = closure(component, tree.kustomizations, tree.files, tree.folders)
            found.folders += more.folders
            found.resources |= more.resources
            found.shaping |= more.shaping
            found.remote += more.remote
        return found
    if app.type is AppType.HELM:
        files = {p for p in tree.files if _under(p, app.path)}
        return Closure(folders=[app.path], shaping=files | set(app.value_files))
    return Closure(resources=set(directory_files(app, tree)))


def _by_kind(docs: list[tuple[int, Any]] | None) -> dict[str, list[tuple[int, str]]]:
    """(line, name) of a file's documents, by kind."""
    found: dict[str, list[tuple[int, str]]] = {}
    for line, d in docs or ():
        meta = d.get("metadata") if isinstance(d, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("name"), str):
            found.setdefault(str(d.get("kind")), []).append((line, meta["name"]))
    return found


def _locate(candidates: list[tuple[int, str]], name: str) -> tuple[int, str | None]:
    """Line and name of the document an object was rendered from (`candidates`: the
    file's documents of its kind): the name itself, or one contained in the rendered
    name (a name prefix or suffix was added)."""
    exact = [c for c in candidates if c[1] == name]
    inside = sorted((c for c in candidates if c[1] in name), key=lambda c: -len(c[1]))
    best = exact or inside or (candidates if len(candidates) == 1 else [])
    return best[0] if best else (1, None)


class _Builder:
    def __init__(self, repo: Any, tree: RepoTree, slot: Path) -> None:
        self.repo = repo
        self.tree = tree
        # Keyed by content (tool, options, Git ids of what a render reads), so shared by
        # every checkout and clone of the repo: a worktree per branch renders each app once.
        self.renders = cache.slot("renders")
        self.scratch = slot
        self.tools: dict[AppType, Tool | None] = {}
        self.built = Built()
        self._documents: dict[str, dict[str, list[tuple[int, str]]]] = {}

    def tool(self, kind: AppType) -> Tool | None:
        if kind not in self.tools:
            self.tools[kind] = kustomize_tool() if kind is AppType.KUSTOMIZE else helm_tool()
        return self.tools[kind]

    def why_not(self, app: App, found: Closure) -> str | None:
        """Why an app cannot be rendered here, before anything runs."""
        if app.skip:
            return app.skip
        if found.remote:
            return (
                f"remote base {found.remote[0]} is not fetched (mesh-audit never reaches the "
                "network): vendor it into the repo, or render in CI and scan the output"
            )
        if found.helm:
            return f"{found.helm[0]} needs `kustomize --enable-helm`, which mesh-audit never runs"
        if app.type is not AppType.DIRECTORY and self.tool(app.type) is None:
            return (
                NO_HELM if app.type is AppType.HELM else "neither kustomize nor kubectl is on PATH"
            )
        return None

    def emit(self, app: App, rendered: Rendered) -> int:
        count = 0
        default = app.namespace or "default"
        for path, data in rendered.objects:
            if not (is_k8s_object(data) and kept(data) and known_kind(data) is not None):
                continue
            where = path or (f"{app.path}/kustomization.yaml" if app.path else "kustomization.yaml")
            data = placed(data, default)
            key = key_of(data)
            if path not in self._documents:
                self._documents[path] = _by_kind(self.tree.docs.get(path))
            line, name = _locate(self._documents[path].get(key.kind, []), key.name)
            self.built.objects.append(Declared(where, line, tuple(key), data, app.label, name))
            count += 1
        return count


def build_apps(
    repo: Any,
    tree: RepoTree,
    found: Discovery,
    paths: tuple[str, ...],
    slot: Path,
    advance: Advance | None = None,
) -> Built:
    """Render or read every app selected by `paths` (all when empty), and pick the plain
    files; apps not selected still claim their inputs."""
    builder = _Builder(repo, tree, slot)
    built = builder.built
    inputs: set[str] = set()
    todo: list[tuple[App, Closure, dict[str, Any]]] = []
    for app in found.apps:
        found_files = _closure(app, tree)
        inputs |= found_files.files
        hits = [
            p
            for p in paths
            if _under(app.path, p) or (app.defined_in and _under(app.defined_in, p))
        ]
        if paths and not hits:
            continue
        built.selected += hits
        entry = {
            "path": app.label,
            "type": app.type.value,
            "found_by": app.found_by,
            "name": app.name,
            "namespace": app.target_namespace
            or app.namespace
            or (tree.kustomizations.get(app.path) or {}).get("namespace"),
            "status": "",
            "reason": None,
            "objects": 0,
            "inputs": sorted(found_files.shaping),
            "ignore": [list(r) for r in app.ignore],
            # kustomize builds it: an object declared twice fails the whole build.
            "refuses_duplicates": app.type is AppType.KUSTOMIZE or app.generated_kustomization,
        }
        built.apps.append(entry)
        reason = builder.why_not(app, found_files)
        if reason is not None:
            entry.update(status="skipped" if app.skip else "not rendered", reason=reason)
            if not app.skip:
                built.problems.append(f"app {app.label} ({app.type.value}): {reason}")
        elif app.type is AppType.DIRECTORY:
            files = sorted(found_files.resources)
            built.files += [(p, app.label, app.namespace or "default") for p in files]
            entry.update(status="read", objects=len(files))
        else:
            todo.append((app, found_files, entry))
    _render(builder, todo, advance)
    if not found.controllers:
        plain = [
            p
            for p in sorted(tree.docs)
            if p.endswith(MANIFEST_SUFFIXES)
            and p not in inputs
            and not p.endswith(KUSTOMIZATIONS)
            and posixpath.basename(p) != CHART
        ]
        for folder in paths:
            if any(_under(p, folder) for p in plain):
                built.selected.append(folder)
        built.files += [
            (p, None, "default") for p in plain if not paths or any(_under(p, f) for f in paths)
        ]
    built.selected = sorted(set(built.selected))
    built.problems.sort()
    return built


def _render(
    builder: _Builder, todo: list[tuple[App, Closure, dict[str, Any]]], advance: Advance | None
) -> None:
    """Recall cached renders, run the missing ones together, and emit every object."""
    tree = builder.tree
    jobs: dict[str, Job] = {}
    keys = []
    results: dict[str, Rendered] = {}
    for app, found_files, _ in todo:
        tool = builder.tool(app.type)
        assert tool is not None
        key = cache_key(tool, app, found_files.folders, tree.folders, tree.files)
        keys.append(key)
        cached = results.get(key) or load_cached(builder.renders, key)
        if cached is not None:
            results[key] = cached
        elif key not in jobs:
            jobs[key] = Job(app, tuple(found_files.folders), key)
    tools = {k: t for k, t in builder.tools.items() if t is not None}
    done = (lambda: advance("rendering apps", 1)) if advance else None
    fresh = render_all(builder.repo, list(jobs.values()), tree.files, builder.scratch, tools, done)
    for key, rendered in fresh.items():
        if rendered.lasting:
            save_cached(builder.renders, key, rendered, kept)
        else:
            builder.built.lasting = False
    results.update(fresh)
    for (app, _, entry), key in zip(todo, keys, strict=True):
        rendered = results[key]
        if rendered.error:
            entry.update(status="failed", reason=rendered.error)
            builder.built.problems.append(f"app {app.label} ({app.type.value}): {rendered.error}")
            continue
        entry.update(
            status="rendered" if key in fresh else "cached", objects=builder.emit(app, rendered)
        )
