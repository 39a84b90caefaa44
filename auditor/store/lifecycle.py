"""A scan's findings through their lifecycle, in one transaction.

    status      seen again by a scan        not seen by a complete scan that judged it
    (new)       open, or waived             -
    open        open (waived if waived)     resolved (retired if a retire branch removed it)
    ticketed    ticketed (waived ...)       resolved / retired
    waived      waived until its expiry     resolved / retired
    resolved    open again (reopened, first_seen kept)
    retired     open again (reopened)

`tickets` moves open -> ticketed (compare-and-set, queries.record_tickets); `retire apply`
marks the retire branch. A scan resolves only what it could have seen again: findings of
the rules that judged it, in its cluster and namespaces, and for a `--path` scan only
those that a scan of the same folders (or of folders inside them) saw. A partial scan
resolves nothing. Every change is a `finding_events` row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlite_utils import Database

from auditor.model import ACTIVE, Finding, Status
from auditor.store.schema import event
from auditor.store.session import session


@dataclass(frozen=True)
class ScanRecord:
    """What the store keeps about one scan (counts are filled in by `record`)."""

    started_at: str
    finished_at: str
    cluster: str
    context: str | None
    origin: str
    namespaces: tuple[str, ...]
    repo: str
    ref: str
    commit: str
    tool_version: str
    partial_reasons: tuple[str, ...]
    notes: tuple[str, ...]
    rules: tuple[str, ...]
    resources: int
    apps: tuple[dict[str, Any], ...] = ()
    # The --path folders the repo was read in; () is the whole repo.
    paths: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.partial_reasons

    def reads_all_of(self, paths: Sequence[str]) -> bool:
        """Did this scan read everything that a scan of the repo folders `paths` (none: the
        whole repo) read? Yes when it read the whole repo, or each of those folders lies in
        one of its own `--path`s."""
        return not self.paths or (
            bool(paths)
            and all(any(PurePosixPath(s).is_relative_to(p) for p in self.paths) for s in paths)
        )


def _row(f: Finding, scan_id: int, now: str) -> dict[str, Any]:
    """The finding's `findings` row as this scan saw it; `_record` adds its status, ticket
    and first sighting, which depend on the stored row."""
    return {
        "fingerprint": f.fingerprint,
        "rule": f.rule,
        "rule_name": f.rule_name,
        "severity": f.severity.value,
        "cluster": f.cluster,
        "api_group": f.key.group,
        "kind": f.key.kind,
        "namespace": f.key.namespace,
        "name": f.key.name,
        "locator": f.locator,
        "owner": f.owner,
        "owner_source": f.owner_source.value if f.owner_source else None,
        "last_seen": now,
        "resolved_at": None,
        "message": f.message,
        "evidence": json.dumps(f.evidence, default=str),
        "source_path": f.source.path if f.source else None,
        "source_line": f.source.line if f.source else None,
        "source_column": f.source.column if f.source else None,
        "source_end_line": f.source.end_line if f.source else None,
        "source_commit": f.source.commit if f.source else None,
        "source_author": f.source.author if f.source else None,
        "last_scan_id": scan_id,
        "waiver_reason": f.waiver.reason if f.waiver else None,
        "waiver_expires": f.waiver.expires.isoformat() if f.waiver else None,
        "waiver_ticket": f.waiver.ticket if f.waiver else None,
    }


def record(
    path: Path,
    scan: ScanRecord,
    findings: Sequence[Finding],
    lock_timeout: float | None = None,
    before_commit: Callable[[dict[str, Any], list[dict[str, Any]]], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Store one scan atomically; return the scan row and this scan's finding rows.
    `before_commit` (writing output files) runs inside the transaction: if it fails,
    nothing of the scan is stored."""
    with session(path, write=True, lock_timeout=lock_timeout) as db:
        scan_row, rows = _record(db, scan, findings)
        if before_commit is not None:
            before_commit(scan_row, rows)
    return scan_row, rows


