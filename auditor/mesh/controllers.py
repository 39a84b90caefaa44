"""What progressive-delivery controllers manage on purpose, so it is never judged as a leftover.

Argo Rollouts (`Rollout.spec.strategy.canary.trafficRouting.istio`) owns the weights of
the VirtualService routes it names (the canary leg rests at 0% between rollouts) and
writes `rollouts-pod-template-hash` into the canary/stable subsets of the DestinationRule
it names. Flagger (`Canary`) generates the VirtualService `<service>` and the
DestinationRules `<service>-primary`/`<service>-canary`, with a controller
ownerReference to the Canary. Any object whose ownerReferences name a controller
(`controller: true`) is generated: its spec is the controller's, not a hand edit.
Of the generators, only a Canary lets people set the route timeout (Flagger copies
`spec.service.timeout`); Knative's net-istio leaves it unset on purpose (Knative enforces
`timeoutSeconds` in its activator and queue-proxy), and Admiral's routes have no such knob.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.mesh.routes import gateway_ref, items, mapping
from auditor.model import ObjectKey, label

ROLLOUT_HASH = "rollouts-pod-template-hash"
CONTROLLER_KINDS = frozenset({"Rollout", "Canary"})
# Generators whose own input sets the timeout of the routes they write (a Canary's spec,
# a Helm release's chart and values).
TIMEOUT_SOURCES = frozenset({"Canary", "Helm"})
# The label of the Gateways Knative's net-istio binds with the VirtualServices it creates.
KNATIVE_PROVIDER = "networking.knative.dev/ingress-provider"
# Field managers that write routes on a controller's behalf.
MANAGERS = {"rollouts-controller": "Argo Rollouts", "flagger": "Flagger"}
_WEIGHT = re.compile(r"^spec\.(http|tls|tcp)\[(\d+)\]\.route\[\d+\]\.weight$")
_HASH = re.compile(r'^spec\.subsets\[(\d+)\]\.labels\["' + ROLLOUT_HASH + r'"\]$')


def _name_ns(ref: Any, namespace: str) -> tuple[str, str]:
    """A Rollout's reference `name` or `name.namespace` (Argo Rollouts allows both)."""
    name = str(ref or "")
    if "." in name:
        name, _, namespace = name.partition(".")
    return name, namespace


@dataclass
class Managed:
    """What one controller owns of one VirtualService or DestinationRule."""

    controller: str
    # VirtualService: (protocol, route index) pairs whose weights it writes; None = all.
    routes: set[tuple[str, int]] | None = field(default_factory=set)
    # DestinationRule: subsets whose rollouts-pod-template-hash label it writes.
    subsets: set[str] = field(default_factory=set)
    # The whole object is generated (Flagger, any ownerReference controller).
    generated: bool = False
    # A generated object's route timeouts are set in its generator's spec (a Canary's).
    timeouts_settable: bool = False


class Controllers:
    """Which VirtualServices, routes, DestinationRules and subsets controllers manage."""

    def __init__(
        self, rollouts: Iterable[dict[str, Any]], canaries: Iterable[dict[str, Any]]
    ) -> None:
        self._vs: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        self._dr: dict[tuple[str, str], list[tuple[str, set[str]]]] = {}
        self._generated: dict[tuple[str, str, str], str] = {}
        self._gateways: dict[tuple[str, str], str] = {}
        # Rollouts and Canaries in flight, as the scan notes say them.
        self.progress: list[str] = []
        for rollout in rollouts:
            self._rollout(rollout)
        for canary in canaries:
            self._canary(canary)

    def _rollout(self, obj: dict[str, Any]) -> None:
        meta = mapping(obj.get("metadata"))
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name"))
        who = label("Rollout", namespace, name)
        canary = mapping(mapping(mapping(obj.get("spec")).get("strategy")).get("canary"))
        istio = mapping(mapping(canary.get("trafficRouting")).get("istio"))
        services = [mapping(istio.get("virtualService"))] + [
            mapping(v) for v in items(istio.get("virtualServices"))
        ]
        for vs in (v for v in services if v.get("name")):
            key = _name_ns(vs["name"], namespace)
            self._vs.setdefault(key, []).append((who, vs))
        dr = mapping(istio.get("destinationRule"))
        if dr.get("name"):
            subsets = {
                str(dr.get("canarySubsetName") or "canary"),
                str(dr.get("stableSubsetName") or "stable"),
            }
            self._dr.setdefault(_name_ns(dr["name"], namespace), []).append((who, subsets))
        status = mapping(obj.get("status"))
        weights = mapping(mapping(status.get("canary")).get("weights"))
        canary_weight = mapping(weights.get("canary")).get("weight")
        if status.get("phase") in ("Progressing", "Paused") or (
            isinstance(canary_weight, int) and 0 < canary_weight < 100
        ):
            step = status.get("currentStepIndex")
            self.progress.append(
                f"{who} is {str(status.get('phase') or 'progressing').lower()}"
                + (f" at step {step}" if step is not None else "")
                + (f", canary weight {canary_weight}%" if canary_weight is not None else "")
            )

    def _canary(self, obj: dict[str, Any]) -> None:
        meta = mapping(obj.get("metadata"))
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name"))
        who = label("Canary", namespace, name)
        spec = mapping(obj.get("spec"))
        service = str(
            mapping(spec.get("service")).get("name")
            or mapping(spec.get("targetRef")).get("name")
            or name
        )
        for kind, generated in (
            ("VirtualService", service),
            ("DestinationRule", f"{service}-primary"),
            ("DestinationRule", f"{service}-canary"),
        ):
            self._generated[(kind, namespace, generated)] = who
        for ref in items(mapping(spec.get("service")).get("gateways")):
            if (target := gateway_ref(ref, namespace)) is not None:
                self._gateways.setdefault(target, who)
        status = mapping(obj.get("status"))
        if status.get("phase") in ("Progressing", "Promoting", "Finalising", "WaitingPromotion"):
            weight = status.get("canaryWeight")
            self.progress.append(
                f"{who} is {str(status['phase']).lower()}, canary weight {weight}%"
            )

    def of(self, key: ObjectKey, obj: dict[str, Any], declared: bool = False) -> Managed | None:
        """What a controller manages of this object, None when nothing manages it. An
        object the repo does not declare (`declared`) is also generated when its labels say
        which tool made it (`app.kubernetes.io/created-by`, Helm's release)."""
        owner, kind = _owner_reference(obj, key.namespace)
        if owner is None:
            owner, kind = self._generated.get((key.kind, key.namespace, key.name)), "Canary"
        if owner is None and not declared:
            owner, kind = _made_by(obj, key.namespace)
        if owner is not None:
            return Managed(
                owner, routes=None, generated=True, timeouts_settable=kind in TIMEOUT_SOURCES
            )
        if key.kind == "VirtualService" and (key.name, key.namespace) in self._vs:
            managed = Managed(", ".join(who for who, _ in self._vs[(key.name, key.namespace)]))
            for _, ref in self._vs[(key.name, key.namespace)]:
                managed.routes = _routes(ref, mapping(obj.get("spec")), managed.routes)
            return managed
        if key.kind == "DestinationRule" and (key.name, key.namespace) in self._dr:
            found = self._dr[(key.name, key.namespace)]
            return Managed(
                ", ".join(who for who, _ in found), subsets=set().union(*(s for _, s in found))
            )
        return None

    def binder(self, key: ObjectKey, obj: dict[str, Any]) -> str | None:
        """The controller whose runtime VirtualServices bind this Gateway: a Canary naming
        it in `service.gateways`, or Knative's net-istio for the Gateways it labels."""
        if key.kind != "Gateway":
            return None
        labels = mapping(mapping(obj.get("metadata")).get("labels"))
        if labels.get(KNATIVE_PROVIDER) == "istio":
            return f"Knative net-istio ({KNATIVE_PROVIDER})"
        return self._gateways.get((key.namespace, key.name))


