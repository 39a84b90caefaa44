"""MA406 unsafe-retry-method: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA406"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA406 unsafe-retry-method: POST with 5xx retries, POST on Istio's default retries; safe conditions and GET are fine.
    (
        vs(
            "bad-explicit",
            "  hosts: [a]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 5s\n",
        )
        + vs(
            "bad-default",
            "  hosts: [b]\n  http:\n  - match: [{method: {exact: PATCH}}, {method: {regex: 'POST|PATCH'}}]\n    route:\n    - destination: {host: reviews}\n    timeout: 5s\n",
        )
        + vs(
            "good-safe",
            "  hosts: [c]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 'connect-failure,refused-stream'}\n    timeout: 5s\n",
        )
        + vs(
            "good-get",
            "  hosts: [d]\n  http:\n  - match: [{method: {exact: GET}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, retryOn: 5xx}\n    timeout: 5s\n",
        )
        + vs(
            "good-off",
            "  hosts: [e]\n  http:\n  - match: [{method: {exact: POST}}]\n    route:\n    - destination: {host: reviews}\n    retries: {attempts: 0}\n    timeout: 5s\n",
        ),
        {},
        {
            ("MA406", "VirtualService", "default/bad-explicit", "spec.http[0].retries"),
            ("MA406", "VirtualService", "default/bad-default", "spec.http[0]"),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
