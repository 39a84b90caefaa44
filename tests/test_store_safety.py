"""The store survives crashes and concurrent runs, and refuses what is not a database.

A scan is killed with SIGKILL at a point the test chooses (the process kills itself from
SQLite's statement trace once the findings are written, with a page cache so small that
SQLite has already spilled pages to disk); every command then still opens the database.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from auditor import store
from auditor.workflow import ticketing as tickets
from conftest import ROOT, Scenario, dump, live, run, scan_json

# Run the real CLI in a child process whose SQLite connections use a tiny page cache (so
# dirty pages spill to disk mid-transaction) and which SIGKILLs itself on the first
# statement that inserts into the table named in KILL_AT (`sightings`: after every
# finding row is written).
_KILLER = """
import os, signal, sqlite3, sys
connect = sqlite3.connect
target = 'INSERT INTO "' + os.environ["KILL_AT"] + '"'

def killing_connect(*args, **kwargs):
    conn = connect(*args, **kwargs)
    conn.execute("PRAGMA cache_size = 10")
    def trace(sql):
        if sql.lstrip().startswith(target):
            os.kill(os.getpid(), signal.SIGKILL)
    conn.set_trace_callback(trace)
    return conn

sqlite3.connect = killing_connect
sys.argv = ["mesh-audit", *sys.argv[1:]]
from auditor.cli.commands import main
main()
"""

# An older mesh-audit left a rollback journal behind: same trick, plain sqlite3.
_LEGACY_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = DELETE")
conn.execute("PRAGMA cache_size = 10")
conn.execute("BEGIN IMMEDIATE")
for i in range(2000):
    conn.execute("UPDATE findings SET message = ? WHERE rowid = (SELECT min(rowid) FROM findings)",
                 ["x" * 4000 + str(i)])
    conn.execute("INSERT INTO sightings (scan_id, fingerprint, severity, message) "
                 "SELECT 999999, fingerprint || ?, severity, ? FROM findings",
                 [str(i), "y" * 2000])
os.kill(os.getpid(), signal.SIGKILL)
"""


def _many(scenario: Scenario, n: int = 300) -> None:
    """Enough live-only VirtualServices that one scan writes hundreds of finding rows."""
    extra = [
        live("VirtualService", f"stray-{i:03d}", "sandbox", {"hosts": [f"h{i}"], "http": []})
        for i in range(n)
    ]
    dump(scenario.dump, [*scenario.objects, *extra])


def _snapshot(db: Path) -> dict[str, list]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT * FROM [{t}] ORDER BY 1, 2").fetchall()
            for t in ("scans", "findings", "sightings", "finding_events", "tickets")
        }
    finally:
        conn.close()


