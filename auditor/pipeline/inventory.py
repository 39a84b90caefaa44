"""The inventory: live and Git objects joined by (group, kind, namespace, name).

Rules read only this. Everything they need across resources (hosts, DestinationRules
by host, subset references, pods, change dates) is prepared here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from auditor import clock
from auditor.mesh.controllers import CONTROLLER_KINDS, Controllers, Managed, controller_fields
from auditor.mesh.hosts import (
    DOMAIN,
    ByHost,
    HostIndex,
    HostTarget,
    entry_targets,
    export_to,
    fqdn,
    rule_host,
    service_targets,
    visible,
)
from auditor.mesh.ignore import IgnoreRule, decode, reason
from auditor.mesh.kinds import AUDITED_KINDS, key_of
from auditor.mesh.normalize import spec_diff
from auditor.mesh.owners import OwnerResolver, leads
from auditor.mesh.retries import RetryPlan, plan
from auditor.mesh.routes import Destination, destinations, http_routes
from auditor.model import Change, Difference, Manifest, ObjectKey, Resource, SyncState
from auditor.pipeline import shapes
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from auditor.sources.history import Timeline


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return clock.parse(value)
    except ValueError:
        return None


class Clock:
    """The moment the scan evaluates at, counting reads: a rule that read it cannot be
    remembered between scans (see auditor/pipeline/memo.py)."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self.reads = 0

    def read(self) -> datetime:
        self.reads += 1
        return self._at


