"""MA405 missing-timeout: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, assert_examples, run_rule, vs

RULE = "MA405"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA405 missing-timeout; redirects need none.
    (
        vs("bad", "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n")
        + vs("good", ROUTE_TO.format("b", "reviews"))
        + vs("good-redirect", "  hosts: [c]\n  http:\n  - redirect: {uri: /new}\n"),
        {},
        {("MA405", "VirtualService", "default/bad", "spec.http[0]")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
