"""Multi-document YAML/JSON parsing: documents kept, broken ones located, sizes bounded."""

from __future__ import annotations

import pytest
import yaml

from auditor.sources.yamldocs import Document, TooLarge, check_size, parse


@pytest.mark.parametrize(
    ("text", "path", "docs", "errors"),
    [
        # A scalar document is valid YAML (not an object: the readers skip it), not an error.
        ("5\n", "a.yaml", [Document(1, 5)], []),
        ("5", "a.json", [Document(1, 5)], []),
        ("--- |\n  text\n", "a.yaml", [Document(1, "text\n")], []),
        # Content on the `---` line belongs to its document, also when another is broken.
        ("--- {a: 1}\n---\nb: [\n", "a.yaml", [Document(1, {"a": 1})], [4]),
        ("--- a: 1\n", "a.yaml", [], [1]),
        # `...` ends a document; the next one starts after it.
        ("x: 1\n...\n---\ny: [\n", "a.yaml", [Document(1, {"x": 1})], [5]),
    ],
)
def test_documents_and_errors(text: str, path: str, docs: list, errors: list) -> None:
    """`errors`: the lines of the broken documents (the wording is the YAML library's)."""
    found, problems = parse(text, path)
    assert found == docs
    assert [(p.path, p.line) for p in problems] == [(path, line) for line in errors]
    assert all(p.problem.startswith("invalid YAML: ") for p in problems)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Nine levels of ten aliases each: 10**9 values, a handful of distinct ones.
        (
            "a: &a [x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                for p, c in zip("abcdefghi", "bcdefghij", strict=True)
            ),
            "aliases expand to more than",
        ),
        ("a: &a [*a]\n", "an alias refers to itself"),
        ("a: &a {b: [1, *a]}\n", "an alias refers to itself"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 100 levels"),
    ],
)
def test_check_size_judges_distinct_values_not_their_expansion(text: str, reason: str) -> None:
    with pytest.raises(TooLarge, match=reason):
        check_size(yaml.safe_load(text))


def test_a_value_shared_many_times_without_a_cycle_is_fine() -> None:
    check_size(yaml.safe_load("a: &a {b: [1]}\nc: [*a, *a, {d: *a}]\n"))
    check_size(yaml.safe_load("a: " + "[" * 99 + "]" * 99 + "\n"), aliases=False)


NEST = 90  # levels each anchor adds: under MAX_DEPTH where written


@pytest.mark.parametrize(
    "text",
    [
        # A shared value reached first shallow (the walk takes the last key first), then
        # again 90 levels down: 110 levels in all.
        "x: " + "[" * NEST + "&a " + "[" * 20 + "]" * (20 + NEST) + "\ny: *a\n",
        # An anchor nesting another 90 levels down, both named shallow-first: 180 levels.
        f"a0: &a0 {'[' * NEST}1{']' * NEST}\n"
        f"a1: &a1 {'[' * NEST}*a0{']' * NEST}\n"
        "refs: [*a1, *a0]\n",
    ],
)
def test_a_shared_value_counts_its_height_wherever_it_is_reached(text: str) -> None:
    with pytest.raises(TooLarge, match="nested deeper than 100 levels"):
        check_size(yaml.safe_load(text))
