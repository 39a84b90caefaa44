"""Turn active findings into one ticket per owner per period, idempotently.

A ticket's key is `PERIOD:CLUSTERS:OWNER` (the clusters given with --cluster, else every
cluster in the database); it lists every finding of that owner still active (open or
ticketed), so a ticket for November also carries what October's ticket left unfixed. A
second run in the same period updates the ticket only when its findings changed.
Owner-less findings go to a fallback owner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import store


@dataclass(frozen=True)
class Ticket:
    key: str
    owner: str
    period: str
    # Clusters of the selection the key names, and the clusters this ticket's findings are in.
    selection: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    new: tuple[str, ...]
    existing: bool
    url: str | None = None
    created_at: str | None = None
    # Each cluster's last scan (repo, commit, context): for links and commands.
    scans: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def clusters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r["cluster"] for r in self.rows))

    @property
    def title(self) -> str:
        return (
            f"mesh-audit {self.period} [{', '.join(self.clusters)}]: "
            f"{len(self.rows)} active mesh config finding(s) for {self.owner}"
        )

    def new_this_period(self, row: dict[str, Any]) -> bool:
        return (row["first_seen"] or "")[:7] == self.period

    def record(self, now: str, url: str | None) -> dict[str, Any]:
        return {
            "key": self.key,
            "owner": self.owner,
            "period": self.period,
            "title": self.title,
            "clusters": json.dumps(list(self.clusters)),
            "fingerprints": json.dumps([r["fingerprint"] for r in self.rows]),
            "created_at": self.created_at or now,
            "updated_at": now,
            "url": url or self.url,
            "new": list(self.new),
        }


def ticket_key(period: str, selection: Sequence[str], owner: str) -> str:
    return f"{period}:{'+'.join(selection)}:{owner}"


def plan(db: Path, period: str, default_owner: str, clusters: Sequence[str] = ()) -> list[Ticket]:
    """Tickets to create or update for this period; a ticket whose findings are unchanged
    since the last run is left alone."""
    inputs = store.ticket_candidates(db, period, clusters)
    selection = tuple(sorted(set(clusters) or set(inputs.scans)))
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for row in inputs.rows:
        # Already in one of this period's tickets: it stays there until the next period.
        held = inputs.tickets.get(row["ticket_key"] or "")
        owner = held["owner"] if held else row["owner"] or default_owner
        by_owner.setdefault(owner, []).append(row)
    tickets = []
    for owner, rows in sorted(by_owner.items()):
        key = ticket_key(period, selection, owner)
        old = inputs.tickets.get(key)
        listed = set(json.loads(old["fingerprints"])) if old else set()
        current = [r["fingerprint"] for r in rows]
        if old is not None and set(current) == listed:
            continue
        tickets.append(
            Ticket(
                key=key,
                owner=owner,
                period=period,
                selection=selection,
                rows=tuple(rows),
                new=tuple(fp for fp in current if fp not in listed),
                existing=old is not None,
                url=old["url"] if old else None,
                created_at=old["created_at"] if old else None,
                scans=inputs.scans,
            )
        )
    return tickets


def record(
    db: Path,
    tickets: Sequence[Ticket],
    now: str,
    urls: dict[str, str],
    lock_timeout: float | None = None,
    before_commit: Callable[[], None] | None = None,
) -> list[str]:
    """Store the tickets; returns findings a concurrent scan moved, left as they are."""
    return store.record_tickets(
        db, [t.record(now, urls.get(t.key)) for t in tickets], now, lock_timeout, before_commit
    )
