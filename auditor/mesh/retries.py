"""Istio retry and timeout semantics, and the worst case they allow.

Facts (istio/api virtual_service.proto, destination_rule.proto; istio/istio retry.go,
cluster_traffic_policy.go): `attempts` counts retries, so a request makes at most
1 + attempts tries; a route without `retries` still retries 2 times on
connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes; no
`timeout` means no limit; `perTryTimeout` defaults to the route timeout. Envoy backs
off between tries: random up to (2^n - 1) x 25 ms, capped at 250 ms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from auditor.mesh.routes import items, mapping

DEFAULT_ATTEMPTS = 2
DEFAULT_RETRY_ON = (
    "connect-failure",
    "refused-stream",
    "unavailable",
    "cancelled",
    "retriable-status-codes",
)
UPSTREAM_ERRORS = frozenset(
    {"5xx", "gateway-error", "reset", "retriable-status-codes", "unavailable", "retriable-4xx"}
)
SAFE_FOR_NON_IDEMPOTENT = frozenset({"connect-failure", "refused-stream", "reset-before-request"})
BACKOFF_BASE, BACKOFF_MAX = 0.025, 0.25
# The retries whose back-off is below the cap: (2^n - 1) x 25 ms <= 250 ms for n <= 3.
_UNCAPPED: list[float] = [min((2**n - 1) * BACKOFF_BASE, BACKOFF_MAX) for n in range(1, 4)]
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def seconds(value: Any) -> float | None:
    """A Go/protobuf duration ("1.5s", "300ms", "1m30s") in seconds; None if unset or invalid."""
    if not isinstance(value, str) or not value:
        return None
    total, pos = 0.0, 0
    for match in _PART.finditer(value):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    return total if pos == len(value) and math.isfinite(total) else None


def upstream_conditions(retry_on: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in retry_on if c in UPSTREAM_ERRORS or c.isdigit())


@dataclass(frozen=True)
class RetryPlan:
    """What one HTTP route does on failure, with Istio's defaults applied."""

    explicit: bool
    attempts: int
    retry_on: tuple[str, ...]
    per_try_timeout: float | None
    timeout: float | None

    @property
    def max_tries(self) -> int:
        return 1 + self.attempts

    @property
    def per_try(self) -> float | None:
        return self.per_try_timeout if self.per_try_timeout is not None else self.timeout

    @property
    def backoff(self) -> float:
        """Sum of the capped back-offs, in closed form (attempts may be 2^31 - 1)."""
        capped = max(self.attempts - len(_UNCAPPED), 0)
        return sum(_UNCAPPED[: self.attempts]) + capped * BACKOFF_MAX

    @property
    def tries_time(self) -> float | None:
        """Time all tries could take, ignoring the route timeout; None when unbounded."""
        if self.per_try is None:
            return None
        return self.max_tries * self.per_try + self.backoff

    @property
    def worst_case(self) -> float | None:
        """Longest a request can take: the route timeout caps everything."""
        if self.timeout is not None:
            return self.timeout
        return self.tries_time

    def evidence(self) -> dict[str, Any]:
        worst = self.worst_case
        return {
            "retries": "explicit" if self.explicit else "istio default (no retries block)",
            "attempts": self.attempts,
            "max_tries": self.max_tries,
            "retry_on": ",".join(self.retry_on),
            "per_try_timeout_s": self.per_try_timeout,
            "timeout_s": self.timeout,
            "worst_case_s": round(worst, 3) if worst is not None else None,
            "worst_case": f"{worst:g}s" if worst is not None else "unbounded",
        }


def plan(route: dict[str, Any]) -> RetryPlan:
    timeout = seconds(route.get("timeout"))
    retries = route.get("retries")
    if not isinstance(retries, dict):
        return RetryPlan(False, DEFAULT_ATTEMPTS, DEFAULT_RETRY_ON, None, timeout)
    attempts = retries.get("attempts")
    retry_on = tuple(c.strip() for c in str(retries.get("retryOn") or "").split(",") if c.strip())
    return RetryPlan(
        explicit=True,
        attempts=attempts if type(attempts) is int and attempts > 0 else 0,
        retry_on=retry_on or DEFAULT_RETRY_ON,
        per_try_timeout=seconds(retries.get("perTryTimeout")),
        timeout=timeout,
    )


_BLOCKS = (
    "connectionPool",
    "loadBalancer",
    "outlierDetection",
    "tls",
    "retryBudget",
    "tunnel",
    "proxyProtocol",
)


def _port_level(policy: dict[str, Any], port: int | None) -> dict[str, Any]:
    for settings in items(policy.get("portLevelSettings")):
        settings = mapping(settings)
        if port is not None and mapping(settings.get("port")).get("number") == port:
            return {k: v for k, v in settings.items() if k in _BLOCKS}
    return {}


def effective_policy(
    dr_spec: dict[str, Any], subset: str | None, port: int | None
) -> dict[str, Any]:
    """A destination's traffic policy: subset and port-level blocks replace top-level ones."""
    top = mapping(dr_spec.get("trafficPolicy"))
    policy = {k: v for k, v in top.items() if k in _BLOCKS}
    policy.update(_port_level(top, port))
    for sub in items(dr_spec.get("subsets")):
        if isinstance(sub, dict) and sub.get("name") == subset:
            own = mapping(sub.get("trafficPolicy"))
            policy.update({k: v for k, v in own.items() if k in _BLOCKS})
            policy.update(_port_level(own, port))
    return policy


def retry_cap(policy: dict[str, Any]) -> dict[str, Any] | None:
    """What limits retries to the destination: a retry budget or maxRetries > 0 (0 = no cap)."""
    if policy.get("retryBudget"):
        return {"retryBudget": policy["retryBudget"]}
    max_retries = mapping(mapping(policy.get("connectionPool")).get("http")).get("maxRetries")
    if type(max_retries) is int and max_retries > 0:
        return {"maxRetries": max_retries}
    return None
