"""An HTTP route with no `timeout`: Istio sets no limit.

A VirtualService a controller generates is judged only when its generator's spec sets the
timeout (a Flagger Canary's `service.timeout`; the finding points at the Canary). Other
generators' routes are skipped: Knative's net-istio leaves the timeout unset on purpose
(Knative enforces `timeoutSeconds` itself) and a hand edit would be overwritten.

Rationale: without a deadline a slow upstream holds the caller's connections and
threads; timeouts are what make retries and failover meaningful.

Fix: set `timeout` on the route to what the callers can afford to wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory

ID = "MA405"
NAME = "missing-timeout"
SEVERITY = "low"

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        managed = inventory.managed.get(vs.key)
        if managed is not None and managed.generated and not managed.timeouts_settable:
            continue
        for i, route, p in inventory.http_routes(vs):
            if p.timeout is None and not route.get("redirect") and not route.get("directResponse"):
                yield Problem(
                    vs, f"{vs.key} route {i} has no timeout", f"spec.http[{i}]", p.evidence()
                )
