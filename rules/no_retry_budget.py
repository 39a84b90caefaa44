"""A route retries on upstream errors but its destination caps retries nowhere.

Upstream-error conditions: `5xx`, `gateway-error`, `reset`, `retriable-status-codes` or
numeric codes, `unavailable`, `retriable-4xx`. The cap is the destination's effective
traffic policy (subset and port-level blocks replace top-level ones): a
`trafficPolicy.retryBudget` (Istio 1.27+) or `connectionPool.http.maxRetries` > 0
(its default, 2^32-1, and 0 both mean no cap). Only explicit `retries` blocks count.

Rationale: when the upstream fails, every caller retries at once; without a budget
the retries add load exactly when the service can least take it.

Fix: add `retryBudget` (e.g. percent: 20) or `connectionPool.http.maxRetries` to the
destination's DestinationRule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import fqdn
from auditor.mesh.retries import effective_policy, retry_cap, upstream_conditions
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA403"
NAME = "no-retry-budget"
SEVERITY = "medium"
NEEDS = Needs(kinds=("DestinationRule",))

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy: {connectionPool: {http: {maxRetries: 5}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, _, p in inventory.http_routes(vs):
            conditions = upstream_conditions(p.retry_on)
            if not (p.explicit and p.attempts > 0 and conditions):
                continue
            uncapped = []
            for d in inventory.destinations(vs):
                if d.mirror or not d.locator.startswith(f"spec.http[{i}]."):
                    continue
                rules = inventory.destination_rules(fqdn(d.host, vs.key.namespace), vs)
                policy = effective_policy(rules[0].spec, d.subset, d.port) if rules else {}
                if retry_cap(policy) is None:
                    uncapped.append(d.host + (f" subset {d.subset}" if d.subset else ""))
            if uncapped:
                yield Problem(
                    vs,
                    f"{vs.key} route {i} retries on {','.join(conditions)} but "
                    f"{', '.join(uncapped)} {'have' if len(uncapped) > 1 else 'has'} "
                    "no retryBudget or maxRetries",
                    f"spec.http[{i}].retries",
                    {**p.evidence(), "uncapped_destinations": uncapped},
                )
