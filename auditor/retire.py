"""Monthly retirement: dead config leaves through Git, the GitOps way.

`plan` lists resources whose retirement-rule findings have been open past the grace
period (waived ones never). `apply` removes their manifests on a new branch of the
GitOps repo: the document from a multi-document file, the file when it was the last
document, and its entry in kustomization.yaml. Live-only resources cannot leave through
Git: the plan gives their owners the `kubectl delete` to run. Nothing is ever written
to the cluster.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor import store
from auditor.errors import InputError, SourceError
from auditor.sources.blobs import KUSTOMIZATIONS
from auditor.yamldocs import chunks, parse

DEFAULT_RULES = ("MA101", "MA102", "MA301", "MA306", "MA307", "MA308")
# Findings that ask for an edit inside the resource, not its removal.
EDIT_RULES = frozenset({"MA306"})


@dataclass(frozen=True)
class Retirement:
    """One resource due for retirement and why."""

    kind: str
    namespace: str
    name: str
    owner: str | None
    path: str | None
    findings: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def action(self) -> str:
        if all(f["rule"] in EDIT_RULES for f in self.findings):
            return "edit"
        return "remove-manifest" if self.path else "kubectl-delete"

    @property
    def command(self) -> str | None:
        if self.action != "kubectl-delete":
            return None
        group = "networking.istio.io"
        return f"kubectl delete {self.kind.lower()}.{group} {self.name} -n {self.namespace}"

    def describe(self) -> str:
        rules = ", ".join(f"{f['rule']} {f['rule_name']}" for f in self.findings)
        return f"{self.kind} {self.namespace}/{self.name} (owner {self.owner or 'none'}; {rules})"


def plan(db: Path, rules: Sequence[str], grace_days: int, now: datetime) -> list[Retirement]:
    cutoff = (now - timedelta(days=grace_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        r
        for r in store.query(db, None, None, None)
        if r["status"] in ("open", "ticketed") and r["rule"] in rules and r["first_seen"] <= cutoff
    ]
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault((r["kind"], r["namespace"], r["name"]), []).append(r)
    return [
        Retirement(kind, ns, name, fs[0]["owner"], fs[0]["source_path"], tuple(fs))
        for (kind, ns, name), fs in sorted(grouped.items())
    ]


def _drop_document(text: str, path: str, kind: str, name: str) -> str | None:
    """The file without the document; None when nothing else is left in it."""
    kept, dropped = [], False
    for _, chunk in chunks(text):
        docs, _ = parse(chunk, path)
        doc = docs[0].data if docs else None
        is_target = (
            isinstance(doc, dict)
            and doc.get("kind") == kind
            and (doc.get("metadata") or {}).get("name") == name
        )
        if is_target and not dropped:
            dropped = True
        elif chunk.strip():
            kept.append(chunk)
    if not dropped:
        raise InputError(f"{path}: no {kind} {name} in it any more; rescan before retiring")
    has_docs = any(parse(c, path)[0] for c in kept)
    return "---\n".join(c if c.endswith("\n") else c + "\n" for c in kept) if has_docs else None


def _drop_kustomize_entry(root: Path, path: str) -> list[str]:
    """Remove a deleted file from the `resources:` of the kustomization.yaml listing it."""
    changed = []
    folder = posixpath.dirname(path)
    while True:
        for name in KUSTOMIZATIONS:
            kust = root / folder / name
            if not kust.is_file():
                continue
            rel = posixpath.relpath(path, folder or ".")
            pattern = re.compile(rf"^\s*-\s*['\"]?(\./)?{re.escape(rel)}['\"]?\s*(#.*)?$\n?", re.M)
            text = kust.read_text()
            new = pattern.sub("", text)
            if new != text:
                kust.write_text(new)
                changed.append(posixpath.join(folder, name))
        if not folder:
            return changed
        folder = posixpath.dirname(folder)


def apply(
    db: Path, repo_path: str, planned: Sequence[Retirement], branch: str, push: bool
) -> tuple[str, list[Retirement]]:
    """Commit the removals on a new branch; returns the commit and what it removed."""
    import git

    try:
        repo = git.Repo(repo_path)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        raise InputError(f"not a git checkout: {repo_path}") from None
    if repo.bare:
        raise InputError(f"{repo_path} is a bare repository: retire needs a checkout")
    if repo.is_dirty(untracked_files=True):
        raise InputError(f"{repo_path} has uncommitted changes: commit or stash them first")
    if branch in repo.heads:
        raise InputError(f"branch {branch} already exists in {repo_path}")
    removals = [r for r in planned if r.action == "remove-manifest"]
    if not removals:
        raise InputError("nothing to remove from Git (see `mesh-audit retire plan`)")
    root = Path(repo.working_tree_dir)
    original = repo.active_branch if not repo.head.is_detached else repo.head.commit
    repo.create_head(branch).checkout()
    try:
        commit = _commit_removals(repo, root, removals)
    except BaseException:
        repo.git.reset("--hard")
        repo.git.checkout(str(original))
        repo.delete_head(branch, force=True)
        raise
    try:
        if push:
            repo.git.push("--set-upstream", "origin", branch)
    except git.GitCommandError as exc:
        raise SourceError(f"push of {branch} failed: {(exc.stderr or '').strip()}") from None
    finally:
        repo.git.checkout(str(original))
    store.mark_retiring(db, [(r.kind, r.namespace, r.name) for r in removals], branch)
    return commit, removals


def _commit_removals(repo: Any, root: Path, removals: Sequence[Retirement]) -> str:
    for r in removals:
        assert r.path is not None
        target = root / r.path
        if not target.is_file():
            raise InputError(f"{r.path} is not in the repo any more; rescan before retiring")
        rest = _drop_document(target.read_text(), r.path, r.kind, r.name)
        if rest is None:
            repo.index.remove([r.path], working_tree=True)
            repo.index.add(_drop_kustomize_entry(root, r.path))
        else:
            target.write_text(rest)
            repo.index.add([r.path])
    lines = [f"mesh-audit: retire {len(removals)} resource(s)", ""]
    for r in removals:
        lines.append(f"- {r.describe()}")
        lines += [f"  finding {f['rule']} {f['fingerprint']}: {f['message']}" for f in r.findings]
    return repo.index.commit("\n".join(lines)).hexsha
