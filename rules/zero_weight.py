"""A weighted route sends 0% to a destination and has not changed for a while.

A route with several destinations where at least one sets a weight gives 0% to a
destination whose weight is 0 or absent. "Unchanged" is the last meaningful Git change
of the manifest (mass commits of more than `mass-commit-files` files, and commits that
leave the document's spec unchanged, are ignored); for live-only resources the newest
managedFields time, else creationTimestamp. The evidence says which date was used.

Routes whose weights a progressive-delivery controller writes (an Argo Rollout's
`trafficRouting.istio` routes, Flagger's and any other generated VirtualService) are
skipped: their canary leg rests at 0% by design. A 0% leg last written by such a
controller that no Rollout or Canary manages any more is a leftover: the evidence says so.

Rationale: a 0% leg is a canary that finished or was abandoned: it keeps a subset, a
DestinationRule and often a Deployment alive for nothing.

Fix: remove the 0% destination (and its subset), or finish the rollout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.controllers import left_by, managed_route
from auditor.mesh.routes import PROTOCOLS, items, mapping
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Option, Retire

ID = "MA306"
NAME = "zero-weight"
SEVERITY = "low"
NEEDS = Needs(history=True)
OPTIONS = {
    "min-age-days": Option(int, 14, "days a 0% leg may stay unchanged", minimum=0),
    "mass-commit-files": Option(int, 50, "commits touching more files do not date", minimum=0),
}

RETIRE = Retire.EDIT
EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
  managedFields: [{manager: kubectl, time: '2026-09-01T00:00:00Z'}]
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 100
    - destination: {host: reviews, subset: v2}
      weight: 0
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
  managedFields: [{manager: kubectl, time: '2026-09-01T00:00:00Z'}]
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
    timeout: 5s
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for vs in inventory.of_kind("VirtualService"):
        spec = vs.spec
        managed = inventory.managed.get(vs.key)
        zero = []
        for proto in PROTOCOLS:
            for i, rule in enumerate(items(spec.get(proto))):
                if managed_route(managed, proto, i):
                    continue  # the controller's canary leg rests at 0% between rollouts
                entries = [e for e in items(mapping(rule).get("route")) if isinstance(e, dict)]
                if len(entries) < 2 or not any(e.get("weight") for e in entries):
                    continue
                zero += [
                    (f"spec.{proto}[{i}].route[{j}]", e)
                    for j, e in enumerate(entries)
                    if not e.get("weight")
                ]
        if not zero:
            continue
        stale = inventory.unchanged(vs, options["mass-commit-files"])
        if stale is None or stale.days < options["min-age-days"]:
            continue
        evidence = stale.evidence()
        writer = left_by(vs.live)
        if writer is not None:
            before = inventory.remembered.get(str(vs.key))
            last = f"; last managed by {before}" if before else ""
            evidence["left_by"] = f"{writer}{last}; no Rollout or Canary manages this route now"
        for locator, entry in zero:
            dest = mapping(entry.get("destination"))
            target = str(dest.get("host") or "?") + (
                f" subset {dest['subset']}" if dest.get("subset") else ""
            )
            yield Problem(
                vs,
                f"{vs.key} sends 0% to {target}, unchanged for {int(stale.days)} days",
                locator,
                {"destination": dest, **evidence},
            )
