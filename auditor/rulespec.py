"""What a rule module provides, read once into a Rule.

A rule module (see `rules/`) defines ID, NAME, SEVERITY, OPTIONS (defaults), NEEDS
(what it must have read to judge) and `check(inventory, options)` yielding Problems;
its docstring is its documentation: first line the summary, then rationale and fix. A
check reads nothing but its arguments (time only as `inventory.now`), so its results
can be remembered between scans.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from auditor.model import Problem, Severity

if TYPE_CHECKING:  # the pipeline imports the rules: no cycle at run time
    from auditor.pipeline.inventory import Inventory

Check = Callable[["Inventory", Mapping[str, Any]], Iterator[Problem]]


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


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    options: Mapping[str, Any]
    doc: str
    check: Check
    needs: Needs = Needs()

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
        )
