"""MA308 unreferenced-destinationrule: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import SVC, assert_examples, run_rule

RULE = "MA308"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA308 unreferenced-destinationrule: no route, no service; the twin has a Service.
    (
        SVC
        + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: orphan, namespace: default}
spec: {host: deleted-service}
""",
        {},
        {("MA308", "DestinationRule", "default/orphan", "spec.host")},
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
