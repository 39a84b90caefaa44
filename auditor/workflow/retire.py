"""Monthly retirement: dead config leaves through Git, the GitOps way.

`plan` lists, per cluster, resources whose retirement-rule findings have been open past
the grace period (waived ones never). `apply` commits their removal on a new branch of
the GitOps repo: the document from a multi-document file or a `kind: List`, the file when
nothing else is left in it, its entry in a kustomization's `resources:`; for MA306 alone,
the 0% destination the finding names. Live-only resources cannot leave through Git: the
plan gives their owners the `kubectl delete` to run, with the cluster's context.

Apply never touches the user's checkout: it builds the commit in a temporary `git
worktree` (removed afterwards, also on failure), creates the branch only when the commit
is complete, and pushes exactly `refs/heads/<branch>`. It writes only regular files
inside the repo (never through a symlink) and skips, with a warning, a document edited
since the scan that planned it. Nothing is ever written to the cluster.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from auditor import clock, store
from auditor.errors import InputError, SourceError
from auditor.model import ISTIO_GROUP, label
from auditor.rulespec import Retire
from auditor.sources.gitops import redact
from auditor.sources.kustomize import KUSTOMIZATIONS, repo_path
from auditor.sources.yamldocs import load_one
from auditor.workflow.retire_edit import (
    EditError,
    Target,
    drop_resource,
    drop_zero_destinations,
    remove_document,
)
from rules import CATALOG

# The rules that declare RETIRE (see auditor/rulespec.py), in ID order.
DEFAULT_RULES = tuple(r.id for r in CATALOG if r.retire is not None)
# Findings that ask for an edit inside the resource, not its removal.
EDIT_RULES = frozenset(r.id for r in CATALOG if r.retire is Retire.EDIT)


class Action(StrEnum):
    REMOVE = "remove-manifest"
    KUBECTL = "kubectl-delete"
    EDIT = "edit"


@dataclass(frozen=True)
class Retirement:
    """One resource due for retirement and why."""

    cluster: str
    context: str | None
    kind: str
    namespace: str
    name: str
    owner: str | None
    path: str | None
    findings: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def action(self) -> Action:
        if all(f["rule"] in EDIT_RULES for f in self.findings):
            return Action.EDIT
        return Action.REMOVE if self.path else Action.KUBECTL

    @property
    def target(self) -> Target:
        return self.kind, self.namespace, self.name

    @property
    def change(self) -> tuple[Any, ...]:
        """What it does to Git: the same for one document planned in several clusters."""
        spots = sorted(f["locator"] for f in self.findings) if self.action == Action.EDIT else []
        return self.path, self.target, self.action, tuple(spots)

    @property
    def command(self) -> str | None:
        """What the owner runs for a live-only resource: delete it, or edit out the 0% leg."""
        if self.path:
            return None
        words = ["kubectl"]
        if self.context:
            words += ["--context", self.context]
        verb = "edit" if self.action == Action.EDIT else "delete"
        words += [verb, f"{self.kind.lower()}.{ISTIO_GROUP}", self.name, "-n", self.namespace]
        return shlex.join(words)

    def describe(self) -> str:
        rules = ", ".join(f"{f['rule']} {f['rule_name']}" for f in self.findings)
        owner = self.owner or "none"
        resource = label(self.kind, self.namespace, self.name)
        return f"{resource} (owner {owner}; {rules}) on {self.cluster}"


@dataclass(frozen=True)
class Applied:
    """What `apply` committed, and what it left alone and why."""

    branch: str
    commit: str
    done: tuple[Retirement, ...]
    skipped: tuple[tuple[Retirement, str], ...]


def plan(
    db: Path,
    rules: Sequence[str],
    grace_days: int,
    now: datetime,
    clusters: Sequence[str] = (),
    lock_timeout: float | None = None,
) -> list[Retirement]:
    """Resources due for retirement, by cluster, then kind, namespace and name."""
    cutoff = clock.iso(now - timedelta(days=grace_days))
    rows, contexts = store.retire_candidates(db, rules, cutoff, clusters, lock_timeout)
    unknown = [c for c in clusters if c not in contexts]
    if unknown:
        raise InputError(f"no scan of cluster {unknown[0]!r} in {db}")
    grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["cluster"], r["kind"], r["namespace"], r["name"]), []).append(r)
    return [
        Retirement(
            cluster,
            contexts.get(cluster),
            kind,
            ns,
            name,
            fs[0]["owner"],
            fs[0]["source_path"],
            tuple(fs),
        )
        for (cluster, kind, ns, name), fs in sorted(grouped.items())
    ]


def check_branch(repo: Any, branch: str, push: bool) -> None:
    """A new, well-formed branch name that exists neither here nor on a remote."""
    import git

    if not branch or branch.startswith("-") or branch == "HEAD":
        raise InputError(f"--branch {branch!r} is not a usable branch name")
    try:
        normal = repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        raise InputError(f"--branch {branch!r} is not a valid branch name") from None
    if normal != branch:
        raise InputError(f"--branch {branch!r} names another branch ({normal}); give a new name")
    taken = repo.git.for_each_ref(
        "--format=%(refname)", f"refs/heads/{branch}", f"refs/remotes/*/{branch}"
    )
    if taken:
        raise InputError(f"branch {branch} already exists ({taken.splitlines()[0]})")
    if push:
        try:
            remote = repo.git.ls_remote("--heads", "origin", f"refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise SourceError(f"cannot read origin: {_git_reason(exc)}") from None
        if remote:
            raise InputError(f"branch {branch} already exists on origin")


def _git_reason(exc: Any) -> str:
    """Git's last stderr line, without credentials of a remote URL it may quote."""
    lines = (exc.stderr or "").strip().splitlines()
    return redact(lines[-1].strip()) if lines else f"git exited with {exc.status}"


