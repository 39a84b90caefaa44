"""An object the repo declares more than once.

Two declarations of one object (same API group, kind, namespace and name) that one app,
or two apps, would apply: after rendering, so a base used by two overlays in two
namespaces is not a duplicate, while two files (or two apps) that both yield
`VirtualService shop/cart` are. A live object equal to any of the declarations is in sync;
one equal to none is compared with the nearest declaration, and the drift evidence says
the repo is ambiguous. Rules that judge the repo alone read the declaration applied last
(the order `kubectl apply -f` uses).

Rollouts and Canaries declared twice count too: a controller would flip between them.
Identical copies within one app (or among plain files) are graded low: the cluster gets
the same object whichever applies, and the copy is only waiting to drift. Not in an app
kustomize builds (a Flux Kustomization's folder, even without a kustomization): kustomize
refuses an object declared twice with one apiVersion, so none of the app's changes apply.

Rationale: which declaration the cluster gets depends on apply order, so an edit to one
copy may never take effect; Argo CD flags the app (RepeatedResourceWarning) and keeps
one. Two apps that apply one object fight over it (SharedResourceWarning): it flaps
between their versions on every sync.

Fix: keep one declaration; delete the others, or give them different names or namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.model import Problem, Severity
from auditor.pipeline.inventory import Inventory

ID = "MA104"
NAME = "duplicate-manifest"
SEVERITY = "high"

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
# repo: mesh/reviews-copy.yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 10s
"""
EXAMPLE_GOOD = """\
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


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for r in (*inventory.resources, *inventory.controller_resources):
        found = inventory.duplicates.get(r.key)
        if not found or r.manifest is None:
            continue
        where = [f"{m.path}:{m.line}" + (f" (app {m.app})" if m.app else "") for m in found]
        apps = sorted({m.app or "(plain files)" for m in found})
        identical = len(apps) == 1 and all(m.obj == found[0].obj for m in found)
        # Kustomize refuses two declarations of one id (apiVersion included) in one build;
        # one document that two apps on one folder build differently is not two in one build.
        refused = (
            len(apps) == 1
            and found[0].app in inventory.refuse_duplicates
            and len({(m.path, m.line) for m in found}) > 1
            and len({m.obj.get("apiVersion") for m in found}) == 1
        )
        yield Problem(
            r,
            f"{r.key} is declared {len(found)} times"
            + (" (identical copies)" if identical else "")
            + f": {'; '.join(where)}"
            + (
                f"; app {found[0].app} is built with kustomize, which refuses it: "
                "none of the app's changes apply"
                if refused
                else ""
            ),
            evidence={
                "declarations": [{"path": m.path, "line": m.line, "app": m.app} for m in found],
                "apps": apps,
                "identical": identical,
                "compared_with": f"{r.manifest.path}:{r.manifest.line}",
            },
            severity=Severity.LOW if identical and not refused else None,
        )
