"""Two DestinationRules for one host, or two mesh VirtualServices for one host.

DestinationRules conflict when their qualified hosts are equal and some namespace sees
both (exportTo). VirtualServices conflict when both are bound to the mesh (no gateways,
or `mesh`), claim the same or overlapping hosts (`*.d` covers `*.productpage.d`) and
their exportTo scopes overlap; each is reported once. (Peer: istioctl analyze IST0109.)

Rationale: Istio merges duplicate DestinationRules in an order you do not control and
picks one VirtualService per host for sidecars: one of the two silently loses.

Fix: merge the two resources into one, or narrow their exportTo.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import combinations
from typing import Any

from auditor.mesh.hosts import export_to, fqdn, host_matches, rule_host
from auditor.mesh.routes import items, mesh_bound
from auditor.model import ObjectKey, Problem, Resource
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA309"
NAME = "duplicate-host"
SEVERITY = "medium"
NEEDS = Needs(all_namespaces=True)

EXAMPLE_BAD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-copy, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
"""
EXAMPLE_GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
"""


def _scope(r: Resource) -> set[str] | None:
    """Namespaces that see the resource; None means all of them."""
    exported = export_to(r.obj)
    if "*" in exported:
        return None
    return {r.key.namespace if e == "." else e for e in exported if e != "~"}


def _overlap(a: Resource, b: Resource) -> bool:
    sa, sb = _scope(a), _scope(b)
    if sa is None:
        return sb is None or bool(sb)
    return bool(sa) if sb is None else bool(sa & sb)


def _conflicts(
    claims: list[tuple[str, Resource]], wildcards: bool
) -> Iterator[tuple[Resource, dict[str, list[str]]]]:
    """Each resource with {its host: [other resources claiming an overlapping host]}."""
    by_host: dict[str, list[Resource]] = {}
    for host, r in claims:
        by_host.setdefault(host, []).append(r)
    pairs = [(h, a, b) for h, owners in by_host.items() for a, b in combinations(owners, 2)]
    if wildcards:
        wild = [(h, r) for h, r in claims if h.startswith("*")]
        pairs += [
            (hw, w, r)
            for hw, w in wild
            for h, r in claims
            if h != hw
            and r.key != w.key
            and host_matches(hw, h)
            and (not h.startswith("*") or hw < h)
        ]
    found: dict[ObjectKey, tuple[Resource, dict[str, list[str]]]] = {}
    for host, a, b in pairs:
        if Inventory.in_view(a, b) and Inventory.in_view(b, a) and _overlap(a, b):
            for one, other in ((a, b), (b, a)):
                others = found.setdefault(one.key, (one, {}))[1].setdefault(host, [])
                if str(other.key) not in others:
                    others.append(str(other.key))
    return iter(found.values())


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    rules = [
        (rule_host(dr.spec, dr.key.namespace)[1], dr) for dr in inventory.of_kind("DestinationRule")
    ]
    services = [
        (host, vs)
        for vs in inventory.of_kind("VirtualService")
        if mesh_bound(vs.spec)
        for host in dict.fromkeys(
            fqdn(str(h), vs.key.namespace) for h in items(vs.spec.get("hosts"))
        )
    ]
    for kind, claims, wildcards in (
        ("DestinationRule", rules, False),
        ("VirtualService", services, True),
    ):
        for resource, hosts in _conflicts(claims, wildcards):
            pairs = "; ".join(
                f"{h} also claimed by {', '.join(o)}" for h, o in sorted(hosts.items())
            )
            yield Problem(
                resource,
                f"{resource.key} conflicts with another {kind} for the same host: {pairs}",
                "spec.host" if kind == "DestinationRule" else "spec.hosts",
                {"conflicts": {h: sorted(o) for h, o in sorted(hosts.items())}},
            )
