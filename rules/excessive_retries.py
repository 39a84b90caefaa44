"""A route retries more than `max-attempts` times.

`attempts` counts retries: a request makes up to 1 + attempts tries, and retries at
every layer multiply (3 layers x 3 retries = 4^3 = 64 tries at the deepest service;
Google SRE book, "Addressing Cascading Failures").

Rationale: large retry counts turn a brief failure into a retry storm that keeps the
failing service down.

Fix: retry at one layer only, with attempts <= max-attempts, and add a retry budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Option

ID = "MA401"
NAME = "excessive-retries"
SEVERITY = "high"
OPTIONS = {
    "max-attempts": Option(int, 3, "retries a route may make", minimum=0),
}

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 5, perTryTimeout: 1s}
    timeout: 10s
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
    retries: {attempts: 3, perTryTimeout: 1s}
    timeout: 10s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        for i, _, p in inventory.http_routes(vs):
            if p.explicit and p.attempts > options["max-attempts"]:
                yield Problem(
                    vs,
                    f"{vs.key} route {i} retries {p.attempts} times "
                    f"(max {options['max-attempts']}): up to {p.max_tries} tries per request",
                    f"spec.http[{i}].retries",
                    p.evidence(),
                )