def _made_by(obj: dict[str, Any], namespace: str) -> tuple[str | None, str | None]:
    """The tool its labels or annotations name as its maker (Admiral's generated routes,
    a Helm release that was installed but is not rendered from this repo), and "Helm" for
    a release."""
    meta = mapping(obj.get("metadata"))
    labels, notes = mapping(meta.get("labels")), mapping(meta.get("annotations"))
    for found in (notes, labels):
        creator = found.get("app.kubernetes.io/created-by")
        if isinstance(creator, str) and creator:
            return f"{creator} (app.kubernetes.io/created-by)", None
    release = notes.get("meta.helm.sh/release-name")
    if labels.get("app.kubernetes.io/managed-by") == "Helm" and isinstance(release, str):
        return f"Helm release {namespace}/{release}", "Helm"
    return None, None


def _owner_reference(obj: dict[str, Any], namespace: str) -> tuple[str | None, str | None]:
    """The controlling owner (`Kind namespace/name`) and its kind."""
    for ref in items(mapping(obj.get("metadata")).get("ownerReferences")):
        ref = mapping(ref)
        if ref.get("controller") is True and ref.get("kind") and ref.get("name"):
            return label(str(ref["kind"]), namespace, str(ref["name"])), str(ref["kind"])
    return None, None


def _routes(
    ref: dict[str, Any], spec: dict[str, Any], found: set[tuple[str, int]] | None
) -> set[tuple[str, int]] | None:
    """The routes a Rollout's virtualService reference names (all HTTP routes when it
    names none, as Argo Rollouts does for a single-route VirtualService)."""
    if found is None:
        return None
    names = {str(n) for n in items(ref.get("routes"))}
    http = items(spec.get("http"))
    if not names:
        found |= {("http", i) for i in range(len(http))}
    found |= {("http", i) for i, r in enumerate(http) if mapping(r).get("name") in names}
    if ref.get("tlsRoutes"):
        found |= {("tls", i) for i in range(len(items(spec.get("tls"))))}
    if ref.get("tcpRoutes"):
        found |= {("tcp", i) for i in range(len(items(spec.get("tcp"))))}
    return found


def managed_route(managed: Managed | None, protocol: str, index: int) -> bool:
    """Whether a controller writes this route's weights."""
    if managed is None:
        return False
    return managed.routes is None or (protocol, index) in managed.routes


def controller_fields(managed: Managed | None, obj: dict[str, Any], path: str) -> bool:
    """Whether a drifted field (a path as spec_diff names it) is one the controller writes."""
    if managed is None:
        return False
    if managed.generated:
        return True
    weight = _WEIGHT.match(path)
    if weight is not None:
        return managed_route(managed, weight.group(1), int(weight.group(2)))
    hashed = _HASH.match(path)
    if hashed is not None:
        subsets = items(mapping(obj.get("spec")).get("subsets"))
        index = int(hashed.group(1))
        return index < len(subsets) and mapping(subsets[index]).get("name") in managed.subsets
    return False


def left_by(obj: dict[str, Any] | None) -> str | None:
    """The controller whose field manager last wrote this object, when one did."""
    entries = [mapping(f) for f in items(mapping((obj or {}).get("metadata")).get("managedFields"))]
    writes = [
        (str(f.get("time") or ""), MANAGERS[f["manager"]])
        for f in entries
        if f.get("manager") in MANAGERS
    ]
    if not writes:
        return None
    when, who = max(writes)
    return f"{who} (field manager, last write {when[:10] or 'unknown'})"
