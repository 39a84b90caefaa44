"""A destination or DestinationRule host that matches no Service or ServiceEntry.

Checks VirtualService route and mirror destinations (and the destination port, when one
is given) and DestinationRule hosts. Hosts resolve as Istio resolves them: a short name
is qualified with the resource's namespace; FQDNs and wildcard ServiceEntry hosts match;
a Service exported elsewhere (`networking.istio.io/exportTo`) or a ServiceEntry's
`exportTo` hide it; a VirtualService with `exportTo` must see the host from each
namespace it is exported to. Hosts reach across namespaces, so a scan limited with `-n`
does not judge it (its findings stay as they are). A DestinationRule whose host nothing
routes to either is left to MA308 (one finding for one dead rule). An object only in Git,
in a namespace with no Service live or in the repo, naming a host of such a namespace,
belongs to an app deployed elsewhere or not at all: that host is not judged (MA102 reports
the object as not applied). (Peer: istioctl
analyze IST0101 host, IST0174.)

Rationale: traffic to a host nobody serves fails; a rule for it is dead config.

Fix: point the destination at an existing service, or remove the route or rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auditor.mesh.hosts import fqdn, lookup_namespaces, rule_host
from auditor.model import Problem
from auditor.pipeline.inventory import Inventory
from auditor.rulespec import Needs

ID = "MA302"
NAME = "unresolved-host"
SEVERITY = "high"
NEEDS = Needs(kinds=("Service", "ServiceEntry"), all_namespaces=True)

EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: ratings}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
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
    for vs in inventory.of_kind("VirtualService"):
        spaces = lookup_namespaces(vs.obj)
        index = inventory.hosts(vs)
        for d in inventory.destinations(vs):
            host = fqdn(d.host, vs.key.namespace)
            if not inventory.can_judge_host(vs, host):
                continue
            targets = index.resolve(host, spaces)
            port_missing = d.port is not None and all(
                t.ports and d.port not in t.ports for t in targets
            )
            if targets and not port_missing:
                continue
            evidence = {"host": d.host, "resolved": host, "visible_from": list(spaces)}
            what = "mirror host" if d.mirror else "destination host"
            if not targets:
                yield Problem(
                    vs,
                    f"{vs.key} {what} {d.host or '(empty)'!r} matches no Service or ServiceEntry "
                    f"visible from {', '.join(spaces)}",
                    d.locator,
                    evidence,
                )
            else:
                ports = sorted({p for t in targets for p in t.ports})
                yield Problem(
                    vs,
                    f"{vs.key} {what} {d.host}:{d.port} matches no port of the service ({ports})",
                    d.locator,
                    {**evidence, "port": d.port, "service_ports": ports},
                )
    for dr in inventory.of_kind("DestinationRule"):
        raw, host = rule_host(dr.spec, dr.key.namespace)
        if not inventory.can_judge_host(dr, host) or not inventory.subsets_routed(host):
            continue  # nothing routes there either: a dead rule, MA308's one finding
        if not inventory.hosts(dr).resolve(host, (dr.key.namespace,)):
            yield Problem(
                dr,
                f"{dr.key} host {raw!r} matches no Service or ServiceEntry",
                "spec.host",
                {"host": raw, "resolved": host},
            )
