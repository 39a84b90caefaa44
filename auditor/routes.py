"""Walking a VirtualService: every destination (routes and mirrors) with a stable locator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PROTOCOLS = ("http", "tcp", "tls")


@dataclass(frozen=True)
class Destination:
    host: str
    subset: str | None
    port: int | None
    locator: str
    mirror: bool = False
    weight: int | None = None


def _destination(dest: Any, locator: str, mirror: bool, weight: Any = None) -> Destination:
    dest = dest if isinstance(dest, dict) else {}
    port = (dest.get("port") or {}).get("number")
    return Destination(
        host=str(dest.get("host") or ""),
        subset=dest.get("subset") or None,
        port=port if isinstance(port, int) else None,
        locator=locator,
        mirror=mirror,
        weight=weight if isinstance(weight, int) else None,
    )


def http_routes(spec: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, route in enumerate(spec.get("http") or []):
        if isinstance(route, dict):
            yield i, route


def destinations(spec: dict[str, Any]) -> Iterator[Destination]:
    """Route destinations of http/tcp/tls rules, then http mirrors, in document order."""
    for proto in PROTOCOLS:
        for i, rule in enumerate(spec.get(proto) or []):
            if not isinstance(rule, dict):
                continue
            for j, rd in enumerate(rule.get("route") or []):
                rd = rd if isinstance(rd, dict) else {}
                locator = f"spec.{proto}[{i}].route[{j}].destination"
                yield _destination(rd.get("destination"), locator, False, rd.get("weight"))
            if proto != "http":
                continue
            if rule.get("mirror"):
                yield _destination(rule["mirror"], f"spec.http[{i}].mirror", True)
            for k, m in enumerate(rule.get("mirrors") or []):
                dest = m.get("destination") if isinstance(m, dict) else None
                yield _destination(dest, f"spec.http[{i}].mirrors[{k}].destination", True)


def mesh_bound(spec: dict[str, Any]) -> bool:
    """Applies to sidecars: no gateways, or the reserved `mesh` gateway among them."""
    gateways = spec.get("gateways") or []
    return not gateways or "mesh" in gateways
