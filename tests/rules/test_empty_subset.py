"""MA305 empty-subset: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import SVC, assert_examples, run_rule

RULE = "MA305"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA305 empty-subset: v3 selects no pod; v1 does.
    (
        SVC.replace(
            "  - {name: v1, labels: {version: v1}}",
            "  - {name: v1, labels: {version: v1}}\n  - {name: v3, labels: {version: v3}}",
        ),
        {},
        {("MA305", "DestinationRule", "default/reviews", "spec.subsets[1]")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
