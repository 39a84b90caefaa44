"""MA403 no-retry-budget: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA403"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA403 no-retry-budget: 5xx retries to a DR without cap; subset policy with maxRetries caps; connect-failure only is fine.
    (
        """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {connectionPool: {http: {maxRetries: 0}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {connectionPool: {http: {maxRetries: 5}}}
"""
        + vs(
            "bad",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}\n    timeout: 5s\n",
        )
        + vs(
            "good-capped",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v2}\n    retries: {attempts: 2, retryOn: 5xx, perTryTimeout: 1s}\n    timeout: 5s\n",
        )
        + vs(
            "good-connect",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n    retries: {attempts: 2, retryOn: connect-failure, perTryTimeout: 1s}\n    timeout: 5s\n",
        ),
        {},
        {("MA403", "VirtualService", "default/bad", "spec.http[0].retries")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
