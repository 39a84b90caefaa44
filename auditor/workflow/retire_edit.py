"""Manifest edits for `retire apply` that leave everything else in the file as it was.

A file is cut at its `---` lines into pieces kept as exact text, so removing one document
keeps every other document byte for byte (a leading `---`, CRLF line ends, no final
newline). Inside a document (an item of a `kind: List`, a 0% route destination, an entry
of a kustomization's `resources:`), ruamel.yaml's round-trip loader says where the item
sits, and exactly that item's text is cut out: comments, quoting, indentation, flow-style
lists and JSON stay as they were, which re-rendering the document would not guarantee.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from auditor.mesh.kinds import is_k8s_object, key_of
from auditor.model import label
from auditor.sources.yamldocs import parse

_SEPARATOR = re.compile(r"^(?:---|\.\.\.)(?:[ \t][^\r\n]*)?(?:\r?\n|\Z)", re.MULTILINE)
_ROUTE = re.compile(r"spec\.(http|tcp|tls)\[(\d+)\]\.route\[(\d+)\]")
_PLAIN_END = re.compile(r"[^,\]}\r\n#]*")
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


def _is_list(doc: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)
    )


def _load(text: str) -> Any:
    try:
        return YAML().load(text)
    except (YAMLError, ValueError) as exc:  # ruamel raises ValueError on `[._]`
        raise EditError(f"cannot edit YAML: {str(exc).splitlines()[0]}") from None


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _flow_end(text: str, pos: int) -> int:
    """Where the flow-style node starting at `pos` ends (a scalar, `[...]` or `{...}`)."""
    if text[pos] in "[{":
        depth, quote, i = 0, "", pos
        while i < len(text):
            ch = text[i]
            if quote:
                if ch == "\\" and quote == '"':
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    elif text[pos] in "'\"":
        quote, i = text[pos], pos + 1
        while i < len(text):
            if text[i] == "\\" and quote == '"':
                i += 2
                continue
            if text[i] == quote:
                if quote == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
    else:
        match = _PLAIN_END.match(text, pos)
        if match is not None:
            return pos + len(match.group(0).rstrip())
    raise EditError("cannot find the end of a flow-style item")


def _without_item(text: str, seq: Any, k: int) -> str:
    """`text` without item `k` of the sequence `seq` that ruamel loaded from it."""
    starts = _line_starts(text)

    def start(i: int) -> int:
        line, column = seq.lc.item(i)
        return int(starts[line] + column)

    begin = start(k)
    if seq.fa.flow_style():
        if k + 1 < len(seq):
            return text[:begin] + text[start(k + 1) :]
        end = _flow_end(text, begin)
        if k == 0:
            return text[:begin] + text[end:]
        comma = len(text[:begin].rstrip())
        if text[comma - 1 : comma] != ",":
            raise EditError("cannot edit a flow-style list with comments between items")
        return text[: comma - 1] + text[end:]
    line = seq.lc.item(k)[0]
    dash = text.rfind("-", starts[line], begin)
    if dash < 0 or text[starts[line] : dash].strip():
        raise EditError("cannot edit an item of a nested list")
    indent = dash - starts[line]
    lines = text.splitlines(keepends=True)
    # The item runs until a line at or left of its dash; comments right after it stay
    # (they introduce what follows).
    last = line + 1
    for j in range(line + 1, len(lines)):
        content = lines[j].strip()
        if not content or content.startswith("#"):
            continue
        if len(lines[j]) - len(lines[j].lstrip(" ")) <= indent:
            break
        last = j + 1
    return "".join(lines[:line] + lines[last:])


def _drop_items(text: str, find: Callable[[Any], tuple[Any, list[int]]]) -> str:
    """Remove, one at a time from the last, the items `find` names in the loaded text."""
    _, items = find(_load(text))
    for k in sorted(items, reverse=True):
        seq, _ = find(_load(text))  # fresh positions; items before k kept their index
        text = _without_item(text, seq, k)
    return text


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
    raise EditError(f"{path} holds no {label(*target)} any more")


def remove_document(text: str, path: str, target: Target, default_namespace: str) -> str | None:
    """The file without the target's document (or its item of a List); None when no
    document is left in it."""
    parts = pieces(text)
    index, doc, in_list = _find(text, path, target, default_namespace)
    if in_list and len(doc["items"]) > 1:

        def items(data: Any) -> tuple[Any, list[int]]:
            seq = data["items"]
            return seq, [k for k, i in enumerate(seq) if _identity(i, default_namespace) == target]

        parts[index] = replace(parts[index], body=_drop_items(parts[index].body, items))
    else:
        parts = _without(parts, index)
    return _join(parts) if any(parse(p.body, path)[0] for p in parts) else None


def drop_zero_destinations(
    text: str, path: str, target: Target, default_namespace: str, locators: Sequence[str]
) -> str:
    """The file with the 0%-weight route destinations at `locators` removed from the
    target's document (MA306's edit), every other byte unchanged."""
    parts = pieces(text)
    index, _, in_list = _find(text, path, target, default_namespace)
    spots = []
    for locator in locators:
        match = _ROUTE.fullmatch(locator)
        if match is None:
            raise EditError(f"{path}: cannot edit at {locator}")
        spots.append((match[1], int(match[2]), int(match[3])))
    body = parts[index].body
    for proto, rule, position in sorted(spots, reverse=True):

        def route(data: Any, proto: str = proto, rule: int = rule, at: int = position) -> Any:
            doc = data
            if in_list:
                doc = next(i for i in data["items"] if _identity(i, default_namespace) == target)
            try:
                seq = doc["spec"][proto][rule]["route"]
                entry = [k for k, e in enumerate(seq) if isinstance(e, dict)][at]
            except (KeyError, IndexError, TypeError):
                raise EditError(f"{path}: no spec.{proto}[{rule}].route[{at}]") from None
            if seq[entry].get("weight"):
                raise EditError(f"{path}: spec.{proto}[{rule}].route[{at}] is no longer 0%")
            return seq, [entry]

        body = _drop_items(body, route)
    parts[index] = replace(parts[index], body=body)
    return _join(parts)


def drop_resource(text: str, entry: str) -> str | None:
    """The kustomization without `entry` in its `resources:` (nothing else touched); None
    when it does not list it."""

    def listed(data: Any) -> tuple[Any, list[int]]:
        seq = data.get("resources") if isinstance(data, dict) else None
        if not isinstance(seq, list):
            return seq, []
        return seq, [
            k for k, e in enumerate(seq) if isinstance(e, str) and posixpath.normpath(e) == entry
        ]

    if not listed(_load(text))[1]:
        return None
    return _drop_items(text, listed)
