"""The schema: tables, views and their migrations (sqlite-utils `Migrations`, applied in
order by name and recorded in `_sqlite_migrations`), and the shape of a status event."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlite_utils import Database, Migrations

from auditor.model import NO_OWNER, Severity, Status

migrations = Migrations("mesh-audit")
# "Active" in `findings`, tickets, reports and dashboards: still to be fixed.
TO_FIX = (Status.OPEN.value, Status.TICKETED.value)


@migrations()
def m001_initial(db: Database) -> None:
    """Scans, findings (one row per fingerprint) and sightings (which scan saw which)."""
    db.table("scans").create(
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
    db.table("findings").create(
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
    db.table("findings").create_index(["cluster", "status"])
    db.table("findings").create_index(["owner"])
    db.table("sightings").create(
        {"scan_id": int, "fingerprint": str, "severity": str, "message": str},
        pk=("scan_id", "fingerprint"),
        foreign_keys=[("scan_id", "scans", "id"), ("fingerprint", "findings", "fingerprint")],
    )
    db.table("sightings").create_index(["fingerprint"])


@migrations()
def m002_waivers(db: Database) -> None:
    """Findings can be waived (status `waived`) with a reason, an expiry and a ticket."""
    for column in ("waiver_reason", "waiver_expires", "waiver_ticket"):
        db.table("findings").add_column(column, str)
    db.table("scans").add_column("waived", int)


@migrations()
def m003_lifecycle(db: Database) -> None:
    """Tickets, retirement and a history of every status change."""
    db.table("findings").add_column("ticket_key", str)
    db.table("findings").add_column("source_author", str)
    db.table("findings").add_column("retire_branch", str)
    db.table("finding_events").create(
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
    db.table("finding_events").create_index(["fingerprint"])
    db.table("tickets").create(
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
    OPEN = Status.OPEN.value
    events = []
    for f in db.query("SELECT * FROM findings"):
        fp = f["fingerprint"]
        if fp in first:
            continue
        if fp in earliest:
            before = earliest[fp]["from_status"]
            events.append(event(fp, f["first_scan_id"], f["first_seen"], None, before, note))
        elif f["status"] in (Status.RESOLVED, Status.RETIRED):
            events.append(event(fp, f["first_scan_id"], f["first_seen"], None, OPEN, note))
            gone = f["resolved_at"] or f["last_seen"]
            events.append(event(fp, None, gone, OPEN, f["status"], "not seen"))
        else:
            events.append(event(fp, f["first_scan_id"], f["first_seen"], None, f["status"], note))
    db.table("finding_events").insert_all(events)


SEVERITY_RANK = "CASE severity " + " ".join(f"WHEN '{s}' THEN {s.rank}" for s in Severity) + " END"
_TO_FIX_IN = "IN (" + ", ".join(f"'{s}'" for s in TO_FIX) + ")"
_PER_STATUS = ", ".join(f"SUM(status = '{s}') AS {s}" for s in Status)
VIEWS = {
    "active_findings": f"""
        SELECT fingerprint, cluster, owner, severity, {SEVERITY_RANK} AS severity_rank, rule,
               rule_name, kind, namespace, name, status, ticket_key, first_seen, last_seen,
               CAST(julianday(last_seen) - julianday(first_seen) AS INTEGER) AS age_days,
               source_path, source_line, message, evidence
        FROM findings WHERE status {_TO_FIX_IN}""",
    "findings_by_owner": f"""
        SELECT cluster, COALESCE(owner, '{NO_OWNER}') AS owner,
               SUM(status {_TO_FIX_IN}) AS active, {_PER_STATUS},
               MAX(CASE WHEN status {_TO_FIX_IN} THEN {SEVERITY_RANK} END)
                   AS worst_active_rank,
               MIN(CASE WHEN status {_TO_FIX_IN} THEN first_seen END)
                   AS oldest_active_since
        FROM findings GROUP BY cluster, COALESCE(owner, '{NO_OWNER}')""",
    "scan_history": f"""
        SELECT id, cluster, origin, finished_at, repo, "commit", complete, resources,
               findings, new, reopened, resolved, waived,
               (SELECT COUNT(*) FROM sightings s JOIN findings f USING (fingerprint)
                 WHERE s.scan_id = scans.id
                   AND f.severity IN ('{Severity.HIGH}', '{Severity.CRITICAL}'))
                 AS high_or_critical
        FROM scans""",
}


@migrations()
def m005_review(db: Database) -> None:
    """Field-precise locations, links Datasette can follow, and views for the review."""
    db.table("findings").add_column("source_column", int)
    db.table("findings").add_column("source_end_line", int)
    db.table("finding_events").add_foreign_key("scan_id", "scans", "id")
    db.table("findings").add_foreign_key("ticket_key", "tickets", "key")
    db.table("finding_events").create_index(["scan_id"])
    db.table("tickets").add_column("clusters", str)
    for name, sql in VIEWS.items():
        db.create_view(name, " ".join(sql.split()))


@migrations()
def m006_apps(db: Database) -> None:
    """Each scan keeps the apps it rendered or read (path, type, status, object count)."""
    db.table("scans").add_column("apps", str)


@migrations()
def m007_scan_paths(db: Database) -> None:
    """Each scan keeps its --path folders, so a `--path` scan resolves only findings that a
    scan of its folders saw. Scans stored before have NULL: whole-repo scans, as every scan
    was treated then."""
    db.table("scans").add_column("paths", str)


@cache
def _current() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What the migrations leave in an empty database: its schema statements (tables,
    then indexes, then views) and the (set, name) of each migration applied."""
    db = Database(memory=True)
    migrations.apply(db)
    statements = tuple(
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
        )
    )
    applied = db.execute(
        f"SELECT migration_set, name FROM [{migrations.migrations_table}] ORDER BY id"
    ).fetchall()
    return statements, tuple(applied)


def migrate(db: Database) -> None:
    """Bring the database to the current schema, in the caller's transaction.

    A new (empty) database gets in one step the schema the migrations leave, recorded as
    applied now: replaying them costs more than the rest of a first scan (m005 rebuilds two
    tables to add foreign keys). Any other database gets the migrations it lacks."""
    if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        migrations.apply(db)
        return
    statements, applied = _current()
    for sql in statements:
        db.execute(sql)
    now = str(datetime.now(UTC))  # as sqlite-utils records it
    db.table(migrations.migrations_table).insert_all(
        {"migration_set": ms, "name": name, "applied_at": now} for ms, name in applied
    )


def event(
    fingerprint: str, scan_id: int | None, at: str, before: str | None, after: str, note: str
) -> dict[str, Any]:
    """A `finding_events` row: one status change of one finding."""
    return {
        "fingerprint": fingerprint,
        "scan_id": scan_id,
        "at": at,
        "from_status": before,
        "to_status": after,
        "note": note,
    }
