"""What a kustomization reads: the folders and files a `kustomize build` of it would open.

Worked out from the kustomization files themselves (no render needed), so that a scan
knows which files are inputs of an app (never manifests of their own), which Git trees
a cached render depends on, and which references would make kustomize reach the
network (remote bases), before anything runs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Entries that name resources: files, folders holding a kustomization, or remote URLs.
_RESOURCE_LISTS = ("resources", "bases", "components")
# Entries that name files (or, for plugins, folders) read as configuration, not objects.
_CONFIG_LISTS = ("crds", "configurations", "generators", "transformers", "validators")
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*::|[a-z][a-z0-9+.-]*://|git@|[\w-]+(?:\.[\w-]+)+/)", re.I
)
_HELM_FIELDS = ("helmCharts", "helmChartInflationGenerator", "helmGlobals")


def kustomization_file(folder: str, files: Mapping[str, Any]) -> str | None:
    """The kustomization file of a folder, in kustomize's order of preference."""
    for name in KUSTOMIZATIONS:
        path = posixpath.join(folder, name) if folder else name
        if path in files:
            return path
    return None


def repo_path(folder: str, entry: str) -> str:
    """A path written relative to `folder`, as a path from the repo root ("" is the root;
    a path that leaves the repo starts with "..")."""
    path = posixpath.normpath(posixpath.join(folder, entry))
    return "" if path == "." else path


def is_remote(entry: str) -> bool:
    """A resource kustomize would fetch: a URL, `git@...`, or `github.com/org/repo//path`."""
    return bool(_REMOTE.match(entry))


@dataclass
class Closure:
    """Everything one kustomization reads, transitively."""

    # Folders whose kustomization is part of the build (the app's own first).
    folders: list[str] = field(default_factory=list)
    # Files whose documents become objects (resources), and files that only shape them
    # (the kustomization files, patches, replacements, generator inputs).
    resources: set[str] = field(default_factory=set)
    shaping: set[str] = field(default_factory=set)
    remote: list[str] = field(default_factory=list)
    helm: list[str] = field(default_factory=list)

    @property
    def files(self) -> set[str]:
        return self.resources | self.shaping


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _generator_files(kust: dict[str, Any]) -> Iterable[str]:
    for gen in (*_dicts(kust.get("configMapGenerator")), *_dicts(kust.get("secretGenerator"))):
        for entry in _strings(gen.get("files")):
            yield entry.partition("=")[2] or entry
        yield from _strings(gen.get("envs"))
        if isinstance(gen.get("env"), str):
            yield gen["env"]


def _resources(folder: str, kust: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(entry as written, path from the repo root) of each resource, base and component."""
    for name in _RESOURCE_LISTS:
        for entry in _strings(kust.get(name)):
            yield entry, repo_path(folder, entry)


def _config_paths(kust: dict[str, Any]) -> Iterable[str]:
    """Paths of files that configure the build rather than hold objects."""
    for name in _CONFIG_LISTS:
        yield from (e for e in _strings(kust.get(name)) if "\n" not in e)
    yield from (e for e in _strings(kust.get("patchesStrategicMerge")) if "\n" not in e)
    for name in ("patches", "patchesJson6902", "replacements"):
        yield from (d["path"] for d in _dicts(kust.get(name)) if isinstance(d.get("path"), str))
    yield from _generator_files(kust)
    openapi = kust.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield openapi["path"]


def closure(
    folder: str,
    kustomizations: Mapping[str, dict[str, Any]],
    files: Mapping[str, Any],
    folders: Iterable[str],
) -> Closure:
    """What building the kustomization in `folder` reads. `kustomizations` maps folders
    to their parsed kustomization, `files` every file path of the commit, `folders`
    every folder path of the commit."""
    known_folders = set(folders)
    found = Closure()
    todo = [folder]
    while todo:
        current = todo.pop()
        if current in found.folders:
            continue
        found.folders.append(current)
        kfile = kustomization_file(current, files)
        if kfile is not None:
            found.shaping.add(kfile)
        kust = kustomizations.get(current) or {}
        found.helm += [f"{current or '.'}: {name}" for name in _HELM_FIELDS if kust.get(name)]

        for entry, path in _resources(current, kust):
            if path in files:
                found.resources.add(path)
            elif path in known_folders or path == "":
                todo.append(path)
            elif is_remote(entry):
                found.remote.append(entry)
        for entry in _config_paths(kust):
            path = repo_path(current, entry)
            if path in known_folders:
                todo.append(path)
            elif path in files:
                found.shaping.add(path)
    return found


def referenced_folders(
    kustomizations: Mapping[str, dict[str, Any]], files: Mapping[str, Any], folders: Iterable[str]
) -> set[str]:
    """Folders that some other kustomization builds on (bases, components, nested apps)."""
    known = set(folders)
    return {
        path
        for current, kust in kustomizations.items()
        for _, path in _resources(current, kust)
        if path != current and (path in known or path == "") and path not in files
    }
