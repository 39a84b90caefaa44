"""The rule catalog: every module of this package is one rule; IDs are a public contract.

Modules are found with pkgutil and imported explicitly, one by one; importing a rule
module only defines it (no registration, no other side effect). The catalog is sorted
by ID. A module whose name starts with `_` is a helper, not a rule.
"""

from __future__ import annotations

import importlib
import pkgutil

from auditor.rulespec import Rule


def _discover() -> tuple[Rule, ...]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    rules = [Rule.from_module(importlib.import_module(f"{__name__}.{name}")) for name in names]
    return tuple(sorted(rules, key=lambda r: r.id))


CATALOG: tuple[Rule, ...] = _discover()
