"""The live spec differs from the repo's manifest.

Rationale: a hand edit in the cluster (kubectl edit, a console, a hotfix) that Git does
not know about; the next sync silently reverts it, or it silently outlives its reason.
Comparison is on normalized specs: key order, apiVersion, zero/empty values and
server or GitOps-controller metadata never count as drift, nor do fields a progressive
delivery controller writes (the route weights an Argo Rollout manages, the
rollouts-pod-template-hash of its subsets, whatever a controller generates): the evidence
lists those as left out, and why.

Fix: commit the live change to the repo if it is wanted, else re-sync from Git.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Option

ID = "MA103"
NAME = "spec-drift"
SEVERITY = "high"
NEEDS = Needs(cluster=True)
OPTIONS = {
    "max-differences": Option(int, 50, "differing paths listed in the evidence", minimum=0),
}

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
---
# cluster (kubectl edit)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 30s
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
    limit = options["max-differences"]
    for resource in inventory.resources:
        if not resource.drift:
            continue
        evidence: dict[str, Any] = {
            "differences": [
                {"path": d.path, "git": d.git, "live": d.live} for d in resource.drift[:limit]
            ],
            "total": len(resource.drift),
        }
        left_out = inventory.ignored.get(resource.key)
        if left_out:
            evidence["left_out"] = [{"path": d.path, "why": why} for d, why in left_out]
        declared = inventory.duplicates.get(resource.key)
        if declared and resource.manifest is not None:
            evidence["compared_with"] = (
                f"{resource.manifest.path}:{resource.manifest.line}, the nearest of "
                f"{len(declared)} declarations: none matches the live object, so the repo "
                "is ambiguous about which one is current (MA104)"
            )
        paths = ", ".join(d.path for d in resource.drift[:3])
        more = f" and {len(resource.drift) - 3} more" if len(resource.drift) > 3 else ""
        yield Problem(
            resource,
            f"{resource.key} live spec differs from the repo at {paths}{more}",
            locator="spec",
            evidence=evidence,
        )
