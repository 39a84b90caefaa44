"""A route or mirror names a subset that no DestinationRule for its host defines.

A subset is looked up in the DestinationRules whose host (qualified with the rule's
namespace) matches the destination host and that apply in the VirtualService's
namespace. Routes reach across namespaces, so a scan limited with `-n` does not judge
it (its findings stay as they are). A Git-only DestinationRule the repo declares several
times defines the subsets of every declaration: which one gets applied is not known
(MA104 reports the duplicate). (Peer: istioctl analyze IST0101 subset.)

Rationale: Envoy has no cluster for an undefined subset: every request to it fails
with 503 (NR). Usually the DestinationRule was changed and the route was forgotten.

Fix: add the subset to the DestinationRule, or route to a subset that exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import fqdn
from auditor.mesh.routes import items
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA303"
NAME = "missing-subset"
SEVERITY = "high"
NEEDS = Needs(kinds=("DestinationRule",), all_namespaces=True)

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
    - destination: {host: reviews, subset: v2}
    timeout: 5s
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
    for vs in inventory.of_kind("VirtualService"):
        for d in inventory.destinations(vs):
            if d.subset is None:
                continue
            host = fqdn(d.host, vs.key.namespace)
            rules = inventory.destination_rules(host, vs)
            defined = sorted(
                {
                    str(s.get("name"))
                    for r in rules
                    for spec in inventory.alternatives(r)
                    for s in items(spec.get("subsets"))
                    if isinstance(s, dict)
                }
            )
            if d.subset not in defined:
                names = ", ".join(str(r.key) for r in rules)
                where = f"not defined in {names}" if rules else "and no DestinationRule exists"
                yield Problem(
                    vs,
                    f"{vs.key} routes to subset {d.subset!r} of {d.host}, {where}",
                    d.locator,
                    {
                        "host": host,
                        "subset": d.subset,
                        "destination_rules": [str(r.key) for r in rules],
                        "defined_subsets": defined,
                    },
                )
