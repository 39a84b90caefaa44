"""Circuit breaking that can take a whole service out: every endpoint ejectable, or a pool of one.

Judges each traffic policy of a DestinationRule (top level, `portLevelSettings`, subsets):
`outlierDetection.maxEjectionPercent` above `max-ejection-percent` (Istio's default is
10), and a `connectionPool` limit (`tcp.maxConnections`, `http.http1MaxPendingRequests`,
`http.http2MaxRequests`) below `min-pool` (0 or unset means Istio's default, no limit).

Rationale: with every endpoint ejectable, one bad spell (a deploy, a slow dependency)
ejects them all and the service answers 503 until `baseEjectionTime` runs out; a pool
of one connection or one pending request turns the second concurrent caller into a 503.
Both are workshop settings that show circuit breaking trip, not production limits.

Fix: keep `maxEjectionPercent` well below 100 (e.g. 50) and size the pool from the
service's real concurrency.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.routes import items, mapping
from auditor.model import Problem, Resource
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Option

ID = "MA311"
NAME = "risky-circuit-breaker"
SEVERITY = "medium"
OPTIONS = {
    "max-ejection-percent": Option(
        int, 50, "share of endpoints outlier detection may eject", minimum=0, maximum=100
    ),
    "min-pool": Option(int, 2, "smallest connection-pool limit allowed", minimum=1),
}

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, maxEjectionPercent: 100}
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, maxEjectionPercent: 50}
"""

_POOL = (
    ("tcp", "maxConnections"),
    ("http", "http1MaxPendingRequests"),
    ("http", "http2MaxRequests"),
)


def _policies(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every traffic policy block with its locator."""
    blocks = [("spec.trafficPolicy", mapping(spec.get("trafficPolicy")))]
    for i, sub in enumerate(items(spec.get("subsets"))):
        blocks.append(
            (f"spec.subsets[{i}].trafficPolicy", mapping(mapping(sub).get("trafficPolicy")))
        )
    for at, policy in blocks:
        yield at, policy
        for j, port in enumerate(items(policy.get("portLevelSettings"))):
            yield f"{at}.portLevelSettings[{j}]", mapping(port)


def _judge(
    dr: Resource, at: str, policy: dict[str, Any], options: Mapping[str, Any]
) -> Iterator[Problem]:
    ejection = mapping(policy.get("outlierDetection")).get("maxEjectionPercent")
    if type(ejection) is int and ejection > options["max-ejection-percent"]:
        yield Problem(
            dr,
            f"{dr.key} lets outlier detection eject {ejection}% of endpoints "
            f"(at {at}): a bad spell can take every endpoint out at once",
            f"{at}.outlierDetection.maxEjectionPercent",
            {"maxEjectionPercent": ejection, "allowed": options["max-ejection-percent"]},
        )
    pool = mapping(policy.get("connectionPool"))
    small = {
        f"{proto}.{name}": value
        for proto, name in _POOL
        if type(value := mapping(pool.get(proto)).get(name)) is int
        and 0 < value < options["min-pool"]
    }
    if small:
        limits = ", ".join(f"{name} {value}" for name, value in small.items())
        yield Problem(
            dr,
            f"{dr.key} caps its connection pool at {limits} (at {at}): "
            "concurrent callers beyond it get 503",
            f"{at}.connectionPool",
            {"limits": small, "minimum": options["min-pool"]},
        )


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for dr in inventory.of_kind("DestinationRule"):
        for at, policy in _policies(dr.spec):
            yield from _judge(dr, at, policy, options)
