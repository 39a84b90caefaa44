"""Where a field sits in a manifest: line, column and end line of a locator's YAML node.

Rules name what they are about with a locator (`spec.http[0].retries`,
`metadata.annotations["mesh-audit.io/expires"]`); this finds that node in the file so
SARIF, tickets and tables point at `attempts: 5`, not at `apiVersion:`. Node positions
come from PyYAML's composer, run only on documents that have findings (the scan itself
parses without marks, which is faster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yaml

from auditor.sources.yamldocs import SAFE_LOADER, chunks

_STEP = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


@dataclass(frozen=True)
class Location:
    """1-based line and column where the node starts, and the line where it ends."""

    line: int
    column: int
    end_line: int


def steps(locator: str) -> list[str | int]:
    """`spec.http[0].route[1]` -> ["spec", "http", 0, "route", 1]; unparsable tail dropped."""
    out: list[str | int] = []
    pos = 0
    while pos < len(locator):
        match = _STEP.match(locator, pos)
        if match is None or match.end() == pos:
            break
        name, index, quoted = match.groups()
        if index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(quoted.replace('\\"', '"').replace("\\\\", "\\"))
        else:
            out.append(name)
        pos = match.end()
    return out


@lru_cache(maxsize=64)
def _document(text: str, line: int) -> tuple[int, yaml.Node] | None:
    """The composed document whose root starts on `line` (1-based), with its chunk's
    zero-based line offset; None when no document starts there or it does not parse."""
    for offset, chunk in chunks(text):
        if offset + chunk.count("\n") + 1 < line:
            continue
        try:
            node = yaml.compose(chunk, Loader=SAFE_LOADER)
        except yaml.YAMLError:
            return None
        if node is None or offset + node.start_mark.line + 1 != line:
            return None
        return offset, node
    return None


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(node to start at, node to end at): for a mapping key, the key and its value."""
    if isinstance(step, int) and isinstance(node, yaml.SequenceNode):
        return (node.value[step], node.value[step]) if step < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return key, value
    return None


def _last(node: yaml.Node) -> yaml.Node:
    """The last leaf under `node`: block collections end where the next token begins.
    An alias back to an enclosing node (`&a [1, *a]`) ends the walk."""
    seen = set()
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        seen.add(id(node))
        last = node.value[-1]
        child = last[1] if isinstance(last, tuple) else last
        if id(child) in seen:
            break
        node = child
    return node


def locate(text: str, line: int, locator: str) -> Location | None:
    """The position of `locator` in the document starting at `line`, or of its nearest
    existing parent; None when no document starts at that line."""
    found = _document(text, line)
    if found is None:
        return None
    offset, root = found
    start = end = root
    for step in steps(locator):
        child = _child(end, step)
        if child is None:
            break
        start, end = child
    end_mark = _last(end).end_mark
    end_line = end_mark.line if end_mark.column == 0 and end_mark.line > 0 else end_mark.line + 1
    first = offset + start.start_mark.line + 1
    return Location(first, start.start_mark.column + 1, max(first, offset + end_line))
