"""Read the GitOps repo at one commit, through GitPython.

Manifests are read from the commit (what GitOps applies), not the work tree.
Parsed documents are cached by blob id, the history pass and the resulting snapshot by
commit id, so a repeat scan of an unchanged commit reads one cache file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeowners import CodeOwners

from auditor import cache
from auditor.errors import InputError, SourceError
from auditor.kinds import is_k8s_object, key_of, known_kind
from auditor.model import Commit, Manifest, ObjectKey
from auditor.sources.blobs import KUSTOMIZATIONS, OnFile, read_blobs
from auditor.sources.history import MANIFEST_SUFFIXES, Timeline, read_history
from auditor.sources.remote import URL as _URL
from auditor.sources.remote import check_readable, redact
from auditor.sources.remote import mirror as _mirror
from auditor.yamldocs import ParseError

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
CONFIG_NAME = ".mesh-audit.yaml"
_SNAPSHOT = "snapshot.json"


@dataclass(frozen=True)
class GitSnapshot:
    repo: str
    ref: str
    commit: str
    manifests: tuple[Manifest, ...]
    errors: tuple[ParseError, ...] = ()
    # Manifest path -> its owners in the repo's CODEOWNERS (last matching pattern wins).
    codeowners: dict[str, tuple[str, ...]] = field(default_factory=dict)
    config_text: str | None = None
    timeline: Timeline | None = None
    notes: tuple[str, ...] = ()


def _open(spec: str) -> Any:
    import git

    if _URL.match(spec):
        return _mirror(spec)
    try:
        return check_readable(git.Repo(spec, search_parent_directories=True), spec)
    except git.NoSuchPathError:
        raise InputError(f"repo not found: {spec}") from None
    except git.InvalidGitRepositoryError:
        raise InputError(f"not a git repository: {spec} (pass --repo PATH or URL)") from None


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


def _kustomize_namespaces(kustomizations: dict[str, dict[str, Any]], path: str) -> str | None:
    """The namespace kustomize would give the file: the outermost listing kustomization wins."""
    if not kustomizations:
        return None
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


def _build(
    repo: Any, commit: Any, rel_paths: tuple[str, ...], slot: Path, on_file: OnFile | None
) -> dict[str, Any]:
    """Everything the scan needs from one commit, as JSON: cached whole, per commit."""
    files = _ls_tree(repo, commit.hexsha, rel_paths)
    blobs = read_blobs(repo, files, slot, on_file)
    history = read_history(repo, commit.hexsha, slot)
    kustomizations = {
        posixpath.dirname(path): blobs[blob]["docs"][0][1]
        for blob, path in files
        if path.endswith(KUSTOMIZATIONS)
        and blobs[blob]["docs"]
        and isinstance(blobs[blob]["docs"][0][1], dict)
    }
    docs: list[list[Any]] = []
    commits: dict[str, list[Any]] = {}
    errors: list[list[Any]] = []
    templates = 0
    for blob, path in files:
        entry = blobs[blob]
        templates += entry["template"]
        errors.extend([path, line, problem] for line, problem in entry["errors"])
        revisions = history.get(path)
        last = revisions[0].commit if revisions else None
        if last is not None:
            commits[last.sha] = list(last.__dict__.values())
        namespace = None
        for line, data in entry["docs"]:
            if not is_k8s_object(data) or known_kind(data) is None:
                continue
            if namespace is None:
                namespace = _kustomize_namespaces(kustomizations, path) or "default"
            docs.append([path, line, key_of(data, namespace), last.sha if last else None, data])
    codeowners_text = _tree_text(commit, CODEOWNERS_PATHS)
    rules = CodeOwners(codeowners_text) if codeowners_text else None
    owners = {}
    for path in dict.fromkeys(d[0] for d in docs) if rules else ():
        names = [name for _, name in rules.of(path)]
        if names:
            owners[path] = names
    return {
        "commit": commit.hexsha,
        "paths": list(rel_paths),
        "files": len(files),
        "docs": docs,
        "commits": commits,
        "errors": errors,
        "templates": templates,
        "codeowners": owners,
        "config": _tree_text(commit, (CONFIG_NAME,)),
    }


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
    # `git status` stats every tracked file: it runs while the snapshot loads.
    status = (
        repo.git.status("--porcelain", "--untracked-files=no", as_process=True)
        if ref is None and not repo.bare
        else None
    )
    root = Path(repo.common_dir).resolve()
    slot = cache.slot("repo", str(root))
    rel_paths = tuple(p.strip("/") for p in paths if p.strip("/") not in ("", "."))
    snap = cache.load(slot / _SNAPSHOT)
    if not (
        isinstance(snap, dict)
        and snap.get("commit") == commit.hexsha
        and snap.get("paths") == list(rel_paths)
    ):
        try:
            snap = _build(repo, commit, rel_paths, slot, on_file)
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip()
            raise SourceError(f"git failed in {redact(spec)}: {detail}") from None
        cache.save(slot / _SNAPSHOT, snap)
    if status is not None and _dirty(status, spec):
        notes.append(
            f"uncommitted changes are ignored: scanning committed HEAD {commit.hexsha[:12]}"
        )
    if rel_paths and not snap["files"]:
        notes.append(f"no manifests under {', '.join(rel_paths)} at {commit.hexsha[:12]}")
    if snap["templates"]:
        notes.append(f"{snap['templates']} templated file(s) skipped (contain `{{{{`)")
    commits = {sha: Commit(*c) for sha, c in snap["commits"].items()}
    manifests = tuple(
        Manifest(ObjectKey(*key), data, path, line, commits.get(sha))
        for path, line, key, sha, data in snap["docs"]
    )
    return GitSnapshot(
        repo=redact(spec),
        ref=ref or "HEAD",
        commit=commit.hexsha,
        manifests=manifests,
        errors=tuple(ParseError(*e) for e in snap["errors"]),
        codeowners={path: tuple(names) for path, names in snap["codeowners"].items()},
        config_text=snap["config"],
        timeline=Timeline(repo, commit.hexsha, slot),
        notes=tuple(notes),
    )


def _dirty(status: Any, spec: str) -> bool:
    """Whether the running `git status --porcelain` lists changes to tracked files."""
    import git

    changes = status.stdout.read().strip()
    try:
        status.wait()
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip()
        raise SourceError(f"git status failed in {redact(spec)}: {detail}") from None
    return bool(changes)


def _tree_text(commit: Any, paths: tuple[str, ...]) -> str | None:
    """The first of `paths` present in the commit's tree (the order GitHub uses for CODEOWNERS)."""
    for path in paths:
        try:
            return commit.tree[path].data_stream.read().decode("utf-8", errors="replace")
        except KeyError:
            continue
    return None
