"""Read the GitOps repo at one commit, through GitPython.

Manifests are read from the commit (what GitOps applies), not the work tree: apps are
found and rendered (see apps.py, applied.py), the rest read as plain files. Parsed
documents are cached by blob id, renders by what they read, the history pass and the
resulting snapshot by commit id, so a repeat scan of an unchanged commit reads one
cache file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from codeowners import CodeOwners

from auditor.cli.progress import Advance
from auditor.errors import InputError, SourceError
from auditor.mesh.kinds import is_k8s_object, key_of, known_kind, placed
from auditor.model import Commit, Manifest, ObjectKey
from auditor.sources import cache
from auditor.sources.applied import READ_SUFFIXES, build_apps, tools_signature
from auditor.sources.apps import App, RepoTree, app_anchor, config_apps, discover
from auditor.sources.blobs import blob_text, read_blobs
from auditor.sources.history import Timeline, read_history
from auditor.sources.kustomize import KUSTOMIZATIONS
from auditor.sources.owner_files import ALIASES, OWNERS, Component, ProwOwners, components
from auditor.sources.remote import URL as _URL
from auditor.sources.remote import check_readable, redact
from auditor.sources.remote import mirror as _mirror
from auditor.sources.yamldocs import ParseError, load_one

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
CONFIG_NAME = ".mesh-audit.yaml"
_SNAPSHOT = "snapshot.json"


@dataclass(frozen=True)
class GitSnapshot:
    repo: str
    ref: str
    commit: str
    manifests: tuple[Manifest, ...]
    # The --path folders read, as repo paths; () is the whole repo.
    paths: tuple[str, ...] = ()
    errors: tuple[ParseError, ...] = ()
    # Manifest path -> its owners in the repo's CODEOWNERS (last matching pattern wins).
    codeowners: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Manifest path -> its owners in the nearest Prow OWNERS file (aliases expanded).
    owners_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Backstage Components that claim Kubernetes objects.
    catalog: tuple[Component, ...] = ()
    config_text: str | None = None
    config_source: str | None = None
    timeline: Timeline | None = None
    notes: tuple[str, ...] = ()
    # Each app: path, type, how it was found, object count, status and reason.
    apps: tuple[dict[str, Any], ...] = ()
    # Apps that could not be rendered: the scan is partial.
    problems: tuple[str, ...] = ()
    # Identifies what was read: commit, paths, renderers, declared apps.
    digest: str = ""
    # A shallow or grafted clone: the history stops early, so change dates are unknown.
    shallow: bool = False
    # A file's text at the commit (None when absent): findings read it to point at a field.
    text: Callable[[str], str | None] | None = field(default=None, compare=False, repr=False)


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


def _ls_tree(repo: Any, sha: str) -> tuple[dict[str, str], dict[str, str]]:
    """Every regular file (path -> blob id) and folder (path -> tree id) of the commit.

    Symlinks and submodules are left out: rendering never follows a link out of the repo."""
    out = repo.git.ls_tree("-r", "-t", "-z", "--full-tree", sha)
    files: dict[str, str] = {}
    folders: dict[str, str] = {"": repo.commit(sha).tree.hexsha}
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, kind, oid = meta.split()
        if kind == "tree":
            folders[path] = oid
        elif kind == "blob" and mode != "120000":
            files[path] = oid
    return files, folders


def _remotes(repo: Any, spec: str) -> tuple[str, ...]:
    """URLs the repo is known by, to tell which Applications point at it."""
    if _URL.match(spec):
        return (redact(spec),)
    try:
        return tuple(redact(url) for remote in repo.remotes for url in remote.urls)
    except Exception:  # a broken remote section must not stop the scan
        return ()


def _build(
    repo: Any,
    commit: Any,
    rel_paths: tuple[str, ...],
    slot: Path,
    advance: Advance | None,
    remotes: tuple[str, ...],
    declared: tuple[App, ...],
) -> dict[str, Any]:
    """Everything the scan needs from one commit, as JSON: cached whole, per commit.

    Reads every YAML blob of the tree (cached per blob id), finds the apps the way their
    controllers would and renders or reads them (`build_apps`), dates each source file by
    its last commit, and resolves owners (CODEOWNERS, OWNERS files) for the files objects
    came from. `docs` rows are `[path, line, key, commit sha, object, app, source name]`.
    Raises GitCommandError for the caller to report."""
    files, folders = _ls_tree(repo, commit.hexsha)
    yaml_files = [(blob, path) for path, blob in files.items() if path.endswith(READ_SUFFIXES)]
    on_file = (lambda n: advance("reading manifests", n)) if advance else None
    blobs = read_blobs(repo, yaml_files, slot, on_file)
    tree = RepoTree(
        files=files,
        folders=folders,
        docs={path: blobs[blob]["docs"] for blob, path in yaml_files},
        kustomizations={
            posixpath.dirname(path): blobs[blob]["docs"][0][1]
            for blob, path in yaml_files
            if path.endswith(KUSTOMIZATIONS)
            and blobs[blob]["docs"]
            and isinstance(blobs[blob]["docs"][0][1], dict)
        },
    )
    found = discover(tree, remotes, declared)
    built = build_apps(repo, tree, found, rel_paths, slot, advance)
    # A --path scan reads the history of its own files only: what it applies, and inputs.
    scope = (
        tuple(
            sorted(
                {p for p, _, _ in built.files}
                | {o.path for o in built.objects}
                | {p for a in built.apps for p in a["inputs"]}
            )
        )
        if rel_paths
        else ()
    )
    history = read_history(repo, commit.hexsha, slot, scope)
    docs: list[list[Any]] = []
    commits: dict[str, list[Any]] = {}
    errors: list[list[Any]] = []
    templates = 0

    def last_commit(path: str) -> str | None:
        revisions = history.get(path)
        last = revisions[0].commit if revisions else None
        if last is None:
            return None
        commits[last.sha] = list(last.__dict__.values())
        return last.sha

    for obj in built.objects:
        docs.append(
            [obj.path, obj.line, obj.key, last_commit(obj.path), obj.data, obj.app, obj.source_name]
        )
    for entry in built.apps:
        entry["inputs"] = [[p, last_commit(p)] for p in entry["inputs"]]
    for path, app, namespace in built.files:
        entry = blobs[files[path]]
        templates += entry["template"]
        errors.extend([path, line, problem] for line, problem in entry["errors"])
        sha = last_commit(path)
        for line, data in entry["docs"]:
            if is_k8s_object(data) and known_kind(data) is not None:
                data = placed(data, namespace)
                docs.append([path, line, key_of(data), sha, data, app, None])
    codeowners_text = _tree_text(commit, CODEOWNERS_PATHS)
    rules = CodeOwners(codeowners_text) if codeowners_text else None
    owners = {}
    prow_owners = {}
    owned = [d[0] for d in docs] + [app_anchor(d[5]) for d in docs if d[5] is not None]
    prow = ProwOwners(
        {
            path: blob_text(repo, blob)
            for path, blob in files.items()
            if posixpath.basename(path) == OWNERS or path == ALIASES
        }
    )
    for path in dict.fromkeys(owned):
        names = [name for _, name in rules.of(path)] if rules else []
        if names:
            owners[path] = names
        if prow and (named := prow.of(path)):
            prow_owners[path] = list(named)
    # Judged on the file, not on the manifests: a --path scan may select none it covers.
    if rules and not any(names for _, _, names, _, _ in rules.paths):
        found.notes.append(
            "CODEOWNERS names no owner on any line: each line needs a pattern and an "
            "owner (`apps/shop/ @acme/shop`)"
        )
    catalog = [
        [c.name, c.owner, c.kubernetes_id, [list(p) for p in c.selector]]
        for c in components(d for _, d in tree.objects())
    ]
    return {
        "commit": commit.hexsha,
        "paths": list(rel_paths),
        "files": len(built.files),
        "selected": built.selected,
        "docs": docs,
        # Blob ids of the files objects came from: findings read their text by id.
        "blobs": {d[0]: files[d[0]] for d in docs if d[0] in files},
        "commits": commits,
        "errors": errors,
        "templates": templates,
        "codeowners": owners,
        "owners_files": prow_owners,
        "catalog": catalog,
        "apps": built.apps,
        "history_scope": list(scope),
        "problems": built.problems,
        "notes": found.notes,
        "lasting": built.lasting,
    }


def read_repo(
    spec: str,
    ref: str | None,
    paths: tuple[str, ...],
    advance: Advance | None = None,
    config: Path | None = None,
) -> GitSnapshot:
    """The objects the repo applies at one commit: apps rendered, plain files read.

    `ref` None means HEAD, with a note when the worktree has uncommitted changes (they are
    ignored). `paths` narrow the scan to apps and folders; one that matches nothing is an
    InputError, as are an unknown ref and a repo without commits (exit 2); git failing is
    a SourceError (exit 3). The commit's snapshot (`_build`) is reused from the cache while
    commit, paths, tool versions, declared apps and remotes are unchanged. A shallow clone
    is read, with a note that age-based rules cannot run. `config` is a `--config` file
    that replaces the repo's `.mesh-audit.yaml` (its `apps:` decide how the repo is
    read)."""
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
    config_text, config_source = _config(commit, config)
    declared = tuple(
        config_apps(_apps_section(config_text, config_source), f"{config_source}: apps")
    )
    remotes = _remotes(repo, spec)
    tools = tools_signature()
    ident = [commit.hexsha, list(rel_paths), tools, [a.options() for a in declared], list(remotes)]
    snap = cache.load(slot / _SNAPSHOT)
    if not (isinstance(snap, dict) and snap.get("ident") == ident):
        try:
            snap = _build(repo, commit, rel_paths, slot, advance, remotes, declared)
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip()
            raise SourceError(f"git failed in {redact(spec)}: {detail}") from None
        snap["ident"] = ident
        if snap["lasting"]:
            cache.save(slot / _SNAPSHOT, snap)
    if status is not None and _dirty(status, spec):
        notes.append(
            f"uncommitted changes are ignored: scanning committed HEAD {commit.hexsha[:12]}"
        )
    missing = [p for p in rel_paths if p not in snap["selected"]]
    if missing:
        raise InputError(
            f"--path {missing[0]} matches no app or manifest at {commit.hexsha[:12]} "
            "(see `mesh-audit apps`)"
        )
    shallow = _shallow(repo)
    if shallow:
        notes.append(
            "shallow clone: the Git history is incomplete, so age-based rules (MA306, MA307) "
            "do not run; fetch the full history (git fetch --unshallow) to judge them"
        )
    if snap["templates"]:
        notes.append(f"{snap['templates']} templated file(s) skipped (contain `{{{{`)")
    commits = {sha: Commit(*c) for sha, c in snap["commits"].items()}
    inputs = {a["path"]: tuple((p, sha) for p, sha in a["inputs"]) for a in snap["apps"]}
    manifests = tuple(
        Manifest(
            ObjectKey(*key), data, path, line, commits.get(sha), app, name, inputs.get(app, ())
        )
        for path, line, key, sha, data, app, name in snap["docs"]
    )
    return GitSnapshot(
        repo=redact(spec),
        ref=ref or "HEAD",
        commit=commit.hexsha,
        manifests=manifests,
        paths=rel_paths,
        errors=tuple(ParseError(*e) for e in snap["errors"]),
        codeowners={path: tuple(names) for path, names in snap["codeowners"].items()},
        owners_files={path: tuple(names) for path, names in snap["owners_files"].items()},
        catalog=tuple(
            Component(n, o, k, tuple(tuple(p) for p in s)) for n, o, k, s in snap["catalog"]
        ),
        config_text=config_text,
        config_source=config_source,
        timeline=Timeline(repo, commit.hexsha, slot, tuple(snap["history_scope"])),
        notes=tuple(notes + snap["notes"]),
        apps=tuple(snap["apps"]),
        problems=tuple(snap["problems"]),
        digest=hashlib.sha256(json.dumps(ident).encode()).hexdigest(),
        shallow=shallow,
        text=lambda path: _blob_text(repo, snap["blobs"].get(path)),
    )


def _shallow(repo: Any) -> bool:
    """A shallow clone, or one with grafts: its oldest commits are not the real first ones."""
    git_dir = Path(repo.common_dir)
    return (git_dir / "shallow").exists() or (git_dir / "info" / "grafts").exists()


def _config(commit: Any, path: Path | None) -> tuple[str | None, str | None]:
    """The config text and where it came from: --config FILE, else the repo's file."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise InputError(f"cannot read config {path}: {exc.strerror or exc}") from None
    text = _tree_text(commit, (CONFIG_NAME,))
    return text, CONFIG_NAME if text is not None else None


def _apps_section(text: str | None, source: str | None) -> Any:
    """The raw `apps:` of the config (validated fully later, with the rest of it)."""
    if text is None:
        return None
    try:
        data = load_one(text)
    except yaml.YAMLError:
        return None  # load_config reports it, with its line
    return data.get("apps") if isinstance(data, dict) else None


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


def _blob_text(repo: Any, blob: str | None) -> str | None:
    """A file's text by its blob id (a tree walk per file costs ~3 ms; this, ~0.1 ms)."""
    if blob is None:
        return None
    try:
        return blob_text(repo, blob)
    except (ValueError, OSError):
        return None


def _tree_text(commit: Any, paths: tuple[str, ...]) -> str | None:
    """The first of `paths` present in the commit's tree (the order GitHub uses for CODEOWNERS)."""
    for path in paths:
        try:
            return commit.tree[path].data_stream.read().decode("utf-8", errors="replace")
        except KeyError:
            continue
    return None
