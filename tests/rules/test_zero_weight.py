"""MA306 zero-weight: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA306"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA306 zero-weight on a live-only resource: dated by managedFields; the recent twin is silent.
    (
        vs(
            "bad-zero",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 100\n    - destination: {host: reviews, subset: v2}\n      weight: 0\n",
            meta=", managedFields: [{manager: kubectl, time: '2026-09-01T00:00:00Z'}]",
        )
        + vs(
            "good-recent",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 100\n    - destination: {host: reviews, subset: v2}\n",
            meta=", managedFields: [{manager: kubectl, time: '2026-11-20T00:00:00Z'}]",
        )
        + vs(
            "good-split",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 90\n    - destination: {host: reviews, subset: v2}\n      weight: 10\n",
            meta=", creationTimestamp: '2025-01-01T00:00:00Z'",
        ),
        {},
        {("MA306", "VirtualService", "default/bad-zero", "spec.http[0].route[1]")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
