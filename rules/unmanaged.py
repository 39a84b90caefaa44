"""A live mesh resource with no manifest in the GitOps repo.

Rationale: config applied by hand (a hotfix, a copy, an experiment) is invisible to
review, is lost on the next cluster rebuild, and nobody knows whether it is still needed.

Fix: commit a manifest for it to the GitOps repo, or delete it from the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.inventory import Inventory
from auditor.model import Problem, SyncState
from auditor.rulespec import Needs

ID = "MA101"
NAME = "unmanaged"
SEVERITY = "medium"
NEEDS = Needs(cluster=True)


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for resource in inventory.resources:
        if resource.state is SyncState.LIVE_ONLY:
            yield Problem(resource, f"{resource.key} is live but has no manifest in the repo")
