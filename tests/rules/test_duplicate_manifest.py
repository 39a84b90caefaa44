"""MA104 duplicate-manifest: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from auditor.model import Severity
from rule_runner import BY_ID, assert_examples, example_findings

RULE = "MA104"


def test_documented_examples() -> None:
    assert_examples(RULE)


def _copy(text: str) -> str:
    """The good example declared a second time, in another file."""
    return text + "\n---\n" + text.replace("mesh/reviews.yaml", "mesh/reviews-copy.yaml")


@pytest.mark.parametrize(
    ("text", "options", "severity", "identical"),
    [
        # Copies that differ: which one the cluster gets depends on apply order.
        (BY_ID[RULE].example_bad, {}, Severity.HIGH, False),
        # The same object twice: harmless today, a copy waiting to drift.
        (_copy(BY_ID[RULE].example_good), {}, Severity.LOW, True),
        # A severity in the config wins over the rule's own grading.
        (_copy(BY_ID[RULE].example_good), {"severity": "medium"}, Severity.MEDIUM, True),
    ],
)
def test_identical_copies_are_graded_low(
    text: str, options: dict, severity: Severity, identical: bool
) -> None:
    (finding,) = example_findings(RULE, text, **options)
    assert finding.severity == severity
    assert finding.evidence["identical"] is identical
    assert ("identical copies" in finding.message) is identical
