"""The inventory: live and Git objects joined by (group, kind, namespace, name).

Rules read only this. Everything they need across resources (hosts, DestinationRules
by host, subset references, pods, change dates) is prepared here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from operator import attrgetter
from typing import Any

from auditor.hosts import DOMAIN, ByHost, HostIndex, export_to, fqdn, visible
from auditor.kinds import AUDITED, key_of
from auditor.model import Change, Manifest, ObjectKey, Resource, SyncState
from auditor.normalize import spec_diff
from auditor.owners import OwnerResolver, leads
from auditor.routes import destinations
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from auditor.sources.history import Timeline

_AUDITED_KINDS = {k.kind for k in AUDITED}
_KEY_ORDER = attrgetter("group", "kind", "namespace", "name")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Inventory:
    resources: tuple[Resource, ...]
    # Context objects (Services, Pods, Namespaces) from the live side, by kind.
    context: dict[str, tuple[dict[str, Any], ...]]
    now: datetime
    duplicates: tuple[tuple[ObjectKey, str, str], ...] = ()
    # Kinds the cluster would not give us: cross-resource rules must not guess about them.
    unread: frozenset[str] = frozenset()
    # The namespaces scanned (-n); empty means all.
    namespaces: tuple[str, ...] = ()
    timeline: Timeline | None = field(default=None, compare=False)

    def of_kind(self, kind: str) -> Iterator[Resource]:
        return (
            r for r in self.resources if r.key.kind == kind and r.state is not SyncState.UNKNOWN
        )

    def can_see(self, *kinds: str) -> bool:
        """True when every kind was read, so absence in the inventory means absence."""
        return not self.unread.intersection(kinds)

    def knows(self, host: str) -> bool:
        """True when a host's providers were all read: always on an all-namespace scan,
        else only for in-cluster hosts of a scanned namespace."""
        if not self.namespaces:
            return True
        parts = host.split(".")
        return host.endswith(f".{DOMAIN}") and len(parts) == 5 and parts[1] in self.namespaces

    @staticmethod
    def in_view(target: Resource, viewer: Resource) -> bool:
        """A live resource sees live objects; a Git-only one also sees other Git-only ones
        (what would exist once the repo is applied)."""
        return target.live is not None or viewer.live is None

    @cached_property
    def _host_indexes(self) -> tuple[HostIndex, HostIndex]:
        services = self.context.get("Service", ())
        entries = list(self.of_kind("ServiceEntry"))
        live = HostIndex(services, [r.obj for r in entries if r.live is not None])
        return live, HostIndex(services, [r.obj for r in entries])

    def hosts(self, viewer: Resource) -> HostIndex:
        """Services and ServiceEntries as the viewer sees them (see `in_view`)."""
        live, planned = self._host_indexes
        return live if viewer.live is not None else planned

    @cached_property
    def _rule_hosts(self) -> ByHost[Resource]:
        index: ByHost[Resource] = ByHost()
        for r in self.of_kind("DestinationRule"):
            index.add(fqdn(str((r.obj.get("spec") or {}).get("host") or ""), r.key.namespace), r)
        return index

    def destination_rules(self, host: str, viewer: Resource) -> list[Resource]:
        """DestinationRules for a qualified host that apply in the viewer's namespace,
        those in the viewer's namespace first (Istio's lookup order)."""
        found = [
            r
            for r in self._rule_hosts.get(host)
            if self.in_view(r, viewer)
            and visible(r.key.namespace, export_to(r.obj), viewer.key.namespace)
        ]
        return sorted(found, key=lambda r: r.key.namespace != viewer.key.namespace)

    @cached_property
    def _routed(self) -> ByHost[str | None]:
        index: ByHost[str | None] = ByHost()
        for r in self.of_kind("VirtualService"):
            for d in destinations(r.obj.get("spec") or {}):
                index.add(fqdn(d.host, r.key.namespace), d.subset)
        return index

    def subsets_routed(self, host: str) -> set[str | None]:
        """Subsets (None: no subset) that VirtualService routes and mirrors send to the host."""
        return set(self._routed.get(host))

    @cached_property
    def _pods(self) -> dict[str, list[dict[str, str]]]:
        pods: dict[str, list[dict[str, str]]] = {}
        for pod in self.context.get("Pod", ()):
            meta = pod["metadata"]
            pods.setdefault(meta.get("namespace", ""), []).append(meta.get("labels") or {})
        return pods

    def pod_labels(self, namespace: str) -> list[dict[str, str]]:
        return self._pods.get(namespace, [])

    def created(self, resource: Resource) -> datetime | None:
        """Creation time: the live object's, else the first commit of its manifest file."""
        if resource.live is not None:
            return parse_time(resource.live["metadata"].get("creationTimestamp"))
        if resource.manifest is not None and self.timeline is not None:
            first = self.timeline.created(resource.manifest.path)
            return parse_time(first.date) if first else None
        return None

    def last_change(self, resource: Resource, mass_files: int) -> Change | None:
        """When the resource last meaningfully changed: its Git history when it has a
        manifest, else the newest managedFields time, else its creationTimestamp."""
        if resource.manifest is not None and self.timeline is not None:
            return self.timeline.last_change(resource.manifest, mass_files)
        meta = (resource.live or {}).get("metadata") or {}
        times = [f.get("time") for f in meta.get("managedFields") or [] if f.get("time")]
        if times:
            return Change(max(times), None, "live: newest managedFields time (no manifest in Git)")
        if meta.get("creationTimestamp"):
            return Change(
                meta["creationTimestamp"], None, "live: creationTimestamp (no manifest in Git)"
            )
        return None

    def unchanged(self, resource: Resource, mass_files: int) -> Staleness | None:
        """How long the resource has gone without a meaningful change."""
        change = self.last_change(resource, mass_files)
        when = parse_time(change.date) if change else None
        if change is None or when is None:
            return None
        return Staleness((self.now - when).total_seconds() / 86400, change)


@dataclass(frozen=True)
class Staleness:
    days: float
    change: Change

    def evidence(self) -> dict[str, Any]:
        return {
            "changed_at": self.change.date,
            "unchanged_days": int(self.days),
            "basis": self.change.basis,
        }


def _state(live: dict[str, Any] | None, manifest: Manifest | None, unread: bool) -> SyncState:
    if live is None:
        return SyncState.UNKNOWN if unread else SyncState.GIT_ONLY
    if manifest is None:
        return SyncState.LIVE_ONLY
    return SyncState.IN_SYNC


def build(
    live: LiveSnapshot, git: GitSnapshot, owner_keys: tuple[str, ...], now: datetime
) -> Inventory:
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
        now=now,
        duplicates=tuple(duplicates),
        unread=frozenset(live.unread),
        namespaces=live.namespaces,
        timeline=git.timeline,
    )
