"""A Gateway that no VirtualService binds to.

A VirtualService binds a Gateway by naming it in `spec.gateways`: `<namespace>/<name>`,
or a short name for a Gateway in the VirtualService's own namespace (the legacy
`<name>.<namespace>` form too); `mesh` is the sidecars, not a Gateway. A VirtualService
whose `exportTo` hides it from the Gateway's namespace does not bind it: the evidence
names such near misses. Needs every VirtualService, so it does not run on scans limited
with `-n`. Related: istioctl analyze's IST0132 (a VirtualService naming a Gateway that
does not serve its hosts) looks from the other side.

Rationale: a Gateway without routes opens ports (and loads certificates) on the ingress
that answer every request with 404; it is usually left over from a service that moved
or was deleted, and it hides which entry points are really in use.

Fix: bind a VirtualService to it (`spec.gateways: [<namespace>/<name>]`), or delete the
Gateway (and its manifest).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import export_to, visible
from auditor.mesh.routes import items
from auditor.model import ISTIO_GROUP, ObjectKey, Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA310"
NAME = "gateway-without-virtualservice"
SEVERITY = "low"
NEEDS = Needs(kinds=("VirtualService", "Gateway"), all_namespaces=True)
EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway, namespace: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gateway]  # a Gateway shop/shop-gateway, which does not exist
  http:
  - route:
    - destination: {host: shop}
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway, namespace: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [ingress/shop-gateway]
  http:
  - route:
    - destination: {host: shop}
"""


def _gateway(ref: Any, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of a `spec.gateways` entry; None for `mesh` and non-strings."""
    if not isinstance(ref, str) or not ref or ref == "mesh":
        return None
    if "/" in ref:
        space, _, name = ref.partition("/")
        return space, name
    name, dot, space = ref.partition(".")
    return (space.partition(".")[0], name) if dot else (namespace, ref)


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    bound: dict[tuple[str, str], list[tuple[ObjectKey, tuple[str, ...]]]] = {}
    for vs in inventory.of_kind("VirtualService"):
        namespace = vs.key.namespace
        for ref in items(vs.spec.get("gateways")):
            if (target := _gateway(ref, namespace)) is not None:
                bound.setdefault(target, []).append((vs.key, export_to(vs.obj)))
    for gw in inventory.of_kind("Gateway"):
        if gw.key.group != ISTIO_GROUP:
            continue
        naming = bound.get((gw.key.namespace, gw.key.name), [])
        if any(visible(key.namespace, exported, gw.key.namespace) for key, exported in naming):
            continue
        hidden = sorted(f"{key.namespace}/{key.name}" for key, _ in naming)
        why = f" ({', '.join(hidden)} name it but are not exported to {gw.key.namespace})"
        yield Problem(
            gw,
            f"{gw.key} is bound by no VirtualService" + (why if hidden else ""),
            evidence={"hidden_virtualservices": hidden},
        )
