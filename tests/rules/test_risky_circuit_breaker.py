"""MA311 risky-circuit-breaker: its documented examples, its spec cases, then the real
circuit-breaking step of aws-samples/istio-on-eks (read from ../shared/real-world)."""

from __future__ import annotations

import pytest

from conftest import SHARED
from rule_runner import assert_examples, run_rule

RULE = "MA311"
AWS_DR = (
    SHARED
    / "real-world"
    / "aws-samples_istio-on-eks"
    / "modules"
    / "03-network-resiliency"
    / "timeouts-retries-circuitbreaking"
    / "circuitbreaking"
    / "catalogdetail-destinationrule.yaml"
)


def test_documented_examples() -> None:
    assert_examples(RULE)


DR = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {}, namespace: default}}\nspec:\n{}---\n"

CASES = [
    # Ejection above the limit at top level and in a subset's port-level policy; Istio's
    # default (unset) and 50% are fine.
    (
        DR.format(
            "eject-all",
            "  host: a\n  trafficPolicy: {outlierDetection: {maxEjectionPercent: 100}}\n",
        )
        + DR.format(
            "eject-port",
            "  host: b\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n"
            "      portLevelSettings:\n      - port: {number: 80}\n"
            "        outlierDetection: {maxEjectionPercent: 90}\n",
        )
        + DR.format(
            "eject-half",
            "  host: c\n  trafficPolicy: {outlierDetection: {maxEjectionPercent: 50}}\n",
        )
        + DR.format(
            "eject-default",
            "  host: d\n  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}\n",
        ),
        {},
        {
            (
                "MA311",
                "DestinationRule",
                "default/eject-all",
                "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
            ),
            (
                "MA311",
                "DestinationRule",
                "default/eject-port",
                "spec.subsets[0].trafficPolicy.portLevelSettings[0].outlierDetection.maxEjectionPercent",
            ),
        },
    ),
    # A pool of one; 0 means Istio's default (no limit); a raised minimum catches more.
    (
        DR.format(
            "pool-one",
            "  host: a\n  trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: 1}}}\n",
        )
        + DR.format(
            "pool-zero",
            "  host: b\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 0}}}\n",
        )
        + DR.format(
            "pool-five",
            "  host: c\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}\n",
        ),
        {"min-pool": 10},
        {
            ("MA311", "DestinationRule", "default/pool-one", "spec.trafficPolicy.connectionPool"),
            ("MA311", "DestinationRule", "default/pool-five", "spec.trafficPolicy.connectionPool"),
        },
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_case(text: str, options: dict, expected: set) -> None:
    assert run_rule(RULE, text, **options) == expected


@pytest.mark.skipif(not AWS_DR.exists(), reason="../shared/real-world is not present")
def test_the_workshops_circuit_breaker_is_risky_outside_the_workshop() -> None:
    found = run_rule(RULE, AWS_DR.read_text())
    assert found == {
        (
            "MA311",
            "DestinationRule",
            "workshop/catalogdetail",
            "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
        ),
        ("MA311", "DestinationRule", "workshop/catalogdetail", "spec.trafficPolicy.connectionPool"),
    }
