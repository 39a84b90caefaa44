"""`perTryTimeout` >= the route `timeout`, or the tries cannot fit in the timeout.

Worst case time of the tries: (1 + attempts) x perTryTimeout plus Envoy's back-off
(up to (2^n - 1) x 25 ms before retry n, capped at 250 ms). When that exceeds the
route timeout, the later retries can never run.

Rationale: a retry policy that cannot run gives false confidence, and a per-try timeout
as long as the route timeout means a slow first try uses the whole budget.

Fix: make perTryTimeout x (1 + attempts) fit inside the route timeout, or lower attempts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory

ID = "MA404"
NAME = "retry-timeout-mismatch"
SEVERITY = "medium"

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 3, perTryTimeout: 2s}
    timeout: 5s
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
    retries: {attempts: 2, perTryTimeout: 1s}
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, _, p in inventory.http_routes(vs):
            if (
                not (p.explicit and p.attempts > 0)
                or p.timeout is None
                or p.per_try_timeout is None
            ):
                continue
            if p.per_try_timeout >= p.timeout:
                why = (
                    f"perTryTimeout {p.per_try_timeout:g}s >= timeout {p.timeout:g}s: "
                    "no retry can run"
                )
            elif (p.tries_time or 0) > p.timeout:
                fit = int(p.timeout // p.per_try_timeout) if p.per_try_timeout else p.max_tries
                why = (
                    f"{p.max_tries} tries x {p.per_try_timeout:g}s + back-off = "
                    f"{p.tries_time:.3g}s exceeds timeout {p.timeout:g}s: at most {fit} tries fit"
                )
            else:
                continue
            evidence = {**p.evidence(), "tries_time_s": round(p.tries_time or 0, 3)}
            yield Problem(vs, f"{vs.key} route {i}: {why}", f"spec.http[{i}].retries", evidence)
