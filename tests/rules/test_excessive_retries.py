"""MA401 excessive-retries: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA401"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA401 excessive-retries: 5 > 3; 3 is fine; the threshold is an option.
    (
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 5, perTryTimeout: 1s}\n    timeout: 10s\n",
        )
        + vs(
            "good",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 1s}\n    timeout: 10s\n",
        ),
        {},
        {("MA401", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
    (
        vs(
            "bad",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 1s}\n    timeout: 10s\n",
        ),
        {"max-attempts": 2},
        {("MA401", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
