"""MA309 duplicate-host: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, SVC, assert_examples, run_rule, vs

RULE = "MA309"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA309 duplicate-host: two DRs for reviews, two mesh VSs for host a; gateway-bound, and exportTo "." in two namespaces, are silent.
    (
        SVC
        + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-copy, namespace: default}
spec: {host: reviews.default.svc.cluster.local}
"""
        + vs("first", ROUTE_TO.format("a", "reviews"))
        + vs("second", ROUTE_TO.format("a.default.svc.cluster.local", "reviews"))
        + vs(
            "ingress",
            "  hosts: [a]\n  gateways: [gw]\n  http:\n  - route:\n    - destination: {host: reviews}\n",
        )
        + vs(
            "private",
            "  hosts: [b.default.svc.cluster.local]\n  exportTo: ['.']\n  http:\n  - route:\n    - destination: {host: reviews}\n",
            namespace="one",
        )
        + vs(
            "private",
            "  hosts: [b.default.svc.cluster.local]\n  exportTo: ['.']\n  http:\n  - route:\n    - destination: {host: reviews}\n",
            namespace="two",
        ),
        {},
        {
            ("MA309", "DestinationRule", "default/reviews", "spec.host"),
            ("MA309", "DestinationRule", "default/reviews-copy", "spec.host"),
            ("MA309", "VirtualService", "default/first", "spec.hosts"),
            ("MA309", "VirtualService", "default/second", "spec.hosts"),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
