"""Waivers: a finding accepted for a reason, until a date. Waived findings stay visible.

From `.mesh-audit.yaml`:

    waivers:
      - {rule: MA306, namespace: "team-*", name: "reviews*", reason: "...",
         expires: 2027-01-31, ticket: OPS-1}

or from the resource itself:

    metadata:
      annotations:
        mesh-audit.io/waive: "MA306=canary paused for the freeze;expires=2027-01-31;ticket=OPS-1"

(several waivers: one per line). Reason and expiry are mandatory. Past its expiry a
waiver stops applying: the finding counts again and the expired waiver is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Any

from auditor.model import Resource, Waiver

ANNOTATION = "mesh-audit.io/waive"


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def parse_annotation(value: str, rule_ids: dict[str, str]) -> tuple[list[Waiver], list[str]]:
    """Waivers from a `mesh-audit.io/waive` value, and a message per invalid entry."""
    waivers, errors = [], []
    for line in str(value).splitlines():
        if not line.strip():
            continue
        head, *fields = [part.strip() for part in line.split(";")]
        rule_ref, _, reason = head.partition("=")
        options = dict(f.partition("=")[::2] for f in fields)
        rule = rule_ids.get(rule_ref.strip())
        expires = parse_date(options.get("expires", ""))
        if rule is None:
            errors.append(f"unknown rule {rule_ref.strip()!r}")
        elif not reason.strip():
            errors.append(f"{rule}: a waiver needs a reason (RULE=reason;expires=YYYY-MM-DD)")
        elif expires is None:
            errors.append(f"{rule}: a waiver needs expires=YYYY-MM-DD")
        else:
            waivers.append(
                Waiver(
                    rule,
                    reason.strip(),
                    expires,
                    "annotation",
                    ticket=options.get("ticket") or None,
                )
            )
    return waivers, errors


def matching(waivers: Iterable[Waiver], rule: str, resource: Resource) -> Waiver | None:
    """The waiver for this rule on this resource: the one that lasts longest."""
    key = resource.key
    found = [
        w
        for w in waivers
        if w.rule == rule
        and fnmatchcase(key.namespace, w.namespace)
        and fnmatchcase(key.name, w.name)
    ]
    return max(found, key=lambda w: w.expires, default=None)
