"""A Gateway that no VirtualService binds to.

A VirtualService binds a Gateway by naming it in `spec.gateways`: `<namespace>/<name>`,
or a short name for a Gateway in the VirtualService's own namespace (the legacy
`<name>.<namespace>` form too); `mesh` is the sidecars, not a Gateway. A VirtualService
whose `exportTo` hides it from the Gateway's namespace does not bind it: the evidence
names such near misses. Needs every VirtualService, so it does not run on scans limited
with `-n`. Gateways a controller binds with VirtualServices it creates at runtime are
skipped: those named by a Flagger Canary's `service.gateways`, and Knative's (labelled
`networking.knative.dev/ingress-provider: istio`, bound by net-istio per Knative Ingress).
Related: istioctl analyze's IST0132 (a VirtualService naming a Gateway that
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
from auditor.mesh.routes import gateway_ref, items
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


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    bound: dict[tuple[str, str], list[tuple[ObjectKey, tuple[str, ...]]]] = {}
    for vs in inventory.of_kind("VirtualService"):
        namespace = vs.key.namespace
        for ref in items(vs.spec.get("gateways")):
            if (target := gateway_ref(ref, namespace)) is not None:
                bound.setdefault(target, []).append((vs.key, export_to(vs.obj)))
    for gw in inventory.of_kind("Gateway"):
        if gw.key.group != ISTIO_GROUP:
            continue
        if gw.key in inventory.bound_by:
            continue  # a controller's runtime VirtualServices bind it
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
