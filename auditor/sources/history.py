"""Git history of manifest files: one `git log` pass, and when a document last really changed.

Real GitOps history is dominated by mass commits (API bumps, renames, reformatting), so
"the last commit touching the file" says little about staleness. The Timeline skips
commits that touch too many files and commits that leave the document's spec unchanged.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from auditor.clock import parse
from auditor.mesh.normalize import normalize
from auditor.model import Change, Commit, Manifest
from auditor.sources import cache
from auditor.sources.blobs import blob_text, parse_blob

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


_NO_BLOB = "0" * 40


@dataclass(frozen=True)
class Revision:
    """A commit that touched a file: the file's name then, and its blob before and after."""

    commit: Commit
    path: str
    blob: str
    parent_blob: str


def _parse_log(out: str) -> dict[str, list[Revision]]:
    history: dict[str, list[Revision]] = {}
    current: dict[str, str] = {}
    for record in out.split("\x1e"):
        if not record:
            continue
        header, _, body = record.partition("\0")
        tokens = body.lstrip("\n").split("\0")
        touched: list[tuple[str, str, str, str]] = []
        i = 0
        while i < len(tokens):
            if not tokens[i].startswith(":"):
                i += 1
                continue
            _, _, old_blob, new_blob, status = tokens[i][1:].split()
            if status[0] in "RC":
                old, new = tokens[i + 1], tokens[i + 2]
                name = current.get(new, new)
                touched.append((name, new, new_blob, old_blob))
                if status[0] == "R":
                    current[old] = name
                i += 3
            else:
                path = tokens[i + 1]
                touched.append((current.get(path, path), path, new_blob, old_blob))
                i += 2
        commit_sha, author, email, date = header.split("\x1f")
        commit = Commit(commit_sha, author, email, date, len(touched))
        for name, then, blob, parent in touched:
            if name.endswith(MANIFEST_SUFFIXES):
                history.setdefault(name, []).append(Revision(commit, then, blob, parent))
    return history


