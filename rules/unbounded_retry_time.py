"""Retries with neither `perTryTimeout` nor a route `timeout`: no time limit at all.

Only explicit `retries` blocks are checked: a route without one uses Istio's default
policy, and its missing timeout is MA405's finding.

Rationale: each try may hang for as long as the upstream holds the connection; the
caller's threads and connections pile up behind it.

Fix: set a route `timeout` (and a `perTryTimeout` shorter than it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory

ID = "MA402"
NAME = "unbounded-retry-time"
SEVERITY = "high"

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 2}
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
    retries: {attempts: 2, perTryTimeout: 2s}
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, _, p in inventory.http_routes(vs):
            if p.explicit and p.attempts > 0 and p.per_try is None:
                yield Problem(
                    vs,
                    f"{vs.key} route {i} retries {p.attempts} times with no perTryTimeout and "
                    "no timeout: worst case unbounded",
                    f"spec.http[{i}].retries",
                    p.evidence(),
                )
