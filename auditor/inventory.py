"""The inventory: live and Git objects joined by (group, kind, namespace, name).

Rules read only this. Everything they need across resources is prepared here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from auditor.kinds import AUDITED, key_of
from auditor.model import Manifest, ObjectKey, Resource, SyncState
from auditor.normalize import spec_diff
from auditor.owners import OwnerResolver, leads
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot

_AUDITED_KINDS = {k.kind for k in AUDITED}
_KEY_ORDER = attrgetter("group", "kind", "namespace", "name")


@dataclass(frozen=True)
class Inventory:
    resources: tuple[Resource, ...]
    # Context objects (Services, Pods, Namespaces) from the live side, by kind.
    context: dict[str, tuple[dict[str, Any], ...]]
    duplicates: tuple[tuple[ObjectKey, str, str], ...] = ()

    def of_kind(self, kind: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.key.kind == kind)


def _state(live: dict[str, Any] | None, manifest: Manifest | None, unread: bool) -> SyncState:
    if live is None:
        return SyncState.UNKNOWN if unread else SyncState.GIT_ONLY
    if manifest is None:
        return SyncState.LIVE_ONLY
    return SyncState.IN_SYNC


def build(live: LiveSnapshot, git: GitSnapshot, owner_keys: tuple[str, ...]) -> Inventory:
    live_audited: dict[ObjectKey, dict[str, Any]] = {}
    context: dict[str, list[dict[str, Any]]] = {}
    for obj in live.objects:
        if obj["kind"] in live.unread:
            continue
        if obj["kind"] in _AUDITED_KINDS:
            live_audited[key_of(obj)] = obj
        else:
            context.setdefault(obj["kind"], []).append(obj)

    manifests: dict[ObjectKey, Manifest] = {}
    duplicates = []
    git_namespaces: dict[str, dict[str, Any]] = {}
    for manifest in git.manifests:
        key = manifest.key
        if key.kind == "Namespace":
            git_namespaces.setdefault(key.name, manifest.obj)
        if key.kind not in _AUDITED_KINDS or (
            live.namespaces and key.namespace not in live.namespaces
        ):
            continue
        first = manifests.setdefault(key, manifest)
        if first is not manifest:
            duplicates.append(
                (key, f"{first.path}:{first.line}", f"{manifest.path}:{manifest.line}")
            )

    namespaces = {
        **git_namespaces,
        **{n["metadata"]["name"]: n for n in context.get("Namespace", [])},
    }
    resolver = OwnerResolver(owner_keys, namespaces, git.codeowners)
    resources = []
    for key in sorted(live_audited.keys() | manifests.keys(), key=_KEY_ORDER):
        obj = live_audited.get(key)
        manifest = manifests.get(key)
        state = _state(obj, manifest, key.kind in live.unread)
        drift = spec_diff(manifest.obj, obj) if obj is not None and manifest is not None else ()
        if drift:
            state = SyncState.DRIFTED
        owner = resolver.resolve(obj, manifest, key.namespace)
        resources.append(
            Resource(
                key=key,
                state=state,
                live=obj,
                manifest=manifest,
                drift=drift,
                owner=owner,
                leads=() if owner else leads(obj, manifest),
            )
        )
    return Inventory(
        resources=tuple(resources),
        context={kind: tuple(objs) for kind, objs in context.items()},
        duplicates=tuple(duplicates),
    )
