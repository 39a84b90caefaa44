"""A subset whose labels, with the host Service's selector, match no pod.

Pods are matched in the Service's namespace only (Istio's analyzer matches every
namespace and adds node topology labels; mesh-audit reads no Nodes). Services
without a selector (external endpoints) are skipped. (Peer: istioctl analyze IST0173.)

Rationale: traffic routed to an empty subset fails with 503 (no healthy upstream); an
empty subset usually names a version that was rolled back or retired.

Fix: remove the subset, or fix its labels to match the running version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import rule_host
from auditor.mesh.routes import items, mapping
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA305"
NAME = "empty-subset"
SEVERITY = "medium"
NEEDS = Needs(kinds=("Service", "Pod"), cluster=True)

EXAMPLE_BAD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, namespace: shop, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v3, labels: {version: v3}}
"""
EXAMPLE_GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, namespace: shop, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for dr in inventory.of_kind("DestinationRule"):
        _, host = rule_host(dr.spec, dr.key.namespace)
        services = [
            t
            for t in inventory.hosts(dr).resolve(host, (dr.key.namespace,))
            if t.kind == "Service" and t.selector and inventory.knows(t.host)
        ]
        for k, subset in enumerate(items(dr.spec.get("subsets"))):
            if not isinstance(subset, dict):
                continue
            labels = {str(a): str(b) for a, b in mapping(subset.get("labels")).items()}
            for svc in services:
                wanted = {**dict(svc.selector), **labels}
                if not inventory.pods_selected(svc.namespace, wanted):
                    yield Problem(
                        dr,
                        f"{dr.key} subset {subset.get('name')!r} selects no pod of Service "
                        f"{svc.namespace}/{svc.name}",
                        f"spec.subsets[{k}]",
                        {
                            "subset": subset.get("name"),
                            "selector": wanted,
                            "service_pods": inventory.pods_selected(
                                svc.namespace, dict(svc.selector)
                            ),
                        },
                    )
