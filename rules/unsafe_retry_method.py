"""A POST/PATCH-only route retries on conditions where the request may have run.

A route whose every match is limited to POST or PATCH may only retry on
`connect-failure`, `refused-stream` or `reset-before-request` (the request never
reached the upstream). Routes without a `retries` block count too: Istio's default
retries on `unavailable`, `cancelled` and `retriable-status-codes` (503).

Rationale: retrying a non-idempotent request after the upstream saw it can charge,
order or write twice.

Fix: set `retryOn: connect-failure,refused-stream,reset-before-request` on the route,
or `attempts: 0`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.retries import SAFE_FOR_NON_IDEMPOTENT
from auditor.mesh.routes import items, mapping
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory

ID = "MA406"
NAME = "unsafe-retry-method"
SEVERITY = "high"
_UNSAFE_METHODS = {"POST", "PATCH"}

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{method: {exact: POST}}]
    route:
    - destination: {host: reviews}
    retries: {attempts: 2, retryOn: 5xx}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{method: {exact: POST}}]
    route:
    - destination: {host: reviews}
    retries: {attempts: 2, retryOn: 'connect-failure,refused-stream'}
    timeout: 5s
"""


def _methods(match: dict[str, Any]) -> set[str] | None:
    """The methods a match entry allows; None when it does not restrict them."""
    method = mapping(match.get("method"))
    if "exact" in method:
        return {str(method["exact"]).upper()}
    if "regex" in method:
        words = str(method["regex"]).strip("^$()").upper().split("|")
        return set(words) if all(w.isalpha() for w in words) else None
    return None


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, route, p in inventory.http_routes(vs):
            matches = [m for m in items(route.get("match")) if isinstance(m, dict)]
            allowed = [_methods(m) for m in matches]
            if not matches or any(a is None or not a <= _UNSAFE_METHODS for a in allowed):
                continue
            unsafe = [c for c in p.retry_on if c not in SAFE_FOR_NON_IDEMPOTENT]
            if p.attempts > 0 and unsafe:
                yield Problem(
                    vs,
                    f"{vs.key} route {i} only serves {'/'.join(sorted(set().union(*allowed)))} "  # type: ignore[arg-type]
                    f"but retries on {','.join(unsafe)}",
                    f"spec.http[{i}].retries" if p.explicit else f"spec.http[{i}]",
                    {**p.evidence(), "unsafe_conditions": unsafe},
                )
