"""What a rule module provides, read once into a Rule.

A rule module (see `rules/`) declares everything about itself, so adding a rule is
adding its module and its test: ID, NAME, SEVERITY, OPTIONS (name -> `Option`: type,
default, bounds, description; yamllint's CONF), NEEDS (what it must have read to judge),
RETIRE (whether its findings lead to retirement: `Retire.REMOVE`, `Retire.EDIT`, or None),
EXAMPLE_BAD and EXAMPLE_GOOD (YAML its tests run: the first fires, the second is silent)
and `check(inventory, options)` yielding Problems. Its docstring is its documentation:
first line the summary (what it does), then "Rationale:" (why) and "Fix:" (what to do
instead). A check reads nothing but its arguments (time only as `inventory.now`), so its
results can be remembered between scans.

An example's documents are cluster objects; one whose first line is `# repo: PATH` is a
manifest at PATH in the GitOps repo instead, and `# cluster and repo: PATH` is both.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

import yaml

from auditor.model import Problem, Severity

if TYPE_CHECKING:  # the pipeline imports the rules: no cycle at run time
    from auditor.pipeline.inventory import Inventory

Check = Callable[["Inventory", Mapping[str, Any]], Iterator[Problem]]


class Retire(StrEnum):
    """What the monthly retirement does with a resource a rule's findings name."""

    REMOVE = "remove"  # delete the resource (its manifest, or `kubectl delete`)
    EDIT = "edit"  # edit inside it (drop what the finding names)


@dataclass(frozen=True)
class Option:
    """One setting of a rule, validated once in auditor/config.py."""

    kind: type  # bool, int, float, str or list (of strings)
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def type_name(self) -> str:
        return "list of strings" if self.kind is list else self.kind.__name__

    @property
    def bounds(self) -> str:
        low = "" if self.minimum is None else f">= {self.minimum:g}"
        high = "" if self.maximum is None else f"<= {self.maximum:g}"
        return ", ".join(b for b in (low, high) if b)

    def accepts(self, value: Any) -> bool:
        if self.kind is bool or isinstance(value, bool):
            return self.kind is bool and isinstance(value, bool)
        if self.kind is list:
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        numeric = (int, float) if self.kind is float else (self.kind,)
        return isinstance(value, numeric)

    def in_bounds(self, value: Any) -> bool:
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )


@dataclass(frozen=True)
class Needs:
    """What a rule must have read to judge. A rule whose needs a scan does not meet does
    not run, and its earlier findings are neither confirmed nor resolved."""

    # Kinds it reads: one the cluster would not list means it cannot judge.
    kinds: tuple[str, ...] = ()
    # The live cluster (not a `--no-cluster` scan).
    cluster: bool = False
    # Every namespace: it compares across namespaces, so a `-n` scan cannot judge it.
    all_namespaces: bool = False
    # The Git history of the manifests (dates of changes): not in a shallow clone.
    history: bool = False
    # Everything the repo applies: every app rendered (an object may come from one that
    # could not be).
    rendered: bool = False

    def __str__(self) -> str:
        """E.g. "kinds VirtualService; all namespaces": every field that is set, by name."""
        parts = [f"kinds {', '.join(self.kinds)}"] if self.kinds else []
        parts += [f.name.replace("_", " ") for f in fields(self) if getattr(self, f.name) is True]
        return "; ".join(parts) or "nothing beyond the scan"


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    options: Mapping[str, Option]
    doc: str
    check: Check
    needs: Needs = Needs()
    retire: Retire | None = None
    example_bad: str = ""
    example_good: str = ""

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: option.default for name, option in self.options.items()}

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else ""

    @property
    def fix(self) -> str:
        """The docstring's "Fix:" paragraph, for tickets."""
        _, _, tail = self.doc.partition("Fix:")
        return " ".join(tail.split("\n\n")[0].split())

    @classmethod
    def from_module(cls, module: ModuleType) -> Rule:
        return cls(
            id=module.ID,
            name=module.NAME,
            severity=Severity(module.SEVERITY),
            options=MappingProxyType(dict(getattr(module, "OPTIONS", {}))),
            doc=inspect.cleandoc(module.__doc__ or ""),
            check=module.check,
            needs=getattr(module, "NEEDS", Needs()),
            retire=getattr(module, "RETIRE", None),
            example_bad=inspect.cleandoc(module.EXAMPLE_BAD),
            example_good=inspect.cleandoc(module.EXAMPLE_GOOD),
        )


_MARKER = re.compile(r"#\s*(cluster and )?repo:\s*(\S+)")
_SEPARATOR = re.compile(r"^---\s*$", re.M)


@dataclass(frozen=True)
class ExampleDocument:
    """One document of a rule's example and where it is: cluster, repo, or both."""

    obj: dict[str, Any]
    cluster: bool
    repo_path: str | None


def example_documents(text: str) -> list[ExampleDocument]:
    docs = []
    for chunk in _SEPARATOR.split(text):
        obj = yaml.safe_load(chunk)
        if not obj:
            continue
        marker = _MARKER.match(chunk.strip())
        in_cluster = marker is None or marker.group(1) is not None
        docs.append(ExampleDocument(obj, in_cluster, marker.group(2) if marker else None))
    return docs


def _value(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else repr(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def catalog_markdown(catalog: Iterable[Rule]) -> str:
    """The README's rule table, from the rule modules (`mesh-audit rules --markdown`)."""
    lines = [
        "| ID | name | default severity | finds | options | retirement |",
        "|---|---|---|---|---|---|",
    ]
    for rule in catalog:
        options = "; ".join(
            f"`{name}`: {o.description} ({o.type_name}, default {_value(o.default)}"
            + (f", {o.bounds})" if o.bounds else ")")
            for name, o in rule.options.items()
        )
        cells = (rule.id, rule.name, rule.severity.value, rule.summary, options, rule.retire or "")
        lines.append("| " + " | ".join(_cell(str(c)) for c in cells) + " |")
    return "\n".join(lines) + "\n"
