"""Fault injection, mirroring or an experimental name, unchanged for too long.

Signals: `fault` on an HTTP route, `mirror`/`mirrors`, or a name with a whole word
(split on `-`, `.`, `_`) among `words` (so `reviews-canary` counts, `latest` and
`contest` do not). Fires when the resource has not meaningfully changed for more than
`max-age-days` (see MA306 for how the date is found; mass commits of more than
`mass-commit-files` files are ignored).

Objects a controller generates are skipped, and names of objects an Argo Rollout manages
do not count (a Rollout's `canary` subset is permanent by design).

Rationale: experiments are meant to end. Faults left on hurt users; mirrors double the
load on the mirror target; "tmp" and "canary" config outlives its reason.

Fix: remove the fault or mirror, or the resource; rename it if it is permanent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.routes import http_routes
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Option, Retire

ID = "MA307"
NAME = "lingering-experiment"
SEVERITY = "medium"
NEEDS = Needs(history=True)
_WORD_SPLIT = re.compile(r"[-._]")
OPTIONS = {
    "max-age-days": Option(int, 30, "days an experiment may stay unchanged", minimum=0),
    "words": Option(
        list,
        ["canary", "test", "tmp", "temp", "exp", "experiment", "debug", "hotfix"],
        "name words that mark an experiment",
    ),
    "mass-commit-files": Option(int, 50, "commits touching more files do not date", minimum=0),
}

RETIRE = Retire.REMOVE
EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, creationTimestamp: '2026-01-01T00:00:00Z'}
spec:
  hosts: [reviews]
  http:
  - fault: {abort: {httpStatus: 500, percentage: {value: 10}}}
    route:
    - destination: {host: reviews}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop, creationTimestamp: '2026-01-01T00:00:00Z'}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""


def _signals(resource: Any, words: set[str], managed: bool) -> list[str]:
    found = []
    for i, route in http_routes(resource.spec) if resource.key.kind == "VirtualService" else ():
        if route.get("fault"):
            found.append(f"fault injection at spec.http[{i}].fault")
        if route.get("mirror") or route.get("mirrors"):
            found.append(f"mirroring at spec.http[{i}]")
    hits = sorted(set(_WORD_SPLIT.split(resource.key.name.lower())) & words)
    if hits and not managed:
        found.append(f"experimental name ({', '.join(hits)})")
    return found


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    words = {w.lower() for w in options["words"]}
    for r in inventory.resources:
        if r.key.kind not in ("VirtualService", "DestinationRule"):
            continue
        if inventory.generator(r.key) is not None:
            continue  # a controller's own objects (Flagger's `<name>-canary` rules)
        signals = _signals(r, words, r.key in inventory.managed)
        if not signals:
            continue
        stale = inventory.unchanged(r, options["mass-commit-files"])
        if stale is None or stale.days <= options["max-age-days"]:
            continue
        yield Problem(
            r,
            f"{r.key} looks like a lingering experiment ({'; '.join(signals)}), "
            f"unchanged for {int(stale.days)} days",
            evidence={"signals": signals, **stale.evidence()},
        )
