"""A DestinationRule subset that no VirtualService route or mirror references.

Needs every VirtualService, so it does not run on scans limited with `-n`. A Git-only
VirtualService the repo declares several times references the subsets of every
declaration: which one gets applied is not known (MA104 reports the duplicate).

Rationale: subsets outlive the canary that needed them; an unused subset is config
nobody can reason about, and it keeps a stale version label alive.

Fix: remove the subset (or the whole DestinationRule if nothing else uses it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import rule_host
from auditor.mesh.routes import items
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA304"
NAME = "unused-subset"
SEVERITY = "low"
NEEDS = Needs(kinds=("VirtualService",), all_namespaces=True)

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for dr in inventory.of_kind("DestinationRule"):
        _, host = rule_host(dr.spec, dr.key.namespace)
        used = inventory.subsets_routed(host)
        for k, subset in enumerate(items(dr.spec.get("subsets"))):
            name = subset.get("name") if isinstance(subset, dict) else None
            if isinstance(name, str) and name and name not in used:
                yield Problem(
                    dr,
                    f"{dr.key} subset {name!r} is not referenced by any VirtualService",
                    f"spec.subsets[{k}]",
                    {
                        "host": host,
                        "subset": name,
                        "referenced_subsets": sorted(s for s in used if s),
                    },
                )
