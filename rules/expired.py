"""A resource whose expiry annotation has passed.

Annotations: `mesh-audit.io/expires` (ISO date or timestamp) or `mesh-audit.io/ttl`
(`30d`, `12h`, `90m`, `2w`, counted from creation), and kube-janitor's `janitor/expires`
and `janitor/ttl`. A value that cannot be read is reported too, since it protects nothing.

Rationale: teams mark canaries and experiments with an end date; past it, the config is
dead weight that still routes traffic.

Fix: remove the resource (or its manifest), or move the date if it is still needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.mesh.routes import mapping
from auditor.model import Problem, SyncState
from auditor.pipeline.inventory import Inventory, parse_time
from auditor.rulespec import Retire

ID = "MA301"
NAME = "expired"
SEVERITY = "high"

EXPIRES = ("mesh-audit.io/expires", "janitor/expires")
TTLS = ("mesh-audit.io/ttl", "janitor/ttl")
_TTL = re.compile(r"^(\d+)([smhdw])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

RETIRE = Retire.REMOVE
EXAMPLE_BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-promo, namespace: shop, annotations: {mesh-audit.io/expires: '2026-01-31'}}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""
EXAMPLE_GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-promo, namespace: shop, annotations: {mesh-audit.io/expires: '2030-01-31'}}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    timeout: 5s
"""


def _expiry(value: str) -> datetime | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return parse_time(value)


def check(inventory: Inventory, options: Mapping[str, Any]) -> Iterator[Problem]:
    for r in inventory.resources:
        if r.state is SyncState.UNKNOWN:
            continue
        notes = mapping(mapping(r.obj.get("metadata")).get("annotations"))
        for key in (*EXPIRES, *TTLS):
            if key not in notes:
                continue
            value = str(notes[key]).strip()
            locator = f'metadata.annotations["{key}"]'
            evidence: dict[str, Any] = {"annotation": key, "value": value}
            if key in EXPIRES:
                when = _expiry(value)
                if when is None:
                    yield Problem(
                        r, f"{r.key} has an unreadable {key}: {value!r}", locator, evidence
                    )
                    continue
            else:
                match = _TTL.match(value)
                created = inventory.created(r)
                if match is None:
                    yield Problem(
                        r, f"{r.key} has an unreadable {key}: {value!r}", locator, evidence
                    )
                    continue
                if created is None:
                    continue
                when = created + timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
                evidence["created"] = created.isoformat()
            if when <= inventory.now:
                evidence["expired_at"] = when.isoformat()
                days = (inventory.now - when).days
                yield Problem(
                    r, f"{r.key} expired {days} day(s) ago ({key}: {value})", locator, evidence
                )
