"""The SQLite store: scans, findings (one row per fingerprint) and per-scan sightings.

One scan is one `BEGIN IMMEDIATE` transaction: a crash or Ctrl-C leaves the file as
it was, and a second writer waits (up to the lock timeout) and then fails clearly.
The schema is versioned through sqlite-utils migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from auditor.errors import InputError, SourceError
from auditor.model import ACTIVE, Finding, Severity, Status

migrations = Migrations("mesh-audit")
# "Active" in `findings`, tickets, reports and dashboards: still to be fixed.
TO_FIX = (Status.OPEN.value, Status.TICKETED.value)


@migrations()
def m001_initial(db: Database) -> None:
    db["scans"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "cluster": str,
            "context": str,
            "origin": str,
            "namespaces": str,
            "repo": str,
            "ref": str,
            "commit": str,
            "tool_version": str,
            "complete": int,
            "partial_reasons": str,
            "notes": str,
            "rules": str,
            "resources": int,
            "findings": int,
            "new": int,
            "reopened": int,
            "resolved": int,
        },
        pk="id",
    )
    db["findings"].create(
        {
            "fingerprint": str,
            "rule": str,
            "rule_name": str,
            "severity": str,
            "cluster": str,
            "api_group": str,
            "kind": str,
            "namespace": str,
            "name": str,
            "locator": str,
            "owner": str,
            "owner_source": str,
            "status": str,
            "first_seen": str,
            "last_seen": str,
            "resolved_at": str,
            "message": str,
            "evidence": str,
            "source_path": str,
            "source_line": int,
            "source_commit": str,
            "first_scan_id": int,
            "last_scan_id": int,
        },
        pk="fingerprint",
        foreign_keys=[("first_scan_id", "scans", "id"), ("last_scan_id", "scans", "id")],
    )
    db["findings"].create_index(["cluster", "status"])
    db["findings"].create_index(["owner"])
    db["sightings"].create(
        {"scan_id": int, "fingerprint": str, "severity": str, "message": str},
        pk=("scan_id", "fingerprint"),
        foreign_keys=[("scan_id", "scans", "id"), ("fingerprint", "findings", "fingerprint")],
    )
    db["sightings"].create_index(["fingerprint"])


@migrations()
def m002_waivers(db: Database) -> None:
    """Findings can be waived (status `waived`) with a reason, an expiry and a ticket."""
    for column in ("waiver_reason", "waiver_expires", "waiver_ticket"):
        db["findings"].add_column(column, str)
    db["scans"].add_column("waived", int)


@migrations()
def m003_lifecycle(db: Database) -> None:
    """Tickets, retirement and a history of every status change."""
    db["findings"].add_column("ticket_key", str)
    db["findings"].add_column("source_author", str)
    db["findings"].add_column("retire_branch", str)
    db["finding_events"].create(
        {
            "id": int,
            "fingerprint": str,
            "scan_id": int,
            "at": str,
            "from_status": str,
            "to_status": str,
            "note": str,
        },
        pk="id",
        foreign_keys=[("fingerprint", "findings", "fingerprint")],
    )
    db["finding_events"].create_index(["fingerprint"])
    db["tickets"].create(
        {
            "key": str,
            "owner": str,
            "period": str,
            "title": str,
            "fingerprints": str,
            "created_at": str,
            "updated_at": str,
            "url": str,
        },
        pk="key",
    )


@migrations()
def m004_store_safety(db: Database) -> None:
    """Give every finding kept from before the status history a "first seen" event (and,
    when it is already gone, its resolution), so monthly numbers rebuilt from the history
    still count it."""
    earliest = {
        r["fingerprint"]: r
        for r in db.query(
            # SQLite takes the bare column from the row that holds the min().
            "SELECT fingerprint, from_status, min(at) AS at FROM finding_events "
            "GROUP BY fingerprint"
        )
    }
    first = {
        r["fingerprint"]
        for r in db.query("SELECT fingerprint FROM finding_events WHERE from_status IS NULL")
    }
    note = "first seen (before the history was kept)"
    events = []
    for f in db.query("SELECT * FROM findings"):
        fp = f["fingerprint"]
        if fp in first:
            continue
        if fp in earliest:
            before = earliest[fp]["from_status"]
            events.append(_event(fp, f["first_scan_id"], f["first_seen"], None, before, note))
        elif f["status"] in (Status.RESOLVED, Status.RETIRED):
            events.append(_event(fp, f["first_scan_id"], f["first_seen"], None, "open", note))
            gone = f["resolved_at"] or f["last_seen"]
            events.append(_event(fp, None, gone, "open", f["status"], "not seen"))
        else:
            events.append(_event(fp, f["first_scan_id"], f["first_seen"], None, f["status"], note))
    db["finding_events"].insert_all(events)


SEVERITY_RANK = "CASE severity " + " ".join(f"WHEN '{s}' THEN {s.rank}" for s in Severity) + " END"
VIEWS = {
    "active_findings": f"""
        SELECT fingerprint, cluster, owner, severity, {SEVERITY_RANK} AS severity_rank, rule,
               rule_name, kind, namespace, name, status, ticket_key, first_seen, last_seen,
               CAST(julianday(last_seen) - julianday(first_seen) AS INTEGER) AS age_days,
               source_path, source_line, message, evidence
        FROM findings WHERE status IN ('open', 'ticketed')""",
    "findings_by_owner": f"""
        SELECT cluster, COALESCE(owner, '(no owner)') AS owner,
               SUM(status IN ('open', 'ticketed')) AS active,
               SUM(status = 'open') AS open, SUM(status = 'ticketed') AS ticketed,
               SUM(status = 'waived') AS waived, SUM(status = 'resolved') AS resolved,
               SUM(status = 'retired') AS retired,
               MAX(CASE WHEN status IN ('open', 'ticketed') THEN {SEVERITY_RANK} END)
                   AS worst_active_rank,
               MIN(CASE WHEN status IN ('open', 'ticketed') THEN first_seen END)
                   AS oldest_active_since
        FROM findings GROUP BY cluster, COALESCE(owner, '(no owner)')""",
    "scan_history": """
        SELECT id, cluster, origin, finished_at, repo, "commit", complete, resources,
               findings, new, reopened, resolved, waived,
               (SELECT COUNT(*) FROM sightings s JOIN findings f USING (fingerprint)
                 WHERE s.scan_id = scans.id AND f.severity IN ('high', 'critical'))
                 AS high_or_critical
        FROM scans""",
}


@migrations()
def m005_review(db: Database) -> None:
    """Field-precise locations, links Datasette can follow, and views for the review."""
    db["findings"].add_column("source_column", int)
    db["findings"].add_column("source_end_line", int)
    db["finding_events"].add_foreign_key("scan_id", "scans", "id")
    db["findings"].add_foreign_key("ticket_key", "tickets", "key")
    db["finding_events"].create_index(["scan_id"])
    db["tickets"].add_column("clusters", str)
    for name, sql in VIEWS.items():
        db.create_view(name, " ".join(sql.split()))


@migrations()
def m006_apps(db: Database) -> None:
    """Each scan keeps the apps it rendered or read (path, type, status, object count)."""
    db["scans"].add_column("apps", str)


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

    @property
    def complete(self) -> bool:
        return not self.partial_reasons


DEFAULT_LOCK_TIMEOUT = 30.0


class DatabaseLocked(SourceError):
    """Another connection holds the lock longer than we were told to wait."""


def default_lock_timeout() -> float:
    """Seconds to wait for a database another run holds: MESH_AUDIT_LOCK_TIMEOUT, else 30.
    Read-only commands have no --lock-timeout of their own and wait this long."""
    value = os.environ.get("MESH_AUDIT_LOCK_TIMEOUT", "")
    try:
        return float(value) if value else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise InputError(f"MESH_AUDIT_LOCK_TIMEOUT must be seconds, got {value!r}") from None


def _open(path: Path, write: bool, timeout: float) -> sqlite3.Connection:
    if not path.exists():
        if not write:
            raise SourceError(f"database not found: {path} (run `mesh-audit scan` first)")
        if not path.parent.is_dir():
            raise SourceError(f"cannot create database {path}: folder does not exist")
    # Never `mode=ro` when the file is writable: only a writable handle can roll back the
    # journal (or WAL frames) of a writer that was killed, so a read-only one fails instead.
    mode = "rwc" if write else "rw" if os.access(path, os.W_OK) else "ro"
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode={mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open database {path}: {exc}") from None
    return conn


def _failure(path: Path, write: bool, timeout: float, exc: sqlite3.Error) -> SourceError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return DatabaseLocked(
            f"database {path} is locked by another mesh-audit run "
            f"(waited {timeout:g}s); try again when it has finished"
        )
    if write:
        return SourceError(f"cannot write database {path}: {text}")
    return SourceError(f"database {path} is not readable: {text}")


@contextmanager
def session(
    path: Path, *, write: bool = False, lock_timeout: float | None = None, schema: bool = True
) -> Iterator[Database]:
    """The one way to the database, so every command opens, recovers, waits and fails alike.

    A read session is query-only (and never creates or migrates the file). A write session
    switches the file to WAL, takes the write lock (`BEGIN IMMEDIATE`), migrates, and
    commits what its body did all together, or nothing when the body raises: the body's
    last steps (output files) run before the commit. Any SQLite failure, on open or in the
    body, is exit 3 with one line.
    """
    timeout = default_lock_timeout() if lock_timeout is None else lock_timeout
    conn = _open(path, write, timeout)
    db = Database(conn)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if write:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(db)
                yield db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            if schema and not db["findings"].exists():
                raise SourceError(f"{path} is not a mesh-audit database")
            yield db
    except sqlite3.Error as exc:
        raise _failure(path, write, timeout, exc) from None
    finally:
        conn.close()


def check_readable(path: Path) -> None:
    """Fail before any slow read when --db names something that is not a database; a lock
    held by another run is fine here (the write waits for it later)."""
    if not path.exists():
        if not path.parent.is_dir():
            raise SourceError(f"cannot create database {path}: folder does not exist")
        return
    try:
        with session(path, lock_timeout=0, schema=False):
            pass
    except DatabaseLocked:
        return


def _row(f: Finding, scan_id: int, now: str) -> dict[str, Any]:
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
        "status": (Status.WAIVED if f.waived else Status.OPEN).value,
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
    now = scan.finished_at
    scan_row = {
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "cluster": scan.cluster,
        "context": scan.context,
        "origin": scan.origin,
        "namespaces": json.dumps(list(scan.namespaces)),
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
    scan_id = db["scans"].insert(scan_row).last_pk
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
            events.append(_event(f.fingerprint, scan_id, now, before, status.value, note))
        rows.append(row)
    db["findings"].upsert_all(rows, pk="fingerprint")
    db["sightings"].insert_all(
        {
            "scan_id": scan_id,
            "fingerprint": r["fingerprint"],
            "severity": r["severity"],
            "message": r["message"],
        }
        for r in rows
    )
    resolved = _resolve(db, scan, scan_id, seen, now) if scan.complete else []
    db["finding_events"].insert_all(events + resolved)
    counts = {
        "findings": len(rows),
        "new": new,
        "reopened": reopened,
        "resolved": len(resolved),
        "waived": sum(r["status"] == Status.WAIVED.value for r in rows),
    }
    db["scans"].update(scan_id, counts)
    return {"id": scan_id, **scan_row, **counts}, rows


def _event(
    fingerprint: str, scan_id: int | None, at: str, before: str | None, after: str, note: str
) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "scan_id": scan_id,
        "at": at,
        "from_status": before,
        "to_status": after,
        "note": note,
    }


def _resolve(
    db: Database, scan: ScanRecord, scan_id: int, seen: set[str], now: str
) -> list[dict[str, Any]]:
    """Active findings of the rules that ran, in the scanned scope, not seen again: resolved,
    or retired when `mesh-audit retire` removed their resource. Returns the events."""
    rules = list(scan.rules)
    active = [s.value for s in ACTIVE]
    sql = (
        f"SELECT fingerprint, namespace, status, retire_branch FROM findings WHERE cluster = ? "
        f"AND status IN ({', '.join('?' * len(active))}) "
        f"AND rule IN ({', '.join('?' * len(rules))})"
    )
    events = []
    for r in db.query(sql, [scan.cluster, *active, *rules]):
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
        events.append(_event(r["fingerprint"], scan_id, now, r["status"], after.value, note))
    return events


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
        if not db["tickets"].exists():
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
        db["tickets"].upsert_all(
            [{k: v for k, v in t.items() if k != "new"} for t in tickets], pk="key"
        )
        events = []
        for t in tickets:
            new = set(t["new"])
            for fingerprint in json.loads(t["fingerprints"]):
                moved = db.conn.execute(
                    "UPDATE findings SET status = 'ticketed', ticket_key = ? "
                    "WHERE fingerprint = ? AND status = 'open'",
                    [t["key"], fingerprint],
                ).rowcount
                if moved:
                    events.append(_event(fingerprint, None, now, "open", "ticketed", t["key"]))
                    continue
                kept = db.conn.execute(
                    "UPDATE findings SET ticket_key = ? WHERE fingerprint = ? "
                    "AND status = 'ticketed'",
                    [t["key"], fingerprint],
                ).rowcount
                if not kept and fingerprint in new:
                    skipped.append(fingerprint)
        db["finding_events"].insert_all(events)
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
    marks = ", ".join("?" * len(rules))
    sql = (
        "SELECT * FROM findings WHERE status IN ('open', 'ticketed') "
        f"AND rule IN ({marks}) AND first_seen <= ?"
    )
    args: list[Any] = [*rules, cutoff]
    if clusters:
        sql += f" AND cluster IN ({', '.join('?' * len(clusters))})"
        args += clusters
    sql += " ORDER BY cluster, kind, namespace, name, rule, fingerprint"
    with session(path, lock_timeout=lock_timeout) as db:
        rows = list(db.query(sql, args))
        contexts = {
            r["cluster"]: r["context"]
            for r in db.query(
                "SELECT cluster, context FROM scans WHERE id IN "
                "(SELECT max(id) FROM scans GROUP BY cluster)"
            )
        }
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
        if not db["finding_events"].exists():
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
