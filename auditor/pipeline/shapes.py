"""The shape of every field the rules and the inventory read, checked before they read it.

A document whose fields have the wrong type (a `spec` that is a string, `http` that is a
mapping, labels that are a list, `attempts: "3"`) would make a rule guess or fail. Such a
document is not judged: `screen` takes it out of what the rules see and returns one
problem per field, with the object and the field path, which makes the scan partial.
Only fields that something reads are checked; anything else may hold any value, as the
API server's schema allows. A bad Service or Pod (context for host resolution and subset
selection) makes its whole kind unread, so no rule mistakes a missing selector or label
for an empty one; a bad Namespace only loses its owner labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.kinds import AUDITED_KINDS, BY_NAME
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot

INT32_MAX = 2**31 - 1
MAX_REASONS = 20
# Context kinds whose damage would mislead the rules: unread as a whole when one is bad.
_UNREAD_WHEN_BAD = ("Service", "Pod")


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _only_str(values: Any) -> bool:
    return set(map(type, values)) <= _STR


_STR = {str}


class Check:
    """The shape of one field. `ok` is the fast path every object takes (a scan checks
    ~10^5 of them); `problems` explains a failure, with field paths. `None` (an absent or
    null field) is never checked."""

    expected = "a value"

    def ok(self, value: Any) -> bool:
        raise NotImplementedError

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if not self.ok(value):
            yield f"{path}: expected {self.expected}, got {_got(value)}"


class _String(Check):
    expected = "a string"

    def ok(self, value: Any) -> bool:
        return type(value) is str


class _Anything(Check):
    """The root of kinds whose spec nothing reads."""

    def ok(self, value: Any) -> bool:
        return True


class integer(Check):
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.expected = f"an integer from {low} to {high}"

    def ok(self, value: Any) -> bool:
        return type(value) is int and self.low <= value <= self.high


class _StringMap(Check):
    """Labels, annotations, selectors: a mapping of string to string."""

    expected = "a mapping of string to string"

    def ok(self, value: Any) -> bool:
        # Types collected by C loops: ~3x faster than a generator over the items.
        return type(value) is dict and _only_str(value) and _only_str(value.values())

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if type(value) is not dict:
            yield from super().problems(value, path)
            return
        for key, item in value.items():
            if type(key) is not str or type(item) is not str:
                wrong = key if type(key) is not str else item
                yield f"{path}[{key!r}]: expected a string, got {_got(wrong)}"


class seq(Check):
    expected = "a list"

    def __init__(self, item: Check) -> None:
        self.item = item

    def ok(self, value: Any) -> bool:
        if type(value) is not list:
            return False
        if self.item is string:
            return _only_str(value)
        item = self.item.ok
        return all(e is not None and item(e) for e in value)

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if type(value) is not list:
            yield from super().problems(value, path)
            return
        for i, element in enumerate(value):
            if element is None:
                yield f"{path}[{i}]: expected a value, got None"
            else:
                yield from self.item.problems(element, f"{path}[{i}]")


class fields(Check):
    """A mapping whose named fields (when set) have these shapes; other fields are free."""

    expected = "a mapping"

    def __init__(self, **schema: Check) -> None:
        self.schema = tuple(schema.items())

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        for name, check in self.schema:
            field = value.get(name)
            if field is None:
                continue
            if check is string:  # the common case, without a call
                if type(field) is not str:
                    return False
            elif not check.ok(field):
                return False
        return True

    def problems(self, value: Any, path: str) -> Iterator[str]:
        if type(value) is not dict:
            yield from super().problems(value, path)
            return
        for name, check in self.schema:
            field = value.get(name)
            if field is not None:
                yield from check.problems(field, f"{path}.{name}" if path else name)


string, string_map, anything = _String(), _StringMap(), _Anything()


PORT = integer(0, 65535)
COUNT = integer(0, INT32_MAX)
METADATA = fields(
    name=string,
    namespace=string,
    labels=string_map,
    annotations=string_map,
    managedFields=seq(fields(manager=string, time=string)),
)
DESTINATION = fields(host=string, subset=string, port=fields(number=PORT))
ROUTE = seq(fields(destination=DESTINATION, weight=COUNT))
HTTP_ROUTE = fields(
    route=ROUTE,
    mirror=DESTINATION,
    mirrors=seq(fields(destination=DESTINATION)),
    retries=fields(attempts=COUNT, retryOn=string, perTryTimeout=string),
    timeout=string,
    match=seq(fields(method=fields(exact=string, regex=string, prefix=string))),
    # fault, redirect, directResponse: read only for whether they are set
)
HOSTS = seq(string)
# retryBudget is read only for whether it is set.
_POLICY_BLOCKS = {"connectionPool": fields(http=fields(maxRetries=COUNT))}
TRAFFIC_POLICY = fields(
    **_POLICY_BLOCKS,
    portLevelSettings=seq(fields(port=fields(number=PORT), **_POLICY_BLOCKS)),
)
SPECS: dict[str, Check] = {
    "VirtualService": fields(
        hosts=HOSTS,
        gateways=HOSTS,
        exportTo=HOSTS,
        http=seq(HTTP_ROUTE),
        tcp=seq(fields(route=ROUTE)),
        tls=seq(fields(route=ROUTE)),
    ),
    "DestinationRule": fields(
        host=string,
        exportTo=HOSTS,
        trafficPolicy=TRAFFIC_POLICY,
        subsets=seq(fields(name=string, labels=string_map, trafficPolicy=TRAFFIC_POLICY)),
    ),
    "ServiceEntry": fields(hosts=HOSTS, exportTo=HOSTS, ports=seq(fields(number=PORT))),
    "Gateway": fields(selector=string_map, servers=seq(fields(hosts=HOSTS))),
    "Service": fields(selector=string_map, ports=seq(fields(port=PORT))),
    "Pod": anything,
    "Namespace": anything,
    # Controllers are read defensively (auditor/mesh/controllers.py): any shape only manages less.
    "Rollout": anything,
    "Canary": anything,
}


def problems(obj: Mapping[str, Any]) -> list[str]:
    """Every shape problem of an object of a kind mesh-audit reads, with its field path."""
    check = SPECS.get(str(obj.get("kind")))
    spec = obj.get("spec")
    if METADATA.ok(obj.get("metadata")) and (check is None or spec is None or check.ok(spec)):
        return []
    found = list(METADATA.problems(obj.get("metadata"), "metadata"))
    if check is not None and spec is not None:
        found += check.problems(spec, "spec")
    return found


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    where = (
        f"{namespace}/"
        if isinstance(namespace, str) and namespace
        else (f"{_got(namespace)}/" if namespace is not None else "")
    )
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def _identity(kind: Any, namespace: Any, name: Any) -> tuple[str, str, str]:
    """The join key of an object, whatever the types of its fields."""
    return str(kind), repr(namespace), repr(name)


def _live_identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    kind = BY_NAME.get(str(obj.get("kind")))
    namespaced = kind is None or kind.namespaced
    namespace = (meta.get("namespace") or "default") if namespaced else ""
    return _identity(obj.get("kind"), namespace, meta.get("name"))


def screen(
    live: LiveSnapshot, git: GitSnapshot
) -> tuple[LiveSnapshot, GitSnapshot, tuple[str, ...]]:
    """Leave out each object with shape problems, live and Git side together (so a bad
    live copy does not make its manifest look unapplied, nor the other way round), and
    say why, one reason per field (at most MAX_REASONS)."""
    reasons: list[str] = []
    bad: set[tuple[str, str, str]] = set()
    unread = dict(live.unread)
    for obj in live.objects:
        found = problems(obj) if obj.get("kind") not in live.unread else []
        reasons += (f"{live.origin}: {_name(obj)}: {p}" for p in found)
        if found and obj.get("kind") in _UNREAD_WHEN_BAD:
            unread.setdefault(str(obj["kind"]), f"{_name(obj)} has fields of the wrong type")
        elif found:
            bad.add(_live_identity(obj))
    for manifest in git.manifests:
        if manifest.key.kind in AUDITED_KINDS or manifest.key.kind == "Namespace":
            found = problems(manifest.obj)
            where = f"{manifest.path}:{manifest.line}: {_name(manifest.obj)}"
            reasons += (f"{where}: {p}" for p in found)
            if found:
                bad.add(_identity(*manifest.key[1:]))
    if not reasons:
        return live, git, ()
    if len(reasons) > MAX_REASONS:
        reasons[MAX_REASONS:] = [
            f"... and {len(reasons) - MAX_REASONS} more fields of the wrong type"
        ]
    kept = tuple(o for o in live.objects if o.get("kind") in unread or _live_identity(o) not in bad)
    manifests = tuple(m for m in git.manifests if _identity(*m.key[1:]) not in bad)
    return (
        dataclasses.replace(live, objects=kept, unread=unread),
        dataclasses.replace(git, manifests=manifests),
        tuple(reasons),
    )
