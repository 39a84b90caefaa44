"""A manifest in the GitOps repo with no live resource.

Rationale: either the sync is broken (what Git says is not what runs) or the manifest
is dead config that nobody removed after the resource was deleted.

Fix: apply it (check the GitOps controller's sync status), or remove the manifest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem, SyncState
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Retire

ID = "MA102"
NAME = "not-applied"
SEVERITY = "medium"
NEEDS = Needs(cluster=True)

RETIRE = Retire.REMOVE
EXAMPLE_BAD = """\
# repo: mesh/reviews.yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
# cluster and repo: mesh/reviews.yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for resource in inventory.resources:
        if resource.state is SyncState.GIT_ONLY:
            yield Problem(resource, f"{resource.key} is in the repo but not in the cluster")
