"""MA307 lingering-experiment: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, assert_examples, run_rule, vs

RULE = "MA307"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA307 lingering-experiment: old fault, old mirror, old experimental name; healthy twins.
    (
        vs(
            "bad-fault",
            "  hosts: [a]\n  http:\n  - fault: {abort: {httpStatus: 500, percentage: {value: 10}}}\n    route:\n    - destination: {host: reviews}\n",
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "bad-mirror",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror: {host: reviews}\n",
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "reviews-canary",
            ROUTE_TO.format("c", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "reviews-latest",
            ROUTE_TO.format("d", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "contest",
            ROUTE_TO.format("e", "reviews"),
            meta=", creationTimestamp: '2026-01-01T00:00:00Z'",
        )
        + vs(
            "new-canary",
            ROUTE_TO.format("f", "reviews"),
            meta=", creationTimestamp: '2026-11-20T00:00:00Z'",
        ),
        {},
        {
            ("MA307", "VirtualService", "default/bad-fault", ""),
            ("MA307", "VirtualService", "default/bad-mirror", ""),
            ("MA307", "VirtualService", "default/reviews-canary", ""),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
