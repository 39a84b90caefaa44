"""MA301 expired: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, assert_examples, run_rule, vs

RULE = "MA301"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA301 expired: past date, elapsed TTL, janitor's annotation, unreadable value; healthy: future date.
    (
        vs(
            "bad-date",
            ROUTE_TO.format("a", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: '2026-01-31'}",
        )
        + vs(
            "bad-ttl",
            ROUTE_TO.format("b", "reviews"),
            meta=", creationTimestamp: '2026-10-01T00:00:00Z', annotations: {mesh-audit.io/ttl: 30d}",
        )
        + vs(
            "bad-janitor",
            ROUTE_TO.format("c", "reviews"),
            meta=", annotations: {janitor/expires: '2026-11-01T10:00:00Z'}",
        )
        + vs(
            "bad-value",
            ROUTE_TO.format("d", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: soon}",
        )
        + vs(
            "good-date",
            ROUTE_TO.format("e", "reviews"),
            meta=", annotations: {mesh-audit.io/expires: '2027-01-31'}",
        )
        + vs(
            "good-ttl",
            ROUTE_TO.format("f", "reviews"),
            meta=", creationTimestamp: '2026-11-20T00:00:00Z', annotations: {janitor/ttl: 2w}",
        ),
        {},
        {
            (
                "MA301",
                "VirtualService",
                "default/bad-date",
                'metadata.annotations["mesh-audit.io/expires"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-ttl",
                'metadata.annotations["mesh-audit.io/ttl"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-janitor",
                'metadata.annotations["janitor/expires"]',
            ),
            (
                "MA301",
                "VirtualService",
                "default/bad-value",
                'metadata.annotations["mesh-audit.io/expires"]',
            ),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
