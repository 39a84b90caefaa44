"""MA407 retries-with-fault: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA407"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA407 retries-with-fault.
    (
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 1s}\n",
        )
        + vs(
            "good",
            "  hosts: [b]\n  http:\n  - fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n",
        ),
        {},
        {("MA407", "VirtualService", "default/bad", "spec.http[0].fault")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
