"""Git history of manifest files: one `git log` pass, and when a document last really changed.

Real GitOps history is dominated by mass commits (API bumps, renames, reformatting), so
"the last commit touching the file" says little about staleness. The Timeline skips
commits that touch too many files and commits that leave the document's spec unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import cache
from auditor.model import Change, Commit, Manifest
from auditor.normalize import normalize
from auditor.sources.blobs import parse_blob

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Revision:
    """A commit that touched a file, with the file's name in that commit."""

    commit: Commit
    path: str


def read_history(repo: Any, sha: str, slot: Path) -> dict[str, list[Revision]]:
    """Revisions of each manifest path, newest first, from ONE `git log` pass.

    Renames are followed: commits made under an older name count for the current one.
    """
    cached = cache.load(slot / "history.json")
    if isinstance(cached, dict) and cached.get("commit") == sha:
        return {
            p: [Revision(Commit(*c[:5]), c[5]) for c in revs] for p, revs in cached["paths"].items()
        }
    out = repo.git.log("-z", "-M", "--name-status", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI", sha)
    history: dict[str, list[Revision]] = {}
    current: dict[str, str] = {}
    for record in out.split("\x1e"):
        if not record:
            continue
        header, _, body = record.partition("\0")
        tokens = body.lstrip("\n").split("\0")
        touched: list[tuple[str, str]] = []
        i = 0
        while i < len(tokens):
            status = tokens[i].strip()
            if not status:
                i += 1
                continue
            if status[0] in "RC":
                old, new = tokens[i + 1], tokens[i + 2]
                name = current.get(new, new)
                touched.append((name, new))
                if status[0] == "R":
                    current[old] = name
                i += 3
            else:
                touched.append((current.get(tokens[i + 1], tokens[i + 1]), tokens[i + 1]))
                i += 2
        commit_sha, author, email, date = header.split("\x1f")
        commit = Commit(commit_sha, author, email, date, len(touched))
        for name, then in touched:
            if name.endswith(MANIFEST_SUFFIXES):
                history.setdefault(name, []).append(Revision(commit, then))
    cache.save(
        slot / "history.json",
        {
            "commit": sha,
            "paths": {
                p: [[*r.commit.__dict__.values(), r.path] for r in revs]
                for p, revs in history.items()
            },
        },
    )
    return history


class Timeline:
    """Answers "when did this document last really change?" from the repo's history."""

    def __init__(
        self, repo: Any, history: dict[str, list[Revision]], parsed: dict[str, dict[str, Any]]
    ) -> None:
        self._repo = repo
        self._history = history
        self._parsed = parsed

    def revisions(self, path: str) -> tuple[Revision, ...]:
        """Commits that touched the file, newest first, across renames."""
        return tuple(self._history.get(path) or ())

    def created(self, path: str) -> Commit | None:
        revisions = self.revisions(path)
        return revisions[-1].commit if revisions else None

    def _spec_at(self, revision: Revision, kind: str, name: str) -> Any:
        """The normalized spec of the document at a revision; None when it did not exist."""
        try:
            blob = self._repo.commit(revision.commit.sha).tree[revision.path]
        except (KeyError, ValueError):
            return None
        entry = self._parsed.get(blob.hexsha)
        if entry is None:
            text = blob.data_stream.read().decode("utf-8", errors="replace")
            entry = self._parsed[blob.hexsha] = parse_blob(text, revision.path)
        for _, data in entry["docs"]:
            meta = data.get("metadata") or {}
            if data.get("kind") == kind and meta.get("name") == name:
                return normalize(data.get("spec") or {})
        return None

    def last_change(self, manifest: Manifest, mass_files: int) -> Change | None:
        """The newest commit that changed this document's spec and touched at most
        `mass_files` files (the document's creation always counts)."""
        revisions = self.revisions(manifest.path)
        kind, name = manifest.key.kind, manifest.key.name
        skipped_mass = skipped_same = 0
        for i, revision in enumerate(revisions):
            older = revisions[i + 1] if i + 1 < len(revisions) else None
            if older is not None and revision.commit.files > mass_files:
                skipped_mass += 1
                continue
            before = self._spec_at(older, kind, name) if older else None
            if before is not None and before == self._spec_at(revision, kind, name):
                skipped_same += 1
                continue
            c = revision.commit
            return Change(
                date=c.date,
                commit=c.sha,
                basis=(
                    f"git: last commit changing this document ({c.sha[:10]} by {c.author}), "
                    f"ignoring {skipped_mass} mass commit(s) of more than {mass_files} files "
                    f"and {skipped_same} commit(s) that left it unchanged"
                ),
            )
        return None
