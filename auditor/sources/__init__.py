"""Where objects come from: the live cluster, a cluster dump, the GitOps repo.

`cluster` and `dump` (the live side), `gitops` (the repo at a commit) with `apps`
(finding apps the way controllers do), `kustomize` (what a kustomization reads),
`render` and `applied` (rendering and what the repo applies), `blobs`, `history`,
`owner_files`, `remote` (clones without credentials on disk); `yamldocs` (YAML read as
Kubernetes reads it, with limits), `locate` (field positions), `cache`, `deadline`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
    # kind -> why a dump does not show it though every cluster has some (it was made
    # without that kind): rules that read it do not judge, as for an unread kind, but the
    # scan read all it was given.
    undumped: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    # Identifies exactly these objects (dump bytes, or uids and resourceVersions); None
    # when that cannot be told cheaply. Lets a repeat scan reuse rule results.
    digest: str | None = None

    @property
    def git_only(self) -> bool:
        """No cluster was read: `scan --no-cluster` judges the repo on its own."""
        return self.origin == GIT_ONLY


GIT_ONLY = "git"


def no_cluster(cluster: str | None, namespaces: tuple[str, ...]) -> LiveSnapshot:
    """The live side of a Git-only scan: nothing, and nothing unread."""
    name = f"git:{cluster}" if cluster else GIT_ONLY
    return LiveSnapshot(cluster=name, origin=GIT_ONLY, objects=(), namespaces=namespaces, digest="")


def in_scope(obj: dict[str, Any], namespaces: tuple[str, ...]) -> bool:
    """True when no namespace filter is set or the object falls inside it."""
    if not namespaces:
        return True
    if obj["kind"] == "Namespace":
        return obj["metadata"]["name"] in namespaces
    return obj["metadata"].get("namespace") in namespaces


def versions_digest(objects: Iterable[dict[str, Any]]) -> str | None:
    """Digest of what the API says identifies each object's state: kind, name, uid and
    resourceVersion (any change to an object bumps it). None if one lacks a version."""
    h = hashlib.sha256()
    for obj in objects:
        meta = obj["metadata"]
        version = meta.get("resourceVersion")
        if not version:
            return None
        ident = (obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
        h.update(f"{ident}\0{meta.get('uid')}\0{version}\n".encode())
    return h.hexdigest()
