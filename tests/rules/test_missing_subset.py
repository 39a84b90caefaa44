"""MA303 missing-subset: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import ROUTE_TO, SVC, assert_examples, run_rule, vs

RULE = "MA303"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA303 missing-subset; healthy: defined subset, no subset.
    (
        SVC
        + vs(
            "bad-subset",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v9}\n",
        )
        + vs(
            "bad-mirror",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    mirror: {host: reviews, subset: v2}\n",
        )
        + vs(
            "good-subset",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews.default.svc.cluster.local, subset: v1}\n",
        )
        + vs("good-plain", ROUTE_TO.format("d", "reviews")),
        {},
        {
            ("MA303", "VirtualService", "default/bad-subset", "spec.http[0].route[0].destination"),
            ("MA303", "VirtualService", "default/bad-mirror", "spec.http[0].mirror"),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected
