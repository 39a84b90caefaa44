"""Rule results remembered per input digest: a repeat scan of unchanged inputs skips the rules.

The same idea as ruff's and mypy's caches. A rule's problems are a function of the
inventory and its options only, and the inventory is a function of what the digest
covers: the live objects (the dump's bytes, or every object's uid and resourceVersion),
the Git side (commit, paths, renderers, declared apps), the config's owner keys and
ignore-differences (a --config file is outside the commit), the namespaces scanned, the
kinds left unread, and the code of mesh-audit itself. The clock is the one input that
changes with nothing else changing, so a rule that read `inventory.now` during its run
is not remembered (rules read time only there: tests/test_rule_memo.py checks it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor import version
from auditor.config import Config, RuleConfig
from auditor.mesh.ignore import encode
from auditor.model import ObjectKey, Problem, Resource, Severity
from auditor.sources import LiveSnapshot, cache
from auditor.sources.gitops import GitSnapshot

_FILE = "rules.json"


@functools.cache
def code_digest() -> str:
    """The installed version plus size and mtime of every module of mesh-audit: a
    source checkout's edits invalidate remembered results like a new release does."""
    import auditor
    import rules

    h = hashlib.sha256(f"{version()} {sys.version}".encode())
    for package in (auditor, rules):
        root = Path(package.__path__[0])
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class RuleMemo:
    """Problems of each rule for one input digest, kept in the cache between scans."""

    def __init__(self, where: Path, digest: str, resources: Sequence[Resource]) -> None:
        self.path = where / _FILE
        self.digest = digest
        self._resources = {r.key: r for r in resources}
        stored = cache.load(self.path)
        same = isinstance(stored, dict) and stored.get("digest") == digest
        recalled = stored.get("rules") if same else None
        self._recalled: dict[str, Any] = recalled if isinstance(recalled, dict) else {}
        self._kept: dict[str, Any] = {}

    @classmethod
    def for_scan(
        cls,
        live: LiveSnapshot,
        git: GitSnapshot,
        config: Config,
        resources: Sequence[Resource],
    ) -> RuleMemo | None:
        """The memo for these inputs; None when the live side has no digest."""
        if live.digest is None:
            return None
        parts = [
            code_digest(),
            live.digest,
            list(live.namespaces),
            sorted(live.unread),
            git.digest,
            git.shallow,
            list(config.owner_keys),
            encode(config.ignore),
        ]
        digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        return cls(cache.slot("rules", git.repo, live.cluster), digest, resources)

    @staticmethod
    def _options(rc: RuleConfig) -> str:
        return json.dumps(dict(rc.options), sort_keys=True, default=str)

    def recall(self, rc: RuleConfig) -> list[Problem] | None:
        entry = self._recalled.get(rc.rule.id)
        if not isinstance(entry, dict) or entry.get("options") != self._options(rc):
            return None
        try:
            problems = [
                Problem(
                    self._resources[ObjectKey(*key)],
                    message,
                    locator,
                    evidence,
                    Severity(severity) if severity is not None else None,
                )
                for key, message, locator, evidence, severity in entry["problems"]
            ]
        except (KeyError, TypeError, ValueError):
            return None
        self._kept[rc.rule.id] = entry
        return problems

    def keep(self, rc: RuleConfig, problems: Sequence[Problem]) -> None:
        self._kept[rc.rule.id] = {
            "options": self._options(rc),
            "problems": [
                [list(p.resource.key), p.message, p.locator, p.evidence, p.severity]
                for p in problems
            ],
        }

    def save(self) -> None:
        """Write what this scan kept, unless it is exactly what was recalled."""
        if self._kept != self._recalled:
            cache.save(self.path, {"digest": self.digest, "rules": self._kept})


class CleanInputs:
    """Whether these exact inputs (live digest, Git side, code) passed the type screen
    before (auditor/pipeline/shapes.py): a repeat scan of unchanged inputs skips it."""

    def __init__(self, path: Path | None, key: str | None) -> None:
        self.path = path
        self.key = key
        self.known = key is not None and cache.load(path) == key if path else False

    @classmethod
    def for_scan(cls, live: LiveSnapshot, git: GitSnapshot) -> CleanInputs:
        if live.digest is None:
            return cls(None, None)
        key = hashlib.sha256(f"{code_digest()}\0{live.digest}\0{git.digest}".encode()).hexdigest()
        return cls(cache.slot("screen", git.repo, live.cluster) / "clean.json", key)

    def remember(self, clean: bool) -> None:
        if clean and not self.known and self.path is not None:
            cache.save(self.path, self.key)


class Managers:
    """Which Rollout or Canary managed each resource when this cluster was last scanned, kept
    between scans: a leftover route can then name the controller that is gone."""

    def __init__(self, repo: str, cluster: str) -> None:
        self.path = cache.slot("managers", repo, cluster) / "managers.json"
        stored = cache.load(self.path)
        self.known: dict[str, str] = stored if isinstance(stored, dict) else {}

    def remember(self, managed: dict[str, str]) -> None:
        merged = {**self.known, **managed}
        if merged != self.known:
            cache.save(self.path, merged)
