"""No owner found anywhere in the owner chain.

Rationale: findings on a resource nobody owns turn into tickets nobody takes. The chain
is: owner keys (default `owner`, `team`, `mesh-audit.io/owner`) as label or annotation
on the live object, then on the manifest, then on the namespace, then CODEOWNERS.

Fix: add an owner label (e.g. `team: payments`) to the manifest or namespace, or a
CODEOWNERS entry for its path. The finding's evidence names leads to ask.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.inventory import Inventory
from auditor.model import Problem, SyncState

ID = "MA201"
NAME = "ownerless"
SEVERITY = "low"


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for resource in inventory.resources:
        if resource.owner is not None or resource.state is SyncState.UNKNOWN:
            continue
        hint = f"; leads: {'; '.join(resource.leads)}" if resource.leads else ""
        yield Problem(
            resource,
            f"{resource.key} has no owner{hint}",
            evidence={"leads": list(resource.leads)},
        )
