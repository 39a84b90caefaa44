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


def mapping(value: Any) -> dict[str, Any]:
    """The value when it is a mapping, else an empty one: rules never trust a type."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """The value when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def _integer(value: Any) -> int | None:
    return value if type(value) is int else None


def _destination(dest: Any, locator: str, mirror: bool, weight: Any = None) -> Destination:
    dest = mapping(dest)
    subset = dest.get("subset")
    return Destination(
        host=str(dest.get("host") or ""),
        subset=subset if isinstance(subset, str) and subset else None,
        port=_integer(mapping(dest.get("port")).get("number")),
        locator=locator,
        mirror=mirror,
        weight=_integer(weight),
    )


def http_routes(spec: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, route in enumerate(items(spec.get("http"))):
        if isinstance(route, dict):
            yield i, route


def destinations(spec: dict[str, Any]) -> Iterator[Destination]:
    """Route destinations of http/tcp/tls rules, then http mirrors, in document order."""
    for proto in PROTOCOLS:
        for i, rule in enumerate(items(spec.get(proto))):
            if not isinstance(rule, dict):
                continue
            for j, rd in enumerate(items(rule.get("route"))):
                rd = mapping(rd)
                locator = f"spec.{proto}[{i}].route[{j}].destination"
                yield _destination(rd.get("destination"), locator, False, rd.get("weight"))
            if proto != "http":
                continue
            if rule.get("mirror"):
                yield _destination(rule["mirror"], f"spec.http[{i}].mirror", True)
            for k, m in enumerate(items(rule.get("mirrors"))):
                dest = mapping(m).get("destination")
                yield _destination(dest, f"spec.http[{i}].mirrors[{k}].destination", True)


def mesh_bound(spec: dict[str, Any]) -> bool:
    """Applies to sidecars: no gateways, or the reserved `mesh` gateway among them."""
    gateways = items(spec.get("gateways"))
    return not gateways or "mesh" in gateways


def gateway_ref(ref: Any, namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of a `gateways` entry written in `namespace`: `<namespace>/<name>`,
    a short name, or the legacy `<name>.<namespace>`; None for `mesh` and non-strings."""
    if not isinstance(ref, str) or not ref or ref == "mesh":
        return None
    if "/" in ref:
        space, _, name = ref.partition("/")
        return space, name
    name, dot, space = ref.partition(".")
    return (space.partition(".")[0], name) if dot else (namespace, ref)
