"""Where objects come from: the live cluster, a cluster dump, the GitOps repo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LiveSnapshot:
    """What the cluster (or a dump of it) holds, and what could not be read."""

    cluster: str
    origin: str
    objects: tuple[dict[str, Any], ...]
    context: str | None = None
    # kind -> why it could not be read; any entry makes the scan partial.
    unread: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()


def in_scope(obj: dict[str, Any], namespaces: tuple[str, ...]) -> bool:
    """True when no namespace filter is set or the object falls inside it."""
    if not namespaces:
        return True
    if obj["kind"] == "Namespace":
        return obj["metadata"]["name"] in namespaces
    return obj["metadata"].get("namespace") in namespaces
