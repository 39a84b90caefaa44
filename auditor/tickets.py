"""Turn open findings into one ticket per owner per period, idempotently.

A ticket's key is `PERIOD:OWNER`; it lists the fingerprints it covers. A second run in
the same period updates the same ticket with findings opened since, and findings
already ticketed are never ticketed again. Owner-less findings go to a fallback owner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import store


@dataclass(frozen=True)
class Ticket:
    key: str
    owner: str
    period: str
    rows: tuple[dict[str, Any], ...]
    new: tuple[str, ...]
    existing: bool
    url: str | None = None

    @property
    def title(self) -> str:
        return f"mesh-audit {self.period}: {len(self.rows)} mesh config finding(s) for {self.owner}"

    def record(self, now: str, url: str | None) -> dict[str, Any]:
        return {
            "key": self.key,
            "owner": self.owner,
            "period": self.period,
            "title": self.title,
            "fingerprints": json.dumps([r["fingerprint"] for r in self.rows]),
            "created_at": now,
            "updated_at": now,
            "url": url or self.url,
            "new": list(self.new),
        }


def plan(db: Path, period: str, default_owner: str) -> list[Ticket]:
    """Tickets to create or update for this period; empty when nothing new is open."""
    rows, existing = store.ticket_candidates(db, period)
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_owner.setdefault(row["owner"] or default_owner, []).append(row)
    tickets = []
    for owner, fresh in sorted(by_owner.items()):
        key = f"{period}:{owner}"
        old = existing.get(key)
        earlier = [
            r
            for r in (old["rows"] if old else [])
            if r["fingerprint"] not in {f["fingerprint"] for f in fresh}
        ]
        tickets.append(
            Ticket(
                key=key,
                owner=owner,
                period=period,
                rows=tuple(earlier + fresh),
                new=tuple(r["fingerprint"] for r in fresh),
                existing=old is not None,
                url=old["url"] if old else None,
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
