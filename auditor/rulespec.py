"""What a rule module provides, read once into a Rule.

A rule module (see `rules/`) defines ID, NAME, SEVERITY, OPTIONS (defaults) and
`check(inventory, options)` yielding Problems; its docstring is its documentation:
first line the summary, then rationale and fix. A check reads nothing but its arguments
(time only as `inventory.now`), so its results can be remembered between scans.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from auditor.model import Problem, Severity

Check = Callable[[Any, Mapping[str, Any]], Iterator[Problem]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    options: Mapping[str, Any]
    doc: str
    check: Check

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
        )