def _every_command_works(scenario: Scenario, tmp_path: Path) -> None:
    db = scenario.db
    for args in (
        ("findings", "--db", db, "--status", "all", "--format", "json"),
        ("tickets", "--db", db, "--dry-run", "--format", "json"),
        ("retire", "plan", "--db", db, "--format", "json"),
        ("report", "monthly", "--db", db, "--format", "json"),
        ("tickets", "--db", db, "--out", tmp_path / "t", "--format", "json"),
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    result, _ = scan_json(*scenario.args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("table", ["scans", "findings", "sightings", "finding_events"])
def test_scan_killed_inside_its_transaction(scenario: Scenario, tmp_path: Path, table: str) -> None:
    assert scan_json(*scenario.args)[0].exit_code == 0
    before = _snapshot(scenario.db)
    _many(scenario)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLER, "scan", "--format", "json", *map(str, scenario.args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KILL_AT": table},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    wal = scenario.db.with_name(scenario.db.name + "-wal")
    if table in ("sightings", "finding_events"):
        # SQLite had spilled uncommitted pages to disk before the kill.
        assert wal.stat().st_size > 20 * 4096
    # A read-only command first: it recovers the file and sees the state before the scan.
    assert _snapshot(scenario.db) == before
    listed = run("findings", "--db", scenario.db, "--status", "all", "--format", "json")
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)["findings"]) == 6
    _every_command_works(scenario, tmp_path)


def test_a_hot_rollback_journal_is_recovered_by_read_only_commands(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scan_json(*scenario.args)[0].exit_code == 0
    conn = sqlite3.connect(scenario.db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = _snapshot(scenario.db)
    killed = subprocess.run([sys.executable, "-c", _LEGACY_WRITER, str(scenario.db)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert scenario.db.with_name(scenario.db.name + "-journal").exists()
    listed = run("findings", "--db", scenario.db, "--status", "all", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)["findings"]) == 6
    assert _snapshot(scenario.db) == before
    _every_command_works(scenario, tmp_path)


def test_tickets_never_overwrite_what_a_concurrent_scan_resolved(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scan_json(*scenario.args)[0].exit_code == 0
    plan = tickets.plan

    def plan_then_scan(*args, **kwargs):
        """Tickets are planned from one read; a scan resolving `hotfix` commits before the
        tickets are recorded."""
        planned = plan(*args, **kwargs)
        dump(scenario.dump, [o for o in scenario.objects if o["metadata"]["name"] != "hotfix"])
        assert scan_json(*scenario.args)[0].exit_code == 0
        return planned

    monkeypatch.setattr(tickets, "plan", plan_then_scan)
    result = run("tickets", "--db", scenario.db, "--out", tmp_path / "t", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "1 finding(s) changed status while the tickets were made" in result.stderr
    conn = sqlite3.connect(scenario.db)
    status = dict(conn.execute("SELECT name, status FROM findings WHERE rule = 'MA101'"))
    events = conn.execute(
        "SELECT f.name, e.from_status, e.to_status FROM finding_events e "
        "JOIN findings f USING (fingerprint) WHERE f.name = 'hotfix' ORDER BY e.id"
    ).fetchall()
    conn.close()
    assert status == {"hotfix": "resolved", "stray": "ticketed"}
    assert events == [("hotfix", None, "open"), ("hotfix", "open", "resolved")]


def test_record_tickets_is_a_compare_and_set(scenario: Scenario) -> None:
    """Two connections, interleaved: the scan's write lands between plan and record."""
    assert scan_json(*scenario.args)[0].exit_code == 0
    planned = tickets.plan(scenario.db, "2026-11", "platform")
    other = sqlite3.connect(scenario.db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE findings SET status = 'waived' WHERE name = 'stray'")
    other.execute("COMMIT")
    other.close()
    skipped = tickets.record(scenario.db, planned, "2026-11-02T00:00:00Z", {})
    conn = sqlite3.connect(scenario.db)
    rows = dict(conn.execute("SELECT fingerprint, status FROM findings"))
    conn.close()
    assert sorted(rows[fp] for fp in skipped) == ["waived", "waived"]
    assert {s for fp, s in rows.items() if fp not in skipped} == {"ticketed"}


def _bad_commands(db: Path, tmp_path: Path, scenario: Scenario) -> list[tuple]:
    repo = scenario.repo.path
    return [
        ("scan", *scenario.args[:4], "--db", db, "--lock-timeout", "0.05"),
        ("findings", "--db", db),
        ("tickets", "--db", db, "--dry-run"),
        ("tickets", "--db", db, "--out", tmp_path / "t", "--lock-timeout", "0.05"),
        ("retire", "plan", "--db", db),
        ("retire", "apply", "--db", db, "--repo", repo, "--lock-timeout", "0.05"),
        ("report", "monthly", "--db", db),
    ]


@pytest.mark.parametrize("damage", ["text", "truncated", "empty-header"])
def test_not_a_database_is_exit_3_from_every_command(
    scenario: Scenario, tmp_path: Path, damage: str
) -> None:
    if damage == "text":
        scenario.db.write_text("just some notes, not a database at all\n" * 5)
    else:
        assert scan_json(*scenario.args)[0].exit_code == 0
        _many(scenario)
        assert scan_json(*scenario.args)[0].exit_code == 0
        data = scenario.db.read_bytes()
        keep = len(data) // 3 if damage == "truncated" else 0
        scenario.db.write_bytes(data[:keep] + (b"\0" * 100 if damage == "empty-header" else b""))
    before = scenario.db.read_bytes()
    for args in _bad_commands(scenario.db, tmp_path, scenario):
        result = run(*args)
        assert result.exit_code == 3, (args, result.output)
        assert result.stderr.startswith("mesh-audit: error: ") and "Traceback" not in result.output
        assert scenario.db.read_bytes() == before, args
    assert not (tmp_path / "t").exists()


def test_a_database_locked_exclusively_is_exit_3_after_the_lock_timeout(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scan_json(*scenario.args)[0].exit_code == 0
    monkeypatch.setenv("MESH_AUDIT_LOCK_TIMEOUT", "0.05")
    holder = sqlite3.connect(scenario.db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE scans SET notes = notes")
    try:
        for args in _bad_commands(scenario.db, tmp_path, scenario):
            result = run(*args)
            assert result.exit_code == 3, (args, result.output)
            assert "is locked by another mesh-audit run (waited 0.05s)" in result.stderr, args
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not (tmp_path / "t").exists()
    _every_command_works(scenario, tmp_path)


def test_output_files_fail_with_the_run_and_never_mask_its_exit_code(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scan_json(*scenario.args)[0].exit_code == 0
    before = _snapshot(scenario.db)
    nowhere = tmp_path / "no-such-folder" / "mesh.prom"
    result = run("scan", *scenario.args, "--metrics", nowhere)
    assert result.exit_code == 3 and f"cannot write {nowhere}" in result.stderr
    assert _snapshot(scenario.db) == before
    # A scan that fails on its own (exit 2) still says so, whatever the metrics file does.
    bad = run("scan", "--repo", tmp_path / "nope", "--db", scenario.db, "--metrics", nowhere)
    assert bad.exit_code == 2 and "no-such-folder" not in bad.stderr
    good = tmp_path / "mesh.prom"
    bad = run("scan", "--repo", tmp_path / "nope", "--db", scenario.db, "--metrics", good)
    assert bad.exit_code == 2 and "mesh_audit_scan_success" in good.read_text()
    # Tickets: a file where the folder should be; nothing is recorded.
    (tmp_path / "taken").write_text("a file")
    result = run("tickets", "--db", scenario.db, "--out", tmp_path / "taken" / "sub")
    assert result.exit_code == 3 and "cannot create" in result.stderr
    assert _snapshot(scenario.db) == before
    # tickets.json cannot replace a folder of that name: exit 3, nothing recorded, and no
    # half-written file left beside the ones already in place.
    out = tmp_path / "out"
    (out / "tickets.json").mkdir(parents=True)
    result = run("tickets", "--db", scenario.db, "--out", out)
    assert result.exit_code == 3 and "tickets.json" in result.stderr, result.output
    assert _snapshot(scenario.db) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("upto", ["m002_waivers", "m003_lifecycle", "m004_store_safety"])
def test_monthly_numbers_count_findings_from_before_the_history(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch, upto: str
) -> None:
    """A database written by an earlier version: before waivers, before the status history,
    or with a history that began after its findings were first seen."""
    db = Database(scenario.db)
    store.migrations.apply(db, stop_before=upto)
    db["scans"].insert({"id": 1, "started_at": "2026-09-01T00:00:00Z", "cluster": "old"})
    base = {"cluster": "old", "rule": "MA101", "rule_name": "unmanaged", "severity": "medium"}
    db["findings"].insert_all(
        [
            {
                **base,
                "fingerprint": "fp-open",
                "kind": "VirtualService",
                "namespace": "a",
                "name": "kept",
                "owner": "team-a",
                "status": "open",
                "first_seen": "2026-09-03T00:00:00Z",
                "last_seen": "2026-09-03T00:00:00Z",
                "first_scan_id": 1,
            },
            {
                **base,
                "fingerprint": "fp-gone",
                "kind": "VirtualService",
                "namespace": "a",
                "name": "gone",
                "owner": "team-a",
                "status": "resolved",
                "first_seen": "2026-09-02T00:00:00Z",
                "last_seen": "2026-09-02T00:00:00Z",
                "resolved_at": "2026-09-20T00:00:00Z",
                "first_scan_id": 1,
            },
        ]
    )
    if upto == "m004_store_safety":
        # The history began after both were first seen: only the resolution is recorded.
        db["finding_events"].insert(
            {
                "fingerprint": "fp-gone",
                "at": "2026-09-20T00:00:00Z",
                "from_status": "open",
                "to_status": "resolved",
                "note": "not seen",
            }
        )
    db.conn.close()
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-10-05T00:00:00Z")
    assert scan_json(*scenario.args)[0].exit_code == 0
    september = json.loads(
        run(
            "report", "monthly", "--db", scenario.db, "--month", "2026-09", "--format", "json"
        ).stdout
    )
    assert september["totals"] == {"new": 2, "resolved": 1, "retired": 0, "open": 1, "waived": 0}
    october = json.loads(
        run(
            "report", "monthly", "--db", scenario.db, "--month", "2026-10", "--format", "json"
        ).stdout
    )
    assert october["trend"][0] == {"month": "2026-09", "open": 1}
    assert october["totals"]["open"] == 7


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_lock_timeout_that_is_not_seconds_is_exit_2_from_every_command(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Through the flag (scan, tickets, retire apply) or, for commands without one, the
    environment: either way one line, exit 2, and the database untouched."""
    assert scan_json(*scenario.args)[0].exit_code == 0
    before = scenario.db.read_bytes()
    monkeypatch.setenv("MESH_AUDIT_LOCK_TIMEOUT", value)
    for args in _bad_commands(scenario.db, tmp_path, scenario):
        flagless = [a for a in args if a not in ("--lock-timeout", "0.05")]
        result = run(*flagless)
        assert result.exit_code == 2, (args, result.output)
        assert "MESH_AUDIT_LOCK_TIMEOUT" in result.stderr or "lock-timeout" in result.stderr
        assert "Traceback" not in result.output
        assert scenario.db.read_bytes() == before, args
    assert not (tmp_path / "t").exists()
