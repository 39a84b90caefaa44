"""A DestinationRule whose host no VirtualService routes to and nothing resolves.

Needs every VirtualService, so it does not run on scans limited with `-n`.

Rationale: with no route and no Service or ServiceEntry behind its host, the rule
configures nothing; it is left over from a service that was deleted or renamed.

Fix: delete the DestinationRule (and its manifest).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import rule_host
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs, Retire

ID = "MA308"
NAME = "unreferenced-destinationrule"
SEVERITY = "low"
NEEDS = Needs(kinds=("VirtualService", "Service", "ServiceEntry"), all_namespaces=True)

RETIRE = Retire.REMOVE
EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: deleted-service, namespace: shop}
spec:
  host: deleted-service
"""
EXAMPLE_GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
"""


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for dr in inventory.of_kind("DestinationRule"):
        raw, host = rule_host(dr.spec, dr.key.namespace)
        if inventory.subsets_routed(host) or inventory.hosts(dr).resolve(host, (dr.key.namespace,)):
            continue
        yield Problem(
            dr,
            f"{dr.key} configures host {raw!r}, which no route uses and no service provides",
            "spec.host",
            {"host": raw, "resolved": host},
        )
