"""Plain result types shared by sources, rules, the store and the reports.

Frozen dataclasses and string enums so values go straight to SQLite and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

ISTIO_GROUP = "networking.istio.io"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Status(StrEnum):
    OPEN = "open"
    TICKETED = "ticketed"
    WAIVED = "waived"
    RESOLVED = "resolved"
    # Resolved because the resource was removed through `mesh-audit retire`.
    RETIRED = "retired"


ACTIVE = (Status.OPEN, Status.TICKETED, Status.WAIVED)


class SyncState(StrEnum):
    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    LIVE_ONLY = "live-only"
    GIT_ONLY = "git-only"
    # The kind could not be read from the cluster: presence is unknown, not absent.
    UNKNOWN = "unknown"


class OwnerSource(StrEnum):
    LIVE_LABEL = "live-label"
    LIVE_ANNOTATION = "live-annotation"
    MANIFEST_LABEL = "manifest-label"
    MANIFEST_ANNOTATION = "manifest-annotation"
    NAMESPACE_LABEL = "namespace-label"
    NAMESPACE_ANNOTATION = "namespace-annotation"
    CODEOWNERS = "codeowners"
    OWNERS_FILE = "owners-file"
    BACKSTAGE = "backstage"


# How reports, views and counts name the owner of findings nobody owns.
NO_OWNER = "(no owner)"


def label(kind: str, namespace: str, name: str) -> str:
    """How a resource is named to people, everywhere: `Kind namespace/name`."""
    return f"{kind} {namespace}/{name}"


class ObjectKey(NamedTuple):
    """Identity of a resource: the join key between cluster and Git. A tuple, so hashing
    and ordering (done ~10^5 times per scan) stay in C."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return label(self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    email: str
    date: str
    files: int = 0


@dataclass(frozen=True)
class Change:
    """When a resource last meaningfully changed, and how that was decided."""

    date: str
    commit: str | None
    basis: str


@dataclass(frozen=True)
class Manifest:
    """One object the GitOps repo applies: a plain document, or one an app renders.

    `path` and `line` locate the document it came from (for a rendered object, the file
    kustomize or Helm names as its origin); `source_name` is the object's name in that
    document (a name prefix may have changed it); `inputs` are the files that shape
    the rendered object besides its own (kustomizations, patches), each with its newest
    commit."""

    key: ObjectKey
    obj: dict[str, Any]
    path: str
    line: int
    commit: Commit | None
    app: str | None = None
    source_name: str | None = None
    inputs: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Owner:
    name: str
    source: OwnerSource


@dataclass(frozen=True)
class Difference:
    path: str
    git: Any
    live: Any


@dataclass(frozen=True)
class Resource:
    """A mesh resource after the live/Git join."""

    key: ObjectKey
    state: SyncState
    live: dict[str, Any] | None = None
    manifest: Manifest | None = None
    drift: tuple[Difference, ...] = ()
    owner: Owner | None = None
    leads: tuple[str, ...] = ()

    @cached_property
    def obj(self) -> dict[str, Any]:
        """The object rules evaluate: live when it runs, else the manifest."""
        if self.live is not None:
            return self.live
        assert self.manifest is not None
        return self.manifest.obj

    @cached_property
    def spec(self) -> dict[str, Any]:
        """The evaluated object's spec ({} when absent): every rule reads it, many twice."""
        spec = self.obj.get("spec")
        return spec if isinstance(spec, dict) else {}


@dataclass(frozen=True)
class Problem:
    """What a rule yields: the engine turns it into a Finding."""

    resource: Resource
    message: str
    locator: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # This problem's own grade when the rule grades its problems; None: the rule's.
    severity: Severity | None = None


@dataclass(frozen=True)
class SourceRef:
    path: str
    line: int
    commit: str | None
    author: str | None = None
    column: int | None = None
    end_line: int | None = None


@dataclass(frozen=True)
class Waiver:
    """A finding accepted for a reason until a date (see auditor/pipeline/waivers.py)."""

    rule: str
    reason: str
    expires: date
    source: str
    namespace: str = "*"
    name: str = "*"
    ticket: str | None = None

    def active(self, today: date) -> bool:
        return today <= self.expires

    def evidence(self, today: date) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "ticket": self.ticket,
            "source": self.source,
            "active": self.active(today),
        }


@dataclass(frozen=True)
class Finding:
    rule: str
    rule_name: str
    severity: Severity
    cluster: str
    key: ObjectKey
    owner: str | None
    owner_source: OwnerSource | None
    message: str
    fingerprint: str
    locator: str
    evidence: dict[str, Any]
    source: SourceRef | None
    waiver: Waiver | None = None
    waived: bool = False