def _log(repo: Any, revisions: str, paths: tuple[str, ...] = ()) -> str:
    """`git log --raw` of the revisions; limited to `paths` (given on stdin, so any number
    fits) when there are some."""
    args = ["-z", "-M", "--raw", "--no-abbrev", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI"]
    if not paths:
        return str(repo.git.log(*args, revisions))
    with tempfile.TemporaryFile() as listed:
        listed.write(("--\n" + "\n".join(paths) + "\n").encode())
        listed.seek(0)
        # --full-diff: every file a commit touched, so mass commits still count as mass.
        command = ["git", "log", *args, "--full-diff", "--stdin", revisions]
        return str(repo.git.execute(command, istream=listed))


def _encode(history: dict[str, list[Revision]]) -> dict[str, list[list[Any]]]:
    return {
        p: [[*r.commit.__dict__.values(), r.path, r.blob, r.parent_blob] for r in revs]
        for p, revs in history.items()
    }


def _decode(paths: dict[str, list[list[Any]]]) -> dict[str, list[Revision]]:
    return {p: [Revision(Commit(*c[:5]), *c[5:]) for c in revs] for p, revs in paths.items()}


def read_history(
    repo: Any, sha: str, slot: Path, scope: tuple[str, ...] = ()
) -> dict[str, list[Revision]]:
    """Revisions of each manifest path, newest first, from ONE `git log --raw` pass.

    Renames are followed: commits made under an older name count for the current one.
    The raw diff gives each revision's blob ids, so no tree is walked later. When the
    cached history is of an ancestor commit, only the commits since are read (unless
    one of them renames a file: then the whole history is read again). A `scope` (the
    files a `--path` scan reads) limits the pass to them; a file renamed from outside the
    scope then starts its history at the rename."""
    name = "history.json"
    if scope:
        name = f"history-{hashlib.sha256(chr(0).join(scope).encode()).hexdigest()[:16]}.json"
    cached = cache.load(slot / name)
    if isinstance(cached, dict) and cached.get("commit") == sha:
        return _decode(cached["paths"])
    history = None
    if isinstance(cached, dict) and isinstance(cached.get("commit"), str):
        try:
            repo.git.merge_base("--is-ancestor", cached["commit"], sha)
            out = _log(repo, f"{cached['commit']}..{sha}", scope)
        except Exception:  # not an ancestor (or gone): read everything
            out = None
        if out is not None and ":R" not in out:
            history = _decode(cached["paths"])
            for path, revisions in _parse_log(out).items():
                history[path] = revisions + history.get(path, [])
    if history is None:
        history = _parse_log(_log(repo, sha, scope))
    cache.save(slot / name, {"commit": sha, "paths": _encode(history)})
    return history


class Timeline:
    """Answers "when did this document last really change?" from the repo's history."""

    def __init__(self, repo: Any, sha: str, slot: Path, scope: tuple[str, ...] = ()) -> None:
        self._repo = repo
        self._sha = sha
        self._slot = slot
        self._scope = scope
        memo = cache.load(slot / "changes.json")
        self._memo: dict[str, list[Any] | None] = memo if isinstance(memo, dict) else {}
        self._dirty = False
        # Files whose older revisions could not be read (partial clone): said in a note.
        self.missing: set[str] = set()

    @cached_property
    def _history(self) -> dict[str, list[Revision]]:
        """Loaded on first need: most scans answer from the memo alone."""
        return read_history(self._repo, self._sha, self._slot, self._scope)

    @cached_property
    def _parsed(self) -> dict[str, dict[str, Any]]:
        parsed = cache.load(self._slot / "blobs.json")
        return parsed if isinstance(parsed, dict) else {}

    def revisions(self, path: str) -> tuple[Revision, ...]:
        """Commits that touched the file, newest first, across renames."""
        return tuple(self._history.get(path) or ())

    def created(self, path: str) -> Commit | None:
        revisions = self.revisions(path)
        return revisions[-1].commit if revisions else None

    def _spec(self, blob: str, path: str, kind: str, name: str) -> Any:
        """The normalized spec of the document in a blob; None when it is not there."""
        if blob == _NO_BLOB:
            return None
        entry = self._parsed.get(blob)
        if entry is None:
            try:
                text = blob_text(self._repo, blob)
            except (ValueError, OSError) as exc:
                # A partial or shallow clone lacks old blobs: this file's history ends here.
                self.missing.add(f"{path} ({type(exc).__name__})")
                return None
            entry = self._parsed[blob] = parse_blob(text, path)
        for _, data in entry["docs"]:
            meta = data.get("metadata") or {}
            if data.get("kind") == kind and meta.get("name") == name:
                return normalize(data.get("spec") or {})
        return None

    def last_change(self, manifest: Manifest, mass_files: int) -> Change | None:
        """The newest commit that changed this document's spec and touched at most
        `mass_files` files (the commit that created the file always counts).

        Answers are remembered on disk by the file's newest revision, so older blobs are
        read once per change of the file, not once per scan."""
        if manifest.commit is None:
            return None
        # The manifest's commit is the newest revision of its file (and each input's sha
        # the newest of that input): the key changes exactly when their history does.
        name = manifest.source_name or manifest.key.name
        key = ":".join((manifest.commit.sha, manifest.path, manifest.key.kind, name))
        key += f":{mass_files}" + "".join(f":{p}@{sha}" for p, sha in manifest.inputs)
        if key not in self._memo:
            revisions = self.revisions(manifest.path)
            change = self._last_change(revisions, manifest.key.kind, name, mass_files)
            for path, _ in manifest.inputs:
                shaped = self._last_input_change(path, mass_files)
                if shaped is None:
                    continue
                if change is None or parse(shaped.date) > parse(change.date):
                    change = shaped  # Git dates carry offsets: compare instants, not text
            self._memo[key] = [change.date, change.commit, change.basis] if change else None
            self._dirty = True
        found = self._memo[key]
        return Change(*found) if found else None

    def save(self) -> None:
        """Persist newly worked-out answers (best effort, like every cache)."""
        if self._dirty:
            cache.save(self._slot / "changes.json", self._memo)
            self._dirty = False

    def _last_input_change(self, path: str, mass_files: int) -> Change | None:
        """The newest commit of at most `mass_files` files that touched a file shaping a
        rendered object (a patch, a kustomization): it may have changed the object."""
        for revision in self.revisions(path):
            c = revision.commit
            if c.files <= mass_files or revision.parent_blob == _NO_BLOB:
                return Change(
                    date=c.date,
                    commit=c.sha,
                    basis=f"git: last commit changing {path}, an input of its app "
                    f"({c.sha[:10]} by {c.author})",
                )
        return None

    def _last_change(
        self, revisions: tuple[Revision, ...], kind: str, name: str, mass_files: int
    ) -> Change | None:
        skipped_mass = skipped_same = 0
        for revision in revisions:
            new_file = revision.parent_blob == _NO_BLOB
            if not new_file and revision.commit.files > mass_files:
                skipped_mass += 1
                continue
            after = self._spec(revision.blob, revision.path, kind, name)
            if after is None:
                continue
            before = (
                None if new_file else self._spec(revision.parent_blob, revision.path, kind, name)
            )
            if before == after:
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
