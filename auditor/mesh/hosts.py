"""Host resolution as Istio does it: short names, FQDNs, wildcards and exportTo.

A short name `reviews` used in namespace `ns` means `reviews.ns.svc.cluster.local`.
A host resolves to a Service (`name.ns.svc.cluster.local`) or a ServiceEntry host,
wildcards included, that is exported to the namespace looking it up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from auditor.mesh.routes import items, mapping

DOMAIN = "svc.cluster.local"
EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"


def fqdn(host: str, namespace: str) -> str:
    """Qualify a short name with the namespace of the resource that uses it."""
    if not host or "." in host or host.startswith("*"):
        return host
    return f"{host}.{namespace}.{DOMAIN}"


def rule_host(spec: dict[str, Any], namespace: str) -> tuple[str, str]:
    """A DestinationRule's host as written, and qualified with its namespace."""
    raw = spec.get("host")
    raw = raw if isinstance(raw, str) else ""
    return raw, fqdn(raw, namespace)


def host_matches(a: str, b: str) -> bool:
    """True when two hosts, either possibly a wildcard (`*.example.com`, `*`), overlap."""
    if a == b or a == "*" or b == "*":
        return True
    if a.startswith("*") and b.startswith("*"):
        return a[1:].endswith(b[1:]) or b[1:].endswith(a[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return False


def export_to(obj: dict[str, Any]) -> tuple[str, ...]:
    """exportTo of a Service (annotation) or an Istio resource (spec); default everywhere."""
    if obj.get("kind") == "Service":
        raw = mapping(mapping(obj.get("metadata")).get("annotations")).get(EXPORT_TO_ANNOTATION)
        values = [v.strip() for v in raw.split(",")] if isinstance(raw, str) else []
    else:
        values = [str(v) for v in items(mapping(obj.get("spec")).get("exportTo"))]
    return tuple(v for v in values if v) or ("*",)


def visible(owner_namespace: str, exported: Iterable[str], from_namespace: str) -> bool:
    exported = tuple(exported)
    if "~" in exported:
        return False
    return (
        "*" in exported
        or from_namespace in exported
        or ("." in exported and from_namespace == owner_namespace)
    )


def lookup_namespaces(obj: dict[str, Any]) -> tuple[str, ...]:
    """Where a VirtualService applies: its exportTo namespaces ("." and "*" mean its own)."""
    own = obj["metadata"].get("namespace", "")
    spaces = {own if v in (".", "*") else v for v in export_to(obj) if v != "~"}
    return tuple(sorted(spaces)) or (own,)


T = TypeVar("T")


class ByHost(Generic[T]):
    """Values keyed by host: exact lookups, plus a scan of the (few) wildcard hosts."""

    def __init__(self) -> None:
        self._exact: dict[str, list[T]] = {}
        self._wild: list[tuple[str, T]] = []

    def add(self, host: str, value: T) -> None:
        if host.startswith("*"):
            self._wild.append((host, value))
        else:
            self._exact.setdefault(host, []).append(value)

    def get(self, host: str) -> list[T]:
        if host.startswith("*"):
            pairs = [(h, v) for h, vs in self._exact.items() for v in vs] + self._wild
            return [v for h, v in pairs if host_matches(host, h)]
        exact = self._exact.get(host, [])
        if not self._wild:
            return exact
        return exact + [v for h, v in self._wild if host_matches(host, h)]


@dataclass(frozen=True)
class HostTarget:
    """A Service or ServiceEntry host that destinations can resolve to."""

    host: str
    kind: str
    namespace: str
    name: str
    exported: tuple[str, ...]
    ports: tuple[int, ...]
    selector: tuple[tuple[str, str], ...] = ()

    def visible_from(self, namespace: str) -> bool:
        return visible(self.namespace, self.exported, namespace)


def _ports(obj: dict[str, Any]) -> tuple[int, ...]:
    field = "number" if obj["kind"] == "ServiceEntry" else "port"
    ports = items(mapping(obj.get("spec")).get("ports"))
    return tuple(p[field] for p in ports if isinstance(p, dict) and type(p.get(field)) is int)


def service_targets(services: Iterable[dict[str, Any]]) -> list[HostTarget]:
    """Each Service as the host `name.namespace.svc.cluster.local`."""
    targets = []
    for svc in services:
        meta = svc["metadata"]
        selector = {
            str(k): str(v) for k, v in mapping(mapping(svc.get("spec")).get("selector")).items()
        }
        targets.append(
            HostTarget(
                f"{meta['name']}.{meta.get('namespace', '')}.{DOMAIN}",
                "Service",
                meta.get("namespace", ""),
                meta["name"],
                export_to(svc),
                _ports(svc),
                tuple(sorted(selector.items())),
            )
        )
    return targets


def entry_targets(entries: Iterable[dict[str, Any]]) -> list[HostTarget]:
    """Each host of each ServiceEntry."""
    return [
        HostTarget(
            str(host),
            "ServiceEntry",
            entry["metadata"].get("namespace", ""),
            entry["metadata"]["name"],
            export_to(entry),
            _ports(entry),
        )
        for entry in entries
        for host in items(mapping(entry.get("spec")).get("hosts"))
    ]


class HostIndex:
    """Services and ServiceEntries by host, for exact and wildcard lookups."""

    def __init__(self, targets: Iterable[HostTarget]) -> None:
        self._targets: ByHost[HostTarget] = ByHost()
        self._resolved: dict[tuple[str, tuple[str, ...]], list[HostTarget]] = {}
        for target in targets:
            self._targets.add(target.host, target)

    def resolve(self, host: str, from_namespaces: tuple[str, ...]) -> list[HostTarget]:
        """Targets for an already-qualified host, visible from every given namespace.

        Several rules resolve the same hosts, so answers are kept for the scan."""
        found = self._resolved.get((host, from_namespaces))
        if found is None:
            found = [
                t
                for t in (self._targets.get(host) if host else ())
                if all(t.visible_from(ns) for ns in from_namespaces)
            ]
            self._resolved[(host, from_namespaces)] = found
        return found
