"""MA402 unbounded-retry-time: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA402"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA402 unbounded-retry-time: retries without any timeout; twins with perTryTimeout or timeout.
    (
        vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2}\n",
        )
        + vs(
            "good-per-try",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 2s}\n",
        )
        + vs(
            "good-timeout",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2}\n    timeout: 3s\n",
        )
        + vs(
            "good-default",
            "  hosts: [d]\n  http:\n  - route:\n    - destination: {host: reviews}\n",
        ),
        {},
        {("MA402", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
