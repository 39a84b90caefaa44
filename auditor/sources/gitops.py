"""Read the GitOps repo at one commit, through GitPython.

Manifests are read from the commit (what GitOps applies), not the work tree.
Parsed documents are cached by blob id and the history pass by commit id, so a
repeat scan of an unchanged repo parses nothing.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import cache
from auditor.errors import InputError, SourceError
from auditor.kinds import is_k8s_object, key_of, known_kind
from auditor.model import Commit, Manifest
from auditor.yamldocs import ParseError, parse

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
CONFIG_NAME = ".mesh-audit.yaml"
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_USERINFO = re.compile(r"//[^/@]*@")
OnFile = Callable[[int], None]
# Below this many unparsed files, starting worker processes costs more than it saves.
_PARALLEL_MIN = 400


@dataclass(frozen=True)
class GitSnapshot:
    repo: str
    ref: str
    commit: str
    manifests: tuple[Manifest, ...]
    errors: tuple[ParseError, ...] = ()
    codeowners: str | None = None
    config_text: str | None = None
    history: dict[str, tuple[Commit, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def redact(url: str) -> str:
    """Drop credentials from a clone URL before it is printed or stored."""
    return _USERINFO.sub("//", url)


def _open(spec: str) -> Any:
    import git

    if _URL.match(spec):
        return _mirror(spec)
    try:
        return git.Repo(spec, search_parent_directories=True)
    except git.NoSuchPathError:
        raise InputError(f"repo not found: {spec}") from None
    except git.InvalidGitRepositoryError:
        raise InputError(f"not a git repository: {spec} (pass --repo PATH or URL)") from None


def _mirror(url: str) -> Any:
    """Clone URL once into the cache, fetch on later runs."""
    import git

    path = cache.slot("clone", url) / "repo.git"
    try:
        if path.exists():
            repo = git.Repo(path)
            repo.git.fetch("--prune", "origin")
            return repo
        return git.Repo.clone_from(url, path, mirror=True)
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip().splitlines() or [str(exc.status)]
        raise SourceError(f"cannot fetch {redact(url)}: {redact(detail[-1])}") from None


def _ls_tree(repo: Any, sha: str, paths: tuple[str, ...]) -> list[tuple[str, str]]:
    """(blob id, path) of each manifest-looking file at the commit."""
    out = repo.git.ls_tree("-r", "-z", "--full-tree", sha, "--", *paths)
    files = []
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        _, kind, blob = meta.split()
        if kind == "blob" and path.endswith(MANIFEST_SUFFIXES + KUSTOMIZATIONS):
            files.append((blob, path))
    return files


def _history(repo: Any, sha: str, slot: Path) -> dict[str, list[Commit]]:
    """Commits touching each manifest path, newest first, in ONE `git log` pass.

    Renames are followed: commits made under an older name count for the current one.
    """
    cached = cache.load(slot / "history.json")
    if isinstance(cached, dict) and cached.get("commit") == sha:
        return {p: [Commit(*c) for c in cs] for p, cs in cached["paths"].items()}
    out = repo.git.log("-z", "-M", "--name-status", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI", sha)
    history: dict[str, list[Commit]] = {}
    current: dict[str, str] = {}
    for record in out.split("\x1e"):
        if not record:
            continue
        header, _, body = record.partition("\0")
        tokens = body.lstrip("\n").split("\0")
        touched: list[str] = []
        i = 0
        while i < len(tokens):
            status = tokens[i].strip()
            if not status:
                i += 1
                continue
            if status[0] in "RC":
                old, new = tokens[i + 1], tokens[i + 2]
                name = current.get(new, new)
                touched.append(name)
                if status[0] == "R":
                    current[old] = name
                i += 3
            else:
                touched.append(current.get(tokens[i + 1], tokens[i + 1]))
                i += 2
        commit_sha, author, email, date = header.split("\x1f")
        commit = Commit(commit_sha, author, email, date, len(touched))
        for path in touched:
            if path.endswith(MANIFEST_SUFFIXES):
                history.setdefault(path, []).append(commit)
    cache.save(
        slot / "history.json",
        {
            "commit": sha,
            "paths": {p: [list(c.__dict__.values()) for c in cs] for p, cs in history.items()},
        },
    )
    return history


def _kustomize_namespaces(kustomizations: dict[str, dict[str, Any]], path: str) -> str | None:
    """The namespace kustomize would give the file: the outermost listing kustomization wins."""
    namespace = None
    target = path
    folder = posixpath.dirname(path)
    while True:
        kust = kustomizations.get(folder)
        if kust is not None:
            entries = [*(kust.get("resources") or []), *(kust.get("bases") or [])]
            listed = {posixpath.normpath(posixpath.join(folder, str(e))) for e in entries}
            if target not in listed:
                break
            namespace = kust.get("namespace") or namespace
            target = folder
        if not folder:
            break
        folder = posixpath.dirname(folder)
    return namespace


def _parse_blob(text: str, path: str) -> dict[str, Any]:
    """A blob's cache entry: its Kubernetes documents, parse errors, template flag."""
    docs, errors = parse(text, path)
    template = bool(errors) and "{{" in text
    return {
        "docs": [
            [d.line, d.data] for d in docs if is_k8s_object(d.data) or path.endswith(KUSTOMIZATIONS)
        ],
        "errors": [] if template else [[e.line, e.problem] for e in errors],
        "template": template,
    }


