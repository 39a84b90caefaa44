"""A live mesh resource with no manifest in the GitOps repo.

Objects a controller generates (a controller `ownerReference`, or Flagger's VirtualService
and DestinationRules of a Canary) are not unmanaged: their source is the controlling object.

It needs every app of the repo rendered: an object may come from an app that could not be
(a Helm chart without helm), so such a scan does not judge it.

Rationale: config applied by hand (a hotfix, a copy, an experiment) is invisible to
review, is lost on the next cluster rebuild, and nobody knows whether it is still needed.

Fix: commit a manifest for it to the GitOps repo, or delete it from the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem, SyncState
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Retire

ID = "MA101"
NAME = "unmanaged"
SEVERITY = "medium"
NEEDS = Needs(cluster=True, rendered=True)

RETIRE = Retire.REMOVE
EXAMPLE_BAD = """\
# cluster (applied by hand)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-hotfix, namespace: shop}
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
        if resource.state is SyncState.LIVE_ONLY and inventory.generator(resource.key) is None:
            yield Problem(resource, f"{resource.key} is live but has no manifest in the repo")
