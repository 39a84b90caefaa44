"""Multi-document YAML/JSON parsing that remembers where each document starts.

A file is parsed in one pass; only when that fails is it split on `---` lines and
parsed document by document, so one broken document costs only itself, and every
error names its file and line.

Documents come out as JSON values, as Kubernetes reads YAML: timestamps stay strings,
`!!binary` and `!!set` are not decoded. A document nested deeper than MAX_DEPTH, or
whose aliases expand to more than MAX_NODES values ("billion laughs"), is an error of
that document: the loader shares aliased values, but everything after it (the cache,
drift, rules) would walk the expansion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml's safe loader when PyYAML was built with it (several times faster), else Python's.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SEPARATOR = re.compile(r"^(?:---|\.\.\.)(?:[ \t].*)?$", re.MULTILINE)


MAX_DEPTH = 100
MAX_NODES = 1_000_000
# An anchor (`&name`) must precede any alias: documents without one need no expansion count.
_ANCHOR = re.compile(r"&[^\s&]")


class _LineLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """Records the line where the root node of each document starts."""

    def construct_document(self, node: yaml.Node) -> Any:
        self.first_line = node.start_mark.line
        return super().construct_document(node)


for _tag in ("timestamp", "binary"):
    _LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", SAFE_LOADER.construct_yaml_str)
_LineLoader.add_constructor("tag:yaml.org,2002:set", SAFE_LOADER.construct_yaml_seq)


class TooLarge(ValueError):
    """A document nested too deep, or expanding (through aliases) to too many values."""


# What constructing a document can raise besides YAMLError: `!!int x`, `!!float y`.
_CONSTRUCTION = (ValueError, TypeError, OverflowError)


def check_size(data: Any, aliases: bool = True) -> None:
    """Raise TooLarge beyond MAX_DEPTH levels or (with `aliases`) MAX_NODES expanded containers.

    Without aliases a document is a tree, and only its depth can grow."""
    if aliases:
        _check_expansion(data)
        return
    level = [data] if type(data) is dict or type(data) is list else []
    for _ in range(MAX_DEPTH):
        # Inline, not _containers: a dump's one big List is walked here, node by node.
        level = [
            c
            for v in level
            for c in (v.values() if type(v) is dict else v)
            if type(c) is dict or type(c) is list
        ]
        if not level:
            return
    raise TooLarge(f"nested deeper than {MAX_DEPTH} levels")


def _containers(value: Any) -> list[Any]:
    """The dicts and lists directly inside a dict or list (nothing inside a scalar)."""
    if type(value) is not dict and type(value) is not list:
        return []
    return [
        c
        for c in (value.values() if type(value) is dict else value)
        if type(c) is dict or type(c) is list
    ]


def _check_expansion(data: Any) -> None:
    """Depth and expanded size of a document whose aliases share values.

    The loader shares each aliased value, so each distinct container is counted once and
    its expansion and height memoized: a billion laughs costs its few distinct nodes, not
    the billion. A shared value reached again still counts its height at the new depth, and
    a value that contains itself is found as soon as it is reached again."""
    below: dict[int, int] = {}  # expanded containers under each finished container
    height: dict[int, int] = {}  # levels of containers under each finished container
    open_: set[int] = set()  # containers on the current path
    # (container, depth, its children once opened): a depth-first walk without recursion.
    stack: list[tuple[Any, int, list[Any] | None]] = [(data, 0, None)]
    while stack:
        node, depth, kids = stack.pop()
        key = id(node)
        if kids is not None:
            open_.discard(key)
            below[key] = sum(1 + below[id(c)] for c in kids)
            height[key] = max((1 + height[id(c)] for c in kids), default=0)
            if below[key] > MAX_NODES:
                raise TooLarge(f"aliases expand to more than {MAX_NODES:,} values")
        elif key in open_:
            raise TooLarge("an alias refers to itself")
        elif depth + height.get(key, 0) >= MAX_DEPTH:
            raise TooLarge(f"nested deeper than {MAX_DEPTH} levels")
        elif key not in below:
            kids = _containers(node)
            open_.add(key)
            stack.append((node, depth, kids))
            stack.extend((c, depth + 1, None) for c in kids)


@dataclass(frozen=True)
class Document:
    line: int
    data: Any


@dataclass(frozen=True)
class ParseError:
    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


def chunks(text: str) -> Iterator[tuple[int, str]]:
    """(zero-based line offset, text) of each document's chunk. A `---` line opens a chunk
    and stays in it (`--- {a: 1}` holds its document); a `...` line closes one."""
    start, line = 0, 0
    for match in _SEPARATOR.finditer(text):
        if text.startswith("---", match.start()):
            end = after = match.start()
        else:
            end, after = match.end(), min(match.end() + 1, len(text))
        yield line, text[start:end]
        line += text.count("\n", start, after)
        start = after
    yield line, text[start:]


def _parse_chunk(offset: int, chunk: str) -> Document | None:
    loader = _LineLoader(chunk)
    try:
        data = loader.get_single_data()
        if data is None:
            return None
        check_size(data, bool(_ANCHOR.search(chunk)))
        return Document(offset + loader.first_line + 1, data)
    finally:
        loader.dispose()


def _parse_stream(text: str) -> list[Document]:
    """The fast path: one loader for the whole file."""
    loader = _LineLoader(text)
    aliases = bool(_ANCHOR.search(text))
    docs = []
    try:
        while loader.check_data():
            data = loader.get_data()
            if data is not None:
                check_size(data, aliases)
                docs.append(Document(loader.first_line + 1, data))
    finally:
        loader.dispose()
    return docs


def _error_line(exc: yaml.YAMLError, chunk: str) -> int:
    """1-based line of a YAML error; at end of input, where the open construct began."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    if (
        problem is not None
        and context is not None
        and problem.line >= chunk.rstrip().count("\n") + 1
    ):
        return context.line + 1
    mark = problem or context
    return mark.line + 1 if mark else 1