def _parse_all(texts: list[str], paths: list[str]) -> list[dict[str, Any]]:
    """Parse on every core when there is enough to parse: YAML construction is CPU-bound."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(texts) < _PARALLEL_MIN:
        return [_parse_blob(t, p) for t, p in zip(texts, paths, strict=True)]
    chunk = max(1, len(texts) // (workers * 4))
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_parse_blob, texts, paths, chunksize=chunk))


def _read_blobs(
    repo: Any, files: list[tuple[str, str]], slot: Path, on_file: OnFile | None
) -> dict[str, dict[str, Any]]:
    """blob id -> cache entry; only blobs not parsed by an earlier scan are read."""
    cached = cache.load(slot / "blobs.json")
    old: dict[str, Any] = cached if isinstance(cached, dict) else {}
    parsed = {blob: old[blob] for blob, _ in files if blob in old}
    todo = {blob: path for blob, path in files if blob not in parsed}
    texts = []
    for n, blob in enumerate(todo, 1):
        texts.append(repo.odb.stream(bytes.fromhex(blob)).read().decode("utf-8", errors="replace"))
        if on_file and n % 200 == 0:
            on_file(200)
    parsed.update(zip(todo, _parse_all(texts, list(todo.values())), strict=True))
    if parsed.keys() != old.keys():
        cache.save(slot / "blobs.json", parsed)
    return parsed


def read_repo(
    spec: str, ref: str | None, paths: tuple[str, ...], on_file: OnFile | None = None
) -> GitSnapshot:
    import git

    repo = _open(spec)
    notes: list[str] = []
    try:
        commit = repo.commit(ref or "HEAD")
    except (git.BadName, ValueError, git.GitCommandError):
        if ref:
            raise InputError(f"unknown ref {ref!r} in {redact(spec)}") from None
        raise InputError(f"repo {redact(spec)} has no commits") from None
    if ref is None and not repo.bare and repo.is_dirty(untracked_files=False):
        notes.append(
            f"uncommitted changes are ignored: scanning committed HEAD {commit.hexsha[:12]}"
        )
    root = Path(repo.common_dir).resolve()
    slot = cache.slot("repo", str(root))
    rel_paths = tuple(p.strip("/") for p in paths if p.strip("/") not in ("", "."))
    try:
        files = _ls_tree(repo, commit.hexsha, rel_paths)
        blobs = _read_blobs(repo, files, slot, on_file)
        history = _history(repo, commit.hexsha, slot)
    except git.GitCommandError as exc:
        raise SourceError(f"git failed in {redact(spec)}: {(exc.stderr or '').strip()}") from None
    if rel_paths and not files:
        notes.append(f"no manifests under {', '.join(rel_paths)} at {commit.hexsha[:12]}")

    kustomizations = {
        posixpath.dirname(path): blobs[blob]["docs"][0][1]
        for blob, path in files
        if path.endswith(KUSTOMIZATIONS)
        and blobs[blob]["docs"]
        and isinstance(blobs[blob]["docs"][0][1], dict)
    }
    manifests: list[Manifest] = []
    errors: list[ParseError] = []
    templates = 0
    for blob, path in files:
        entry = blobs[blob]
        templates += entry["template"]
        errors.extend(ParseError(path, line, problem) for line, problem in entry["errors"])
        commits = history.get(path)
        last = commits[0] if commits else None
        namespace = None
        for line, data in entry["docs"]:
            if not is_k8s_object(data) or known_kind(data) is None:
                continue
            if namespace is None:
                namespace = _kustomize_namespaces(kustomizations, path) or "default"
            manifests.append(Manifest(key_of(data, namespace), data, path, line, last))
    if templates:
        notes.append(f"{templates} templated file(s) skipped (contain `{{{{`)")
    return GitSnapshot(
        repo=redact(spec),
        ref=ref or "HEAD",
        commit=commit.hexsha,
        manifests=tuple(manifests),
        errors=tuple(errors),
        codeowners=_tree_text(commit, CODEOWNERS_PATHS),
        config_text=_tree_text(commit, (CONFIG_NAME,)),
        history={p: tuple(cs) for p, cs in history.items()},
        notes=tuple(notes),
    )


def _tree_text(commit: Any, paths: tuple[str, ...]) -> str | None:
    """The first of `paths` present in the commit's tree (the order GitHub uses for CODEOWNERS)."""
    for path in paths:
        try:
            return commit.tree[path].data_stream.read().decode("utf-8", errors="replace")
        except KeyError:
            continue
    return None
