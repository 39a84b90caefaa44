"""Differences to ignore, as Argo CD's `ignoreDifferences` says them.

From `.mesh-audit.yaml`:

    ignore-differences:
      - {group: networking.istio.io, kind: VirtualService, name: "*-rollout",
         namespace: "shop-*", json-pointers: [/spec/http/0/route],
         managed-fields-managers: [rollouts-controller]}

and from the `spec.ignoreDifferences` of the Argo CD Application that renders an object
(`jsonPointers`, `managedFieldsManagers`). A JSON pointer ignores that field and
everything below it; a field manager ignores every field the live object's
managedFields (`fieldsV1`) say it owns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from auditor.errors import InputError
from auditor.model import ObjectKey
from auditor.validate import check_strings, entries

_KEYS = ("group", "kind", "name", "namespace", "json-pointers", "managed-fields-managers")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class IgnoreRule:
    """Which objects (globs on name and namespace) and which of their fields."""

    source: str
    group: str | None = None
    kind: str | None = None
    name: str = "*"
    namespace: str = "*"
    pointers: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    def applies(self, key: ObjectKey) -> bool:
        return (
            (self.group is None or self.group == key.group)
            and (self.kind is None or self.kind == key.kind)
            and fnmatchcase(key.name, self.name)
            and fnmatchcase(key.namespace, self.namespace)
        )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: expected a list of strings")
    return tuple(value)


def config_rules(raw: Any, where: str) -> tuple[IgnoreRule, ...]:
    """`ignore-differences:` of the config, validated (an error names the entry)."""
    rules = []
    for i, (at, entry) in enumerate(entries(raw, where, _KEYS, "rules")):
        check_strings(at, entry, ("group", "kind", "name", "namespace"))
        pointers = _strings(entry.get("json-pointers"), f"{at}.json-pointers")
        managers = _strings(entry.get("managed-fields-managers"), f"{at}.managed-fields-managers")
        if not pointers and not managers:
            raise InputError(f"{at}: needs json-pointers or managed-fields-managers")
        rules.append(
            IgnoreRule(
                f"ignore-differences[{i}] of the config",
                entry.get("group"),
                entry.get("kind"),
                entry.get("name", "*"),
                entry.get("namespace", "*"),
                pointers,
                managers,
            )
        )
    return tuple(rules)


def argo_rules(raw: Any, app: str) -> tuple[IgnoreRule, ...]:
    """An Application's `spec.ignoreDifferences` (entries it cannot read are skipped:
    Argo CD would reject them)."""
    rules = []
    for entry in raw if isinstance(raw, list) else ():
        if not isinstance(entry, dict):
            continue
        pointers = tuple(p for p in entry.get("jsonPointers") or [] if isinstance(p, str))
        managers = tuple(m for m in entry.get("managedFieldsManagers") or [] if isinstance(m, str))
        if pointers or managers:
            rules.append(
                IgnoreRule(
                    f"ignoreDifferences of {app}",
                    entry.get("group") if isinstance(entry.get("group"), str) else None,
                    entry.get("kind") if isinstance(entry.get("kind"), str) else None,
                    str(entry.get("name") or "*"),
                    str(entry.get("namespace") or "*"),
                    pointers,
                    managers,
                )
            )
    return tuple(rules)


def encode(rules: Iterable[IgnoreRule]) -> list[list[Any]]:
    return [
        [r.source, r.group, r.kind, r.name, r.namespace, list(r.pointers), list(r.managers)]
        for r in rules
    ]


def decode(rows: Iterable[list[Any]]) -> tuple[IgnoreRule, ...]:
    return tuple(IgnoreRule(s, g, k, n, ns, tuple(p), tuple(m)) for s, g, k, n, ns, p, m in rows)


def _pointer_path(pointer: str) -> str:
    """`/spec/http/0/route` as spec_diff names paths: `spec.http[0].route`."""
    path = ""
    for raw in pointer.strip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if part.isdigit():
            path += f"[{part}]"
        elif _PLAIN.match(part):
            path += f".{part}" if path else part
        else:
            path += f'["{part}"]'
    return path


def _owned(fields: Any, prefix: str = "") -> Iterator[str]:
    """Path patterns (regex) of the fields a managedFields entry's fieldsV1 owns."""
    if not isinstance(fields, dict):
        return
    for key, sub in fields.items():
        if key == ".":
            yield prefix
            continue
        kind, _, name = str(key).partition(":")
        if kind == "f":
            step = re.escape(
                (f".{name}" if prefix else name) if _PLAIN.match(name) else f'["{name}"]'
            )
        elif kind in ("k", "v"):
            step = r"\[\d+\]"
        elif kind == "i":
            step = re.escape(f"[{name}]")
        else:
            continue
        here = prefix + step
        if not sub:
            yield here
        else:
            yield from _owned(sub, here)


def _managed_patterns(
    live: dict[str, Any] | None, managers: tuple[str, ...]
) -> list[re.Pattern[str]]:
    entries = ((live or {}).get("metadata") or {}).get("managedFields") or []
    patterns = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("manager") in managers:
            patterns += [re.compile(p + r"(?:$|[.\[])") for p in _owned(entry.get("fieldsV1"))]
    return patterns


def reason(
    rules: Iterable[IgnoreRule], key: ObjectKey, live: dict[str, Any] | None, path: str
) -> str | None:
    """Why a differing field is ignored, or None when it counts."""
    for rule in rules:
        if not rule.applies(key):
            continue
        for pointer in rule.pointers:
            base = _pointer_path(pointer)
            if path == base or path.startswith((f"{base}.", f"{base}[")):
                return f"{rule.source}: {pointer}"
        if rule.managers and any(p.match(path) for p in _managed_patterns(live, rule.managers)):
            return f"{rule.source}: owned by field manager {', '.join(rule.managers)}"
    return None
