"""Manifest edits for `retire apply` that leave everything else in the file as it was.

A file is cut at its `---` lines into pieces kept as exact text, so removing one document
keeps every other document byte for byte (a leading `---`, CRLF line ends, no final
newline). A document that must change inside (an item of a `kind: List`, a 0% route
destination, a kustomization's `resources:`) goes through ruamel.yaml's round trip,
which keeps its comments, quoting and flow-style lists.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from auditor.kinds import is_k8s_object, key_of
from auditor.yamldocs import parse

_SEPARATOR = re.compile(r"^(?:---|\.\.\.)(?:[ \t][^\r\n]*)?(?:\r?\n|\Z)", re.MULTILINE)
_ROUTE = re.compile(r"spec\.(http|tcp|tls)\[(\d+)\]\.route\[(\d+)\]")
# (kind, namespace, name): documents match on all three, never on kind and name alone.
Target = tuple[str, str, str]


class EditError(Exception):
    """The file no longer holds what the scan saw, or cannot be edited safely."""


@dataclass(frozen=True)
class Piece:
    separator: str  # the exact `---` line before the body; "" for the first piece
    body: str


def pieces(text: str) -> list[Piece]:
    out, start, separator = [], 0, ""
    for match in _SEPARATOR.finditer(text):
        out.append(Piece(separator, text[start : match.start()]))
        separator, start = match.group(0), match.end()
    out.append(Piece(separator, text[start:]))
    return out


def _identity(doc: Any, default_namespace: str) -> Target | None:
    if not is_k8s_object(doc):
        return None
    key = key_of(doc, default_namespace)
    return key.kind, key.namespace, key.name


def _is_list(doc: Any) -> bool:
    return (
        isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)
    )


def round_trip(text: str, change: Callable[[Any], None]) -> str:
    """`text` after `change` edits its parsed form in place, re-rendered in its own style."""
    newline = "\r\n" if "\r\n" in text else "\n"
    plain = text.replace("\r\n", "\n")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    try:
        data, indent, sequence_offset = load_yaml_guess_indent(plain, yaml=yaml)
        if indent:
            yaml.indent(mapping=indent, sequence=indent, offset=sequence_offset or 0)
        change(data)
        buffer = io.StringIO()
        yaml.dump(data, buffer)
    except YAMLError as exc:
        raise EditError(f"cannot edit YAML: {str(exc).splitlines()[0]}") from None
    trailing = plain[len(plain.rstrip("\n")) :]
    out = buffer.getvalue().rstrip("\n") + trailing
    return out.replace("\n", newline)


def _join(parts: Sequence[Piece]) -> str:
    return "".join(p.separator + p.body for p in parts)


def _without(parts: list[Piece], index: int) -> list[Piece]:
    rest = parts[:index] + parts[index + 1 :]
    if index == 0 and rest:
        rest[0] = replace(rest[0], separator="")
    return rest


def _find(text: str, path: str, target: Target, default_namespace: str) -> tuple[int, Any, bool]:
    """(piece index, its document, whether the target is an item of a List there)."""
    for index, piece in enumerate(pieces(text)):
        docs, _ = parse(piece.body, path)
        doc = docs[0].data if docs else None
        if _identity(doc, default_namespace) == target:
            return index, doc, False
        if _is_list(doc) and any(_identity(i, default_namespace) == target for i in doc["items"]):
            return index, doc, True
    kind, namespace, name = target
    raise EditError(f"{path} holds no {kind} {namespace}/{name} any more")


def remove_document(text: str, path: str, target: Target, default_namespace: str) -> str | None:
    """The file without the target's document (or its item of a List); None when no
    document is left in it."""
    parts = pieces(text)
    index, doc, in_list = _find(text, path, target, default_namespace)
    if in_list and len(doc["items"]) > 1:

        def drop(data: Any) -> None:
            items = data["items"]
            for k in reversed(range(len(items))):
                if _identity(items[k], default_namespace) == target:
                    del items[k]

        parts[index] = replace(parts[index], body=round_trip(parts[index].body, drop))
    else:
        parts = _without(parts, index)
    left = _join(parts)
    return left if any(parse(p.body, path)[0] for p in parts) else None


def drop_zero_destinations(
    text: str, path: str, target: Target, default_namespace: str, locators: Sequence[str]
) -> str:
    """The file with the 0%-weight route destinations at `locators` removed from the
    target's document (MA306's edit), every other document unchanged."""
    parts = pieces(text)
    index, _, in_list = _find(text, path, target, default_namespace)
    spots = []
    for locator in locators:
        match = _ROUTE.fullmatch(locator)
        if match is None:
            raise EditError(f"{path}: cannot edit at {locator}")
        spots.append((match[1], int(match[2]), int(match[3])))

    def drop(data: Any) -> None:
        doc = data
        if in_list:
            doc = next(i for i in data["items"] if _identity(i, default_namespace) == target)
        for proto, rule, position in sorted(spots, reverse=True):
            try:
                route = doc["spec"][proto][rule]["route"]
                entries = [k for k, e in enumerate(route) if isinstance(e, dict)]
                entry = entries[position]
            except (KeyError, IndexError, TypeError):
                raise EditError(f"{path}: no spec.{proto}[{rule}].route[{position}]") from None
            if route[entry].get("weight"):
                raise EditError(f"{path}: spec.{proto}[{rule}].route[{position}] is no longer 0%")
            del route[entry]

    parts[index] = replace(parts[index], body=round_trip(parts[index].body, drop))
    return _join(parts)


def drop_resource(text: str, entry: str) -> str | None:
    """The kustomization without `entry` in its `resources:` (nothing else touched); None
    when it does not list it."""
    found = False

    def drop(data: Any) -> None:
        nonlocal found
        resources = data.get("resources") if isinstance(data, dict) else None
        if not isinstance(resources, list):
            return
        listed = [
            k
            for k, e in enumerate(resources)
            if isinstance(e, str) and posixpath.normpath(e) == entry
        ]
        for k in reversed(listed):
            del resources[k]
        found = bool(listed)

    out = round_trip(text, drop)
    return out if found else None