def parse(text: str, path: str) -> tuple[list[Document], list[ParseError]]:
    """All documents of a YAML or JSON file, plus one error per broken document."""
    stripped = text.lstrip()
    line = text.count("\n", 0, len(text) - len(stripped)) + 1
    if path.endswith(".json") or stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
            check_size(data, aliases=False)
        except RecursionError:
            return [], [ParseError(path, line, f"nested deeper than {MAX_DEPTH} levels")]
        except TooLarge as exc:
            return [], [ParseError(path, line, str(exc))]
        except ValueError as exc:
            if path.endswith(".json"):
                return [], [ParseError(path, getattr(exc, "lineno", 1), str(exc).split(":")[0])]
        else:
            return [Document(line, data)], []
    try:
        return _parse_stream(text), []
    except (yaml.YAMLError, *_CONSTRUCTION):
        pass  # parse document by document to keep every good one and locate the bad
    docs: list[Document] = []
    errors: list[ParseError] = []
    for offset, chunk in chunks(text):
        try:
            doc = _parse_chunk(offset, chunk)
        except _CONSTRUCTION as exc:
            errors.append(ParseError(path, offset + 1, f"invalid YAML: {exc}"))
            continue
        except yaml.YAMLError as exc:
            line = offset + _error_line(exc, chunk)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            errors.append(ParseError(path, line, f"invalid YAML: {problem}"))
            continue
        if doc is not None:
            docs.append(doc)
    return docs, errors


def load_one(text: str) -> Any:
    """One YAML document (a config file), read as parse() reads manifests; every problem
    is a YAMLError."""
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
        check_size(data, bool(_ANCHOR.search(text)))
        return data
    except _CONSTRUCTION as exc:
        raise yaml.MarkedYAMLError(problem=str(exc)) from None
    finally:
        loader.dispose()
