"""MA103 spec-drift: its documented examples, then its spec cases."""

from __future__ import annotations

from rule_runner import assert_examples

RULE = "MA103"


def test_documented_examples() -> None:
    assert_examples(RULE)