def _record(
    db: Database, scan: ScanRecord, findings: Sequence[Finding]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Write one scan and move its findings through their statuses, inside the caller's
    transaction.

    Inserts the `scans` row, then upserts one `findings` row per distinct fingerprint (first
    wins): new ones start `open` (or `waived`), ones coming back from `resolved`/`retired`
    reopen and lose their ticket, others keep first-seen and ticket. Every status change gets
    a `finding_events` row and every finding a `sightings` row; a complete scan also resolves
    what its rules no longer see (`_resolve`). Returns the scan row with its counts, and the
    finding rows as stored."""
    now = scan.finished_at
    scan_row = {
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "cluster": scan.cluster,
        "context": scan.context,
        "origin": scan.origin,
        "namespaces": json.dumps(list(scan.namespaces)),
        "paths": json.dumps(list(scan.paths)),
        "repo": scan.repo,
        "ref": scan.ref,
        "commit": scan.commit,
        "tool_version": scan.tool_version,
        "complete": int(scan.complete),
        "partial_reasons": json.dumps(list(scan.partial_reasons)),
        "notes": json.dumps(list(scan.notes)),
        "rules": json.dumps(list(scan.rules)),
        "resources": scan.resources,
        "apps": json.dumps(
            [{k: v for k, v in a.items() if k not in ("inputs", "ignore")} for a in scan.apps]
        ),
    }
    scan_id = db.table("scans").insert(scan_row).last_pk
    assert scan_id is not None
    known = {
        r["fingerprint"]: r
        for r in db.query(
            "SELECT fingerprint, status, first_seen, first_scan_id, ticket_key FROM findings "
            "WHERE cluster = ?",
            [scan.cluster],
        )
    }
    new = reopened = 0
    rows = []
    events: list[dict[str, Any]] = []
    seen = set()
    for f in findings:
        if f.fingerprint in seen:
            continue
        seen.add(f.fingerprint)
        row = _row(f, scan_id, now)
        old = known.get(f.fingerprint)
        before = old["status"] if old else None
        comes_back = before in (Status.RESOLVED, Status.RETIRED)
        ticket = old["ticket_key"] if old and not comes_back else None
        status = Status.WAIVED if f.waived else Status.TICKETED if ticket else Status.OPEN
        row.update(status=status.value, ticket_key=ticket)
        if old is None:
            new += 1
            row.update(first_seen=now, first_scan_id=scan_id)
        else:
            reopened += comes_back
            row.update(first_seen=old["first_seen"], first_scan_id=old["first_scan_id"])
        if before != status.value:
            note = "first seen" if old is None else "seen again" if comes_back else "waiver changed"
            events.append(event(f.fingerprint, scan_id, now, before, status.value, note))
        rows.append(row)
    db.table("findings").upsert_all(rows, pk="fingerprint")
    db.table("sightings").insert_all(
        {
            "scan_id": scan_id,
            "fingerprint": r["fingerprint"],
            "severity": r["severity"],
            "message": r["message"],
        }
        for r in rows
    )
    resolved = _resolve(db, scan, scan_id, seen, now) if scan.complete else []
    db.table("finding_events").insert_all(events + resolved)
    counts = {
        "findings": len(rows),
        "new": new,
        "reopened": reopened,
        "resolved": len(resolved),
        "waived": sum(r["status"] == Status.WAIVED.value for r in rows),
    }
    db.table("scans").update(scan_id, counts)
    return {"id": scan_id, **scan_row, **counts}, rows


def _resolve(
    db: Database, scan: ScanRecord, scan_id: int, seen: set[str], now: str
) -> list[dict[str, Any]]:
    """Active findings of the rules that ran, in the scanned scope, not seen again: resolved,
    or retired when `mesh-audit retire` removed their resource. Returns the events.

    A `--path` scan's scope is the findings that a scan reading nothing outside its folders
    saw (`ScanRecord.reads_all_of`): another folder may hold what a finding depends on (its
    resource, a duplicate, a host), so a narrower scan not seeing it proves nothing. Scans
    stored before `scans.paths` existed (NULL) read the whole repo."""
    rules = list(scan.rules)
    active = [s.value for s in ACTIVE]
    sql = (
        f"SELECT fingerprint, namespace, status, retire_branch FROM findings WHERE cluster = ? "
        f"AND status IN ({', '.join('?' * len(active))}) "
        f"AND rule IN ({', '.join('?' * len(rules))})"
    )
    params = [scan.cluster, *active, *rules]
    if scan.paths:
        scopes = [
            p
            for (p,) in db.execute(
                "SELECT DISTINCT paths FROM scans WHERE cluster = ? AND paths IS NOT NULL",
                [scan.cluster],
            )
            if scan.reads_all_of(json.loads(p))
        ]
        sql += (
            " AND EXISTS (SELECT 1 FROM sightings s JOIN scans c ON c.id = s.scan_id "
            "WHERE s.fingerprint = findings.fingerprint "
            f"AND c.paths IN ({', '.join('?' * len(scopes))}))"
        )
        params += scopes
    events = []
    for r in db.query(sql, params):
        if r["fingerprint"] in seen or (scan.namespaces and r["namespace"] not in scan.namespaces):
            continue
        after = Status.RETIRED if r["retire_branch"] else Status.RESOLVED
        db.conn.execute(
            "UPDATE findings SET status = ?, resolved_at = ? WHERE fingerprint = ?",
            [after.value, now, r["fingerprint"]],
        )
        note = (
            f"gone after retire branch {r['retire_branch']}" if r["retire_branch"] else "not seen"
        )
        events.append(event(r["fingerprint"], scan_id, now, r["status"], after.value, note))
    return events