_LOCK_REASON = "mesh-audit retire apply, pid "
_TEMP_PREFIX = "mesh-audit-retire-"


def _prune_leftovers(repo: Any) -> None:
    """Remove worktrees that a killed `retire apply` left (their process is gone)."""
    repo.git.worktree("prune")
    folder = None
    for line in repo.git.worktree("list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            folder = line.removeprefix("worktree ")
        elif line.startswith(f"locked {_LOCK_REASON}") and folder:
            pid = line.removeprefix(f"locked {_LOCK_REASON}")
            if pid.isdigit() and not _alive(int(pid)):
                repo.git.worktree("remove", "--force", "--force", folder)
                if Path(folder).parent.name.startswith(_TEMP_PREFIX):
                    shutil.rmtree(Path(folder).parent, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    return True


@contextmanager
def _worktree(repo: Any, base: str) -> Iterator[Any]:
    """A detached temporary worktree at `base`, removed afterwards whatever happens. It is
    locked with our pid, so one left by a killed run is removed by the next."""
    import git

    _prune_leftovers(repo)
    folder = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX)) / "tree"
    reason = f"{_LOCK_REASON}{os.getpid()}"
    try:
        repo.git.worktree(
            "add", "--detach", "--quiet", "--lock", "--reason", reason, str(folder), base
        )
        yield git.Repo(folder)
    finally:
        if folder.exists():
            repo.git.worktree("remove", "--force", "--force", str(folder))
        shutil.rmtree(folder.parent, ignore_errors=True)


