"""MA304 unused-subset: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import SVC, assert_examples, run_rule, vs

RULE = "MA304"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA304 unused-subset: v2 is defined but only v1 is routed.
    (
        SVC.replace(
            "  - {name: v1, labels: {version: v1}}",
            "  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}",
        )
        + vs(
            "routes",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n",
        ),
        {},
        {("MA304", "DestinationRule", "default/reviews", "spec.subsets[1]")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
