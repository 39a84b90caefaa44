"""MA404 retry-timeout-mismatch: its documented examples, then its spec cases."""

from __future__ import annotations

import pytest

from rule_runner import assert_examples, run_rule, vs

RULE = "MA404"


def test_documented_examples() -> None:
    assert_examples(RULE)


CASES = [
    # MA404 retry-timeout-mismatch: perTry >= timeout; 4 x 2s > 5s; 3 x 1s fits in 5s.
    (
        vs(
            "bad-per-try",
            "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 5s}\n    timeout: 5s\n",
        )
        + vs(
            "bad-sum",
            "  hosts: [b]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 3, perTryTimeout: 2s}\n    timeout: 5s\n",
        )
        + vs(
            "good",
            "  hosts: [c]\n  http:\n  - route:\n    - destination: {host: reviews}\n    retries: {attempts: 2, perTryTimeout: 1s}\n    timeout: 5s\n",
        ),
        {},
        {
            ("MA404", "VirtualService", "default/bad-per-try", "spec.http[0].retries"),
            ("MA404", "VirtualService", "default/bad-sum", "spec.http[0].retries"),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected


def test_retry_evidence_gives_worst_case_and_max_tries() -> None:
    from auditor.mesh.retries import plan

    p = plan({"retries": {"attempts": 3, "perTryTimeout": "2s"}})
    ev = p.evidence()
    assert (ev["max_tries"], ev["worst_case_s"]) == (4, 8.275)  # 4 x 2s + 25+75+175 ms back-off
    default = plan({"timeout": "1.5s"}).evidence()
    assert (default["max_tries"], default["worst_case"], default["retries"]) == (
        3,
        "1.5s",
        "istio default (no retries block)",
    )
    assert plan({}).evidence()["worst_case"] == "unbounded"