def _inside(root: Path, rel: str, write: bool = False) -> Path:
    """`rel` inside the work tree; for writing, reached through no symlink at all."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise EditError(f"{rel} is outside the repo; not written")
    path = root / rel
    if not write:
        if not path.resolve().is_relative_to(root.resolve()):
            raise EditError(f"{rel} leads outside the repo; not read")
        return path
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise EditError(
                f"{rel} goes through a symlink ({current.relative_to(root)}); not written"
            )
    return path


class _Tree:
    """The worktree's files with the edits made so far, written only when all are known."""

    def __init__(self, wt: Any) -> None:
        self.wt = wt
        self.root = Path(wt.working_tree_dir)
        self.pending: dict[str, str | None] = {}
        self.kustomizations: dict[str, dict[str, Any]] = {}
        for rel in wt.git.ls_files("-z").split("\0"):
            if posixpath.basename(rel) in KUSTOMIZATIONS:
                path = self.root / rel
                if path.is_file() and not path.is_symlink():
                    doc = _yaml_or_none(path.read_text(encoding="utf-8", errors="replace"))
                    if isinstance(doc, dict):
                        self.kustomizations[posixpath.dirname(rel)] = doc

    def read(self, rel: str, changes: dict[str, str | None]) -> str | None:
        for layer in (changes, self.pending):
            if rel in layer:
                return layer[rel]
        path = _inside(self.root, rel)
        if not path.exists():
            return None
        if not path.is_file():
            raise EditError(f"{rel} is not a regular file; not written")
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(f"{rel} is not UTF-8 text; not written") from None

    def default_namespace(self, rel: str) -> str:
        """The namespace kustomize gives a file's documents: the outermost kustomization
        listing it (through the folders above it) wins."""
        namespace = None
        target = rel
        folder = posixpath.dirname(rel)
        while True:
            kust = self.kustomizations.get(folder)
            if kust is not None:
                if target not in _listed(folder, kust):
                    break
                namespace = kust.get("namespace") or namespace
                target = folder
            if not folder:
                break
            folder = posixpath.dirname(folder)
        return namespace or "default"

    def shared(self, rel: str) -> str | None:
        """The kustomizations that build on the folder holding `rel` (a base): removing
        the document there would remove it from every overlay, not just the retired one."""
        folder = posixpath.dirname(rel)
        users = [
            f
            for f, kust in self.kustomizations.items()
            if f != folder and folder in _listed(f, kust)
        ]
        return ", ".join(sorted(u or "." for u in users)) or None

    def last_commit(self, rel: str) -> str:
        return str(self.wt.git.log("-1", "--format=%H", "--", rel))

    def commit(self, message: str) -> str:
        """Write the edits and commit them; `git add` applies the repo's filters (autocrlf,
        attributes) as for any edit, so untouched lines stay the same in the blob."""
        for rel, text in sorted(self.pending.items()):
            path = _inside(self.root, rel, write=True)
            if text is None:
                self.wt.git.rm("-q", "--", rel)
            else:
                path.write_bytes(text.encode("utf-8"))
                self.wt.git.add("--", rel)
        return str(self.wt.index.commit(message, skip_hooks=True).hexsha)


def _listed(folder: str, kust: dict[str, Any]) -> set[str]:
    """What the kustomization in `folder` lists in `resources:` and `bases:`, as repo paths."""
    entries = [*(kust.get("resources") or []), *(kust.get("bases") or [])]
    return {repo_path(folder, str(e)) for e in entries}


def _yaml_or_none(text: str) -> Any:
    """A kustomization read as the scan reads config files (bounded depth and aliases)."""
    try:
        return load_one(text)
    except yaml.YAMLError:
        return None


def _changes(tree: _Tree, r: Retirement) -> dict[str, str | None]:
    """The new text of every file this retirement touches (None: delete the file)."""
    assert r.path is not None
    commits = {f["source_commit"] for f in r.findings}
    if None in commits or len(commits) != 1:
        raise EditError(f"{r.path}: the scan recorded no single commit for it; rescan first")
    if tree.last_commit(r.path) != commits.pop():
        raise EditError(f"{r.path} changed since the scan that planned this; rescan first")
    changes: dict[str, str | None] = {}
    text = tree.read(r.path, changes)
    if text is None:
        raise EditError(f"{r.path} is not in the repo any more; rescan first")
    users = tree.shared(r.path)
    if users:
        raise EditError(
            f"{r.path} is in a kustomize base that {users} build on: retire it in the "
            "overlay that renders it (a `$patch: delete`, or drop it from its resources)"
        )
    namespace = tree.default_namespace(r.path)
    if r.action == Action.EDIT:
        locators = [f["locator"] for f in r.findings]
        changes[r.path] = drop_zero_destinations(text, r.path, r.target, namespace, locators)
    else:
        changes[r.path] = remove_document(text, r.path, r.target, namespace)
    if changes[r.path] is None:
        _unlist(tree, r.path, changes)
    for rel in changes:
        _inside(tree.root, rel, write=True)
    return changes


def _unlist(tree: _Tree, path: str, changes: dict[str, str | None]) -> None:
    """Drop a deleted file from the `resources:` of every kustomization above it."""
    folder = posixpath.dirname(path)
    while True:
        for name in KUSTOMIZATIONS:
            kust = posixpath.join(folder, name)
            text = tree.read(kust, changes)
            if text is not None:
                rest = drop_resource(text, posixpath.relpath(path, folder or "."))
                if rest is not None:
                    changes[kust] = rest
        if not folder:
            return
        folder = posixpath.dirname(folder)


def _message(done: Sequence[Retirement]) -> str:
    lines = [f"mesh-audit: retire {len(done)} resource(s)", ""]
    for r in done:
        verb = "edit" if r.action == Action.EDIT else "remove"
        lines.append(f"- {verb} {r.describe()}")
        lines += [f"  finding {f['rule']} {f['fingerprint']}: {f['message']}" for f in r.findings]
    return "\n".join(lines)


def apply(
    db: Path,
    repo_path: str,
    planned: Sequence[Retirement],
    branch: str,
    push: bool,
    lock_timeout: float | None = None,
) -> Applied:
    """Commit the planned removals and edits on a new branch (and push it); the database
    learns the branch in the same step, so a failed push leaves it unchanged."""
    import git

    try:
        repo = git.Repo(repo_path)
        base = repo.head.commit.hexsha
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        raise InputError(f"not a git checkout: {repo_path}") from None
    except ValueError:
        raise InputError(f"{repo_path} has no commits") from None
    if repo.bare:
        raise InputError(f"{repo_path} is a bare repository: retire needs a checkout")
    check_branch(repo, branch, push)
    todo = [r for r in planned if r.path and r.action != Action.KUBECTL]
    if not todo:
        raise InputError("nothing to change in Git (see `mesh-audit retire plan`)")
    done: list[Retirement] = []
    skipped: list[tuple[Retirement, str]] = []
    with _worktree(repo, base) as wt:
        tree = _Tree(wt)
        made: set[tuple[Any, ...]] = set()
        for r in todo:
            if r.change in made:  # the same document, planned for another cluster
                done.append(r)
                continue
            try:
                tree.pending.update(_changes(tree, r))
            except EditError as exc:
                skipped.append((r, str(exc)))
            else:
                done.append(r)
                made.add(r.change)
        if not done:
            raise InputError(f"nothing could be retired: {skipped[0][1]}")
        sha = tree.commit(_message(done))

    def publish() -> None:
        """Create the branch only now, refusing to move one that appeared meanwhile."""
        try:
            repo.git.update_ref(f"refs/heads/{branch}", sha, "0" * 40)
        except git.GitCommandError as exc:
            raise SourceError(f"cannot create branch {branch}: {_git_reason(exc)}") from None
        if not push:
            return
        try:
            repo.git.push("--quiet", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            repo.git.update_ref("-d", f"refs/heads/{branch}", sha)
            raise SourceError(f"push of {branch} failed: {_git_reason(exc)}") from None

    removed = [(r.cluster, *r.target) for r in done if r.action == Action.REMOVE]
    edited = [f["fingerprint"] for r in done if r.action == Action.EDIT for f in r.findings]
    store.mark_retiring(db, removed, edited, branch, lock_timeout, before_commit=publish)
    return Applied(branch, sha, tuple(done), tuple(skipped))
