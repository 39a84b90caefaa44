"""What the monthly workflow reads and writes: tickets, retirement, history, listings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from auditor.errors import SourceError
from auditor.model import ACTIVE, Status
from auditor.store.schema import TO_FIX, event
from auditor.store.session import session


@dataclass(frozen=True)
class TicketInputs:
    """What tickets are made from: the active findings of the selected clusters, this
    period's tickets (each with the rows it lists), and the last scan of each cluster
    (repo, commit and context for links and commands)."""

    rows: list[dict[str, Any]]
    tickets: dict[str, dict[str, Any]]
    scans: dict[str, dict[str, Any]]


def _last_scans(db: Database) -> dict[str, dict[str, Any]]:
    """Each cluster's last scan: the repo, commit and context links and commands use."""
    sql = "SELECT * FROM scans WHERE id IN (SELECT MAX(id) FROM scans GROUP BY cluster)"
    return {s["cluster"]: dict(s) for s in db.query(sql)}


def ticket_candidates(path: Path, period: str, clusters: Sequence[str] = ()) -> TicketInputs:
    """Active findings (open or ticketed) by cluster, then resource, with the inputs above."""
    with session(path) as db:
        if not db.table("tickets").exists():
            raise SourceError(f"{path} predates tickets: run `mesh-audit scan` once to migrate it")
        where, args = [f"status IN ({', '.join('?' * len(TO_FIX))})"], list(TO_FIX)
        if clusters:
            where.append(f"cluster IN ({', '.join('?' * len(clusters))})")
            args += clusters
        rows = list(
            db.query(
                f"SELECT * FROM findings WHERE {' AND '.join(where)} "
                "ORDER BY cluster, kind, namespace, name, rule, locator",
                args,
            )
        )
        tickets = {
            t["key"]: dict(t) for t in db.query("SELECT * FROM tickets WHERE period = ?", [period])
        }
        for ticket in tickets.values():
            fps = json.loads(ticket["fingerprints"])
            marks = ", ".join("?" * len(fps))
            ticket["rows"] = list(
                db.query(f"SELECT * FROM findings WHERE fingerprint IN ({marks})", fps)
            )
        return TicketInputs(rows, tickets, _last_scans(db))


def record_tickets(
    path: Path,
    tickets: Sequence[dict[str, Any]],
    now: str,
    lock_timeout: float | None = None,
    before_commit: Callable[[], None] | None = None,
) -> list[str]:
    """Store tickets; each listed finding points at its ticket, and open ones become
    `ticketed` (with an event), in one transaction.

    Compare-and-set: a finding moves to `ticketed` only from `open`, the status it had when
    the tickets were planned. A new one that a concurrent scan resolved (or waived)
    meanwhile keeps the status it really has; their fingerprints are returned."""
    skipped = []
    with session(path, write=True, lock_timeout=lock_timeout) as db:
        db.table("tickets").upsert_all(
            [{k: v for k, v in t.items() if k != "new"} for t in tickets], pk="key"
        )
        events = []
        for t in tickets:
            new = set(t["new"])
            for fingerprint in json.loads(t["fingerprints"]):
                moved = db.conn.execute(
                    "UPDATE findings SET status = ?, ticket_key = ? "
                    "WHERE fingerprint = ? AND status = ?",
                    [Status.TICKETED.value, t["key"], fingerprint, Status.OPEN.value],
                ).rowcount
                if moved:
                    before, after = Status.OPEN.value, Status.TICKETED.value
                    events.append(event(fingerprint, None, now, before, after, t["key"]))
                    continue
                kept = db.conn.execute(
                    "UPDATE findings SET ticket_key = ? WHERE fingerprint = ? AND status = ?",
                    [t["key"], fingerprint, Status.TICKETED.value],
                ).rowcount
                if not kept and fingerprint in new:
                    skipped.append(fingerprint)
        db.table("finding_events").insert_all(events)
        if before_commit is not None:
            before_commit()
    return skipped


def retire_candidates(
    path: Path,
    rules: Sequence[str],
    cutoff: str,
    clusters: Sequence[str] = (),
    lock_timeout: float | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
    """Active, unwaived findings of `rules` first seen by `cutoff` (of `clusters`, default
    all), and each cluster's kubeconfig context as its latest scan recorded it."""
    sql = (
        f"SELECT * FROM findings WHERE status IN ({', '.join('?' * len(TO_FIX))}) "
        f"AND rule IN ({', '.join('?' * len(rules))}) AND first_seen <= ?"
    )
    args: list[Any] = [*TO_FIX, *rules, cutoff]
    if clusters:
        sql += f" AND cluster IN ({', '.join('?' * len(clusters))})"
        args += clusters
    sql += " ORDER BY cluster, kind, namespace, name, rule, fingerprint"
    with session(path, lock_timeout=lock_timeout) as db:
        rows = list(db.query(sql, args))
        contexts = {cluster: scan["context"] for cluster, scan in _last_scans(db).items()}
    return rows, contexts


def mark_retiring(
    path: Path,
    resources: Sequence[tuple[str, str, str, str]],
    fingerprints: Sequence[str],
    branch: str,
    lock_timeout: float | None = None,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Remember the retire branch on every active finding of the removed resources (cluster,
    kind, namespace, name) and on the edited-away findings: when they go away they become
    `retired`, not just resolved. `before_commit` (creating and pushing the branch) runs
    inside the transaction, so the database never names a branch that failed."""
    active = [s.value for s in ACTIVE]
    marks = ", ".join("?" * len(active))
    with session(path, write=True, lock_timeout=lock_timeout) as db:
        for cluster, kind, namespace, name in resources:
            db.conn.execute(
                "UPDATE findings SET retire_branch = ? WHERE cluster = ? AND kind = ? "
                f"AND namespace = ? AND name = ? AND status IN ({marks})",
                [branch, cluster, kind, namespace, name, *active],
            )
        for fingerprint in fingerprints:
            db.conn.execute(
                "UPDATE findings SET retire_branch = ? WHERE fingerprint = ? "
                f"AND status IN ({marks})",
                [branch, fingerprint, *active],
            )
        if before_commit is not None:
            before_commit()


def history(
    path: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """All findings, all status events (oldest first) and each cluster's last scan."""
    with session(path) as db:
        if not db.table("finding_events").exists():
            raise SourceError(f"{path} predates history: run `mesh-audit scan` once to migrate it")
        return (
            list(db.query("SELECT * FROM findings")),
            list(db.query("SELECT * FROM finding_events ORDER BY at, id")),
            _last_scans(db),
        )


def _values(value: str | Sequence[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or ())


def query(
    path: Path,
    status: str | Sequence[str] | None,
    owner: str | None,
    rule: str | Sequence[str] | None,
    cluster: str | Sequence[str] | None = None,
    *,
    namespaces: Sequence[str] = (),
    severities: Sequence[str] = (),
    kinds: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Stored findings, filtered (each filter given several values matches any of them);
    reading never creates or migrates the file."""
    where, args = [], []
    for columns, values in (
        (("status",), _values(status)),
        (("owner",), _values(owner)),
        (("cluster",), _values(cluster)),
        (("namespace",), namespaces),
        (("severity",), severities),
        (("kind",), kinds),
        (("rule", "rule_name"), _values(rule)),
    ):
        if values:
            marks = ", ".join("?" * len(values))
            where.append("(" + " OR ".join(f"{c} IN ({marks})" for c in columns) + ")")
            args += list(values) * len(columns)
    sql = "SELECT * FROM findings"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY owner, severity, kind, namespace, name, rule"
    with session(path) as db:
        return list(db.query(sql, args))
