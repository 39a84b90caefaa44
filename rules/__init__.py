"""The rule catalog: one module per rule; IDs are a public contract."""

from __future__ import annotations

from auditor.rulespec import Rule
from rules import not_applied, ownerless, spec_drift, unmanaged

CATALOG: tuple[Rule, ...] = tuple(
    Rule.from_module(m) for m in (unmanaged, not_applied, spec_drift, ownerless)
)