@dataclass(frozen=True)
class Inventory:
    resources: tuple[Resource, ...]
    # Context objects (Services, Pods, Namespaces) from the live side, by kind.
    context: dict[str, tuple[dict[str, Any], ...]]
    clock: Clock
    # Objects the repo declares more than once: every declaration, in apply order.
    duplicates: dict[ObjectKey, tuple[Manifest, ...]] = field(default_factory=dict)
    # Kinds the cluster would not give us, or a dump was made without: rules that need
    # them do not run (engine.unmet).
    unread: frozenset[str] = frozenset()
    # The namespaces scanned (-n); empty means all.
    namespaces: tuple[str, ...] = ()
    # No cluster was read (`scan --no-cluster`): the repo is judged on its own.
    git_only: bool = False
    # The repo's history is complete (not a shallow clone): change dates can be told.
    history: bool = True
    # Apps of the repo that could not be rendered: what they apply is unknown.
    unrendered: tuple[str, ...] = ()
    # Apps built with kustomize, which fails the whole build on an object declared twice.
    refuse_duplicates: frozenset[str] = frozenset()
    # Context objects (Services, Namespaces) the repo declares, by kind.
    git_context: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    # What progressive-delivery controllers manage (auditor/mesh/controllers.py), by resource.
    managed: dict[ObjectKey, Managed] = field(default_factory=dict)
    # What managed each resource when earlier scans of this cluster saw it (resource -> the
    # Rollout or Canary): names the controller of a leftover whose controller is gone.
    remembered: dict[str, str] = field(default_factory=dict)
    # Drifted fields left out, with why (a controller writes them, an ignore rule), by resource.
    ignored: dict[ObjectKey, tuple[tuple[Difference, str], ...]] = field(default_factory=dict)
    # Generated resources whose generator this scan read neither live nor in Git.
    generator_unread: frozenset[ObjectKey] = frozenset()
    # Gateways a controller binds with VirtualServices it creates at runtime, and which one.
    bound_by: dict[ObjectKey, str] = field(default_factory=dict)
    # Rollouts and Canaries in flight, for the scan notes.
    progress: tuple[str, ...] = ()
    # The controller's manifest of each generated object the repo does not declare.
    origins: dict[ObjectKey, Manifest] = field(default_factory=dict)
    # Controller objects (Rollouts, Canaries) the repo declares twice: judged by MA104 only.
    controller_resources: tuple[Resource, ...] = ()
    # Objects left out because fields the rules read have the wrong type (see shapes.py).
    rejected: tuple[str, ...] = ()
    timeline: Timeline | None = field(default=None, compare=False)
    # Answers of destination_rules(), shared by the rules that look up the same hosts.
    _rules_for: dict[tuple[str, str, bool], list[Resource]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def now(self) -> datetime:
        return self.clock.read()

    @cached_property
    def _by_kind(self) -> dict[str, list[Resource]]:
        kinds: dict[str, list[Resource]] = {}
        for r in self.resources:
            if r.state is not SyncState.UNKNOWN:
                kinds.setdefault(r.key.kind, []).append(r)
        return kinds

    def of_kind(self, kind: str) -> Iterator[Resource]:
        """Resources of a kind whose live state is known."""
        return iter(self._by_kind.get(kind, ()))

    @cached_property
    def _destinations(self) -> dict[ObjectKey, list[Destination]]:
        return {vs.key: list(destinations(vs.spec)) for vs in self.of_kind("VirtualService")}

    def generator(self, key: ObjectKey) -> str | None:
        """The controller that generates this object (its whole spec), when one does."""
        managed = self.managed.get(key)
        return managed.controller if managed is not None and managed.generated else None

    def destinations(self, vs: Resource) -> list[Destination]:
        """Every route and mirror destination of a VirtualService, walked once per scan."""
        return self._destinations.get(vs.key, [])

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
    def _services(self) -> list[HostTarget]:
        return service_targets(self.context.get("Service", ()))

    @cached_property
    def _live_hosts(self) -> HostIndex:
        live = [r.obj for r in self.of_kind("ServiceEntry") if r.live is not None]
        return HostIndex(self._services + entry_targets(live))

    @cached_property
    def _declared_services(self) -> list[HostTarget]:
        """The repo's own Services that are not live."""
        live = {(t.namespace, t.name) for t in self._services}
        return [
            t
            for t in service_targets(self.git_context.get("Service", ()))
            if (t.namespace, t.name) not in live
        ]

    @cached_property
    def _planned_hosts(self) -> HostIndex:
        """What would exist once the repo is applied: live Services plus the repo's own,
        and every ServiceEntry."""
        entries = [r.obj for r in self.of_kind("ServiceEntry")]
        return HostIndex(self._services + self._declared_services + entry_targets(entries))

    @cached_property
    def _served_namespaces(self) -> frozenset[str]:
        return frozenset(t.namespace for t in self._services + self._declared_services)

    def can_judge_host(self, viewer: Resource, host: str) -> bool:
        """False when a Git-only resource of a namespace with no Service, live or in the
        repo, names a cluster host (qualified) of such a namespace: an app deployed
        elsewhere or not at all, whose Services come with it. A route living apart from
        its hosts (ingress routes in a namespace of their own), or naming a namespace that
        does not exist from one that does (a typo), is still judged."""
        name, _, rest = host.partition(".")
        namespace, _, domain = rest.partition(".")
        if viewer.live is not None or domain != DOMAIN or not name or not namespace:
            return True
        served = self._served_namespaces
        return namespace in served or viewer.key.namespace in served

    def hosts(self, viewer: Resource) -> HostIndex:
        """Services and ServiceEntries as the viewer sees them (see `in_view`)."""
        return self._live_hosts if viewer.live is not None else self._planned_hosts

    @cached_property
    def _rule_hosts(self) -> ByHost[tuple[Resource, tuple[str, ...]]]:
        """DestinationRules by qualified host, with their exportTo."""
        index: ByHost[tuple[Resource, tuple[str, ...]]] = ByHost()
        for r in self.of_kind("DestinationRule"):
            _, host = rule_host(r.spec, r.key.namespace)
            index.add(host, (r, export_to(r.obj)))
        return index

    def destination_rules(self, host: str, viewer: Resource) -> list[Resource]:
        """DestinationRules for a qualified host that apply in the viewer's namespace,
        those in the viewer's namespace first (Istio's lookup order)."""
        namespace = viewer.key.namespace
        memo = (host, namespace, viewer.live is not None)
        found = self._rules_for.get(memo)
        if found is None:
            found = sorted(
                (
                    r
                    for r, exported in self._rule_hosts.get(host)
                    if self.in_view(r, viewer) and visible(r.key.namespace, exported, namespace)
                ),
                key=lambda r: r.key.namespace != namespace,
            )
            self._rules_for[memo] = found
        return found

    def alternatives(self, resource: Resource) -> list[dict[str, Any]]:
        """The specs a resource may have: the live one, or, for a Git-only object the repo
        declares several times (alternatives such as a workshop's steps), every declaration's,
        since which one gets applied is not known."""
        found = self.duplicates.get(resource.key, ()) if resource.live is None else ()
        if not found:
            return [resource.spec]
        specs = [m.obj.get("spec") for m in found]
        return [spec for spec in specs if isinstance(spec, dict)]

    @cached_property
    def _routed(self) -> ByHost[str | None]:
        """Subsets routed to, by host; a Git-only VirtualService's every declaration counts."""
        index: ByHost[str | None] = ByHost()
        for r in self.of_kind("VirtualService"):
            found = self.destinations(r)
            if r.live is None and r.key in self.duplicates:
                found = [d for spec in self.alternatives(r) for d in destinations(spec)]
            for d in found:
                index.add(fqdn(d.host, r.key.namespace), d.subset)
        return index

    def subsets_routed(self, host: str) -> set[str | None]:
        """Subsets (None: no subset) that VirtualService routes and mirrors send to the host."""
        return set(self._routed.get(host))

    @cached_property
    def _pods(self) -> dict[tuple[str, str, str], set[int]]:
        """(namespace, label, value) -> pods carrying it, to match selectors by set intersection."""
        index: dict[tuple[str, str, str], set[int]] = {}
        for n, pod in enumerate(self.context.get("Pod", ())):
            meta = pod["metadata"]
            for label, value in (meta.get("labels") or {}).items():
                index.setdefault((meta.get("namespace", ""), label, str(value)), set()).add(n)
        return index

    def pods_selected(self, namespace: str, labels: dict[str, str]) -> int:
        """How many pods in the namespace carry all the labels (an empty selector: none)."""
        sets = sorted(
            (self._pods.get((namespace, k, v), set()) for k, v in labels.items()), key=len
        )
        return len(set.intersection(*sets)) if sets else 0

    @cached_property
    def _plans(self) -> dict[ObjectKey, list[tuple[int, dict[str, Any], RetryPlan]]]:
        return {
            vs.key: [(i, route, plan(route)) for i, route in http_routes(vs.spec)]
            for vs in self.of_kind("VirtualService")
        }

    def http_routes(self, vs: Resource) -> list[tuple[int, dict[str, Any], RetryPlan]]:
        """(index, route, retry plan) of each HTTP route, computed once for all MA4xx rules."""
        return self._plans.get(vs.key, [])

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
        meta = (resource.live or {}).get("metadata") or {}
        times: list[str] = [
            f["time"]
            for f in meta.get("managedFields") or []
            if isinstance(f, dict) and isinstance(f.get("time"), str)
        ]
        if resource.manifest is not None and self.timeline is not None:
            change = self.timeline.last_change(resource.manifest, mass_files)
            edited = parse_time(max(times)) if times else None
            git = parse_time(change.date) if change else None
            if resource.drift and edited and (git is None or edited > git):
                # Changed by hand in the cluster since Git: the hand edit's time counts.
                return Change(
                    max(times),
                    None,
                    "live: newest managedFields time (the live spec differs from Git)",
                )
            return change
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
    """How the live object stands to its manifest (`unread`: its kind was not read)."""
    if live is None:
        return SyncState.UNKNOWN if unread else SyncState.GIT_ONLY
    if manifest is None:
        return SyncState.LIVE_ONLY
    return SyncState.IN_SYNC


def _why(
    key: ObjectKey, obj: dict[str, Any], managed: Managed | None, rules: tuple[IgnoreRule, ...]
) -> Callable[[str], str | None]:
    def why(path: str) -> str | None:
        if controller_fields(managed, obj, path):
            return f"written by {managed.controller}"  # type: ignore[union-attr]
        return reason(rules, key, obj, path)

    return why


@dataclass(frozen=True)
class _Joined:
    """Both sides of the join, before resources are made."""

    live: dict[ObjectKey, dict[str, Any]]
    context: dict[str, list[dict[str, Any]]]
    declared: dict[ObjectKey, list[Manifest]]
    git_context: dict[str, list[dict[str, Any]]]
    # Controller objects (Rollouts, Canaries) by key, live first, with their manifests.
    controller_objects: dict[str, tuple[dict[str, Any] | None, Manifest | None]]
    # Every declaration of each controller object in the repo.
    controller_declared: dict[ObjectKey, list[Manifest]]


def _declare(found: list[Manifest], manifest: Manifest) -> None:
    """Add a declaration, unless it is one already there: the same document, built the
    same by two apps on one folder (a Flux Kustomization per cluster), is declared once."""
    if not any(
        m.path == manifest.path and m.line == manifest.line and m.obj == manifest.obj for m in found
    ):
        found.append(manifest)


def _join(live: LiveSnapshot, git: GitSnapshot) -> _Joined:
    live_audited: dict[ObjectKey, dict[str, Any]] = {}
    context: dict[str, list[dict[str, Any]]] = {}
    controllers: dict[str, tuple[dict[str, Any] | None, Manifest | None]] = {}
    for obj in live.objects:
        if obj["kind"] in live.unread:
            continue
        if obj["kind"] in AUDITED_KINDS:
            live_audited[key_of(obj)] = obj
        else:
            context.setdefault(obj["kind"], []).append(obj)
            if obj["kind"] in CONTROLLER_KINDS:
                controllers[str(key_of(obj))] = (obj, None)
    declared: dict[ObjectKey, list[Manifest]] = {}
    controller_declared: dict[ObjectKey, list[Manifest]] = {}
    git_context: dict[str, list[dict[str, Any]]] = {}
    for manifest in git.manifests:
        key = manifest.key
        if key.kind not in AUDITED_KINDS:
            git_context.setdefault(key.kind, []).append(manifest.obj)
            if key.kind in CONTROLLER_KINDS:
                found, _ = controllers.get(str(key), (None, None))
                controllers[str(key)] = (found, manifest)
                _declare(controller_declared.setdefault(key, []), manifest)
            continue
        if live.namespaces and key.namespace not in live.namespaces:
            continue
        _declare(declared.setdefault(key, []), manifest)
    return _Joined(live_audited, context, declared, git_context, controllers, controller_declared)


def _drift(
    obj: dict[str, Any],
    manifest: Manifest,
    variants: tuple[Manifest, ...],
    why: Callable[[str], str | None],
) -> tuple[Manifest, tuple[Difference, ...], tuple[tuple[Difference, str], ...]]:
    """The manifest compared with, the drift, and the differences left out with why (a
    controller writes them, an ignore rule names them). Live equal to any declaration
    is that declaration applied; equal to none, it is compared with the nearest one
    (fewest differences; the last declared on a tie)."""
    nearest = None
    # `variants` (every declaration of a duplicate) ends with `manifest`: the last applied.
    for candidate in reversed(variants) if variants else (manifest,):
        judged = [(d, why(d.path)) for d in spec_diff(candidate.obj, obj)]
        kept = tuple(d for d, reason in judged if reason is None)
        left = tuple((d, reason) for d, reason in judged if reason is not None)
        if not kept:
            return candidate, (), left
        if nearest is None or len(kept) < len(nearest[1]):
            nearest = (candidate, kept, left)
    assert nearest is not None
    return nearest


def build(
    live: LiveSnapshot,
    git: GitSnapshot,
    owner_keys: tuple[str, ...],
    now: datetime,
    ignore: tuple[IgnoreRule, ...] = (),
    screened: bool = False,
    remembered: dict[str, str] | None = None,
) -> Inventory:
    """Join the live and Git sides into resources (one per group, kind, namespace, name).

    Each resource gets its sync state, its drift (normalized spec differences, minus the
    fields a progressive-delivery controller writes), what controller manages it, and
    its owner (first hit of the owner chain; for generated objects, through the object
    that generates them). The last declaration of an object declared twice is the one
    compared with the cluster. Objects whose fields have the wrong type are left out
    (shapes.py), unless `screened` says these very inputs were found clean before.
    Declarations outside a `-n` scan's namespaces are dropped, and a declared object
    whose kind the cluster would not list is `unknown`, not `git-only`."""
    rejected: tuple[str, ...] = ()
    if not screened:
        live, git, rejected = shapes.screen(live, git)
    joined = _join(live, git)
    manifests = {key: found[-1] for key, found in joined.declared.items()}
    duplicates = {key: tuple(found) for key, found in joined.declared.items() if len(found) > 1}
    namespaces = {m.key.name: m.obj for m in git.manifests if m.key.kind == "Namespace"}
    namespaces.update({n["metadata"]["name"]: n for n in joined.context.get("Namespace", [])})
    resolver = OwnerResolver(owner_keys, namespaces, git.codeowners, git.owners_files, git.catalog)
    objects = [
        o if o is not None else m.obj  # type: ignore[union-attr]  # `if o or m`
        for o, m in joined.controller_objects.values()
        if o or m
    ]
    controllers = Controllers(
        [o for o in objects if o["kind"] == "Rollout"],
        [o for o in objects if o["kind"] == "Canary"],
    )
    app_rules = {a["path"]: decode(a.get("ignore") or ()) for a in git.apps}
    resources = []
    managed_by: dict[ObjectKey, Managed] = {}
    ignored: dict[ObjectKey, tuple[tuple[Difference, str], ...]] = {}
    origins: dict[ObjectKey, Manifest] = {}
    bound_by: dict[ObjectKey, str] = {}
    generator_unread: set[ObjectKey] = set()
    for key in sorted(joined.live.keys() | manifests.keys()):
        obj = joined.live.get(key)
        manifest = manifests.get(key)
        state = _state(obj, manifest, key.kind in live.unread)
        current = obj if obj is not None else manifest.obj  # type: ignore[union-attr]
        managed = controllers.of(key, current, declared=manifest is not None)
        if managed is not None:
            managed_by[key] = managed
        binder = controllers.binder(key, current)
        if binder is not None:
            bound_by[key] = binder
        drift: tuple[Difference, ...] = ()
        if obj is not None and manifest is not None:
            rules = ignore + app_rules.get(manifest.app or "", ())
            why = _why(key, obj, managed, rules)
            manifest, drift, left_out = _drift(obj, manifest, duplicates.get(key, ()), why)
            if left_out:
                ignored[key] = left_out
        if drift:
            state = SyncState.DRIFTED
        owner = resolver.resolve(obj, manifest, key.namespace)
        if managed is not None and managed.generated:
            found_obj, found_manifest = joined.controller_objects.get(
                managed.controller, (None, None)
            )
            if found_manifest is not None and manifest is None:
                origins[key] = found_manifest  # findings point at the Canary's manifest
            if found_obj is None and found_manifest is None:
                generator_unread.add(key)
            elif owner is None:
                owner = resolver.resolve(found_obj, found_manifest, key.namespace)
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
    # A Rollout or Canary declared twice is a duplicate too (its controller would flip).
    extra = []
    for key, found in joined.controller_declared.items():
        if len(found) > 1:
            duplicates[key] = tuple(found)
            obj, _ = joined.controller_objects.get(str(key), (None, None))
            owner = resolver.resolve(obj, found[-1], key.namespace)
            state = SyncState.GIT_ONLY if obj is None else SyncState.IN_SYNC
            extra.append(Resource(key, state, obj, found[-1], owner=owner))
    return Inventory(
        resources=tuple(resources),
        controller_resources=tuple(extra),
        context={kind: tuple(objs) for kind, objs in joined.context.items()},
        clock=Clock(now),
        duplicates=duplicates,
        unread=frozenset(live.unread) | frozenset(live.undumped),
        namespaces=live.namespaces,
        git_only=live.git_only,
        history=not git.shallow,
        unrendered=tuple(a["path"] for a in git.apps if a["status"] in ("failed", "not rendered")),
        refuse_duplicates=frozenset(a["path"] for a in git.apps if a["refuses_duplicates"]),
        git_context={kind: tuple(objs) for kind, objs in joined.git_context.items()},
        rejected=rejected,
        timeline=git.timeline,
        managed=managed_by,
        remembered=remembered or {},
        ignored=ignored,
        origins=origins,
        bound_by=bound_by,
        generator_unread=frozenset(generator_unread),
        progress=tuple(controllers.progress),
    )
