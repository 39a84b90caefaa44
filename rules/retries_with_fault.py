"""`fault` on a route that also sets retries or a timeout: Istio applies neither.

Rationale: with fault injection on, Istio does not apply the route's retry and timeout
policy; the config says something the mesh does not do, and tests pass for the wrong
reason.

Fix: remove the fault (see MA307), or test retries and timeouts on a route without one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory

ID = "MA407"
NAME = "retries-with-fault"
SEVERITY = "low"

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}
    route:
    - destination: {host: reviews}
    retries: {attempts: 2, perTryTimeout: 1s}
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}
    route:
    - destination: {host: reviews}
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, route, p in inventory.http_routes(vs):
            ignored = [k for k in ("retries", "timeout") if route.get(k)]
            if route.get("fault") and ignored:
                yield Problem(
                    vs,
                    f"{vs.key} route {i} injects faults, so its "
                    f"{' and '.join(ignored)} are not applied",
                    f"spec.http[{i}].fault",
                    p.evidence(),
                )
