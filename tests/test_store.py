"""The SQLite store: migrations, atomic scans, locking, stable fingerprints."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from auditor import store
from auditor.errors import SourceError
from auditor.model import Finding, ObjectKey, Severity
from conftest import Scenario, run, scan_json


def _tables(db: Path) -> dict[str, list]:
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {n: conn.execute(f"SELECT * FROM [{n}] ORDER BY 1").fetchall() for n in names}
    finally:
        conn.close()


def test_schema_is_migrated_once(scenario: Scenario) -> None:
    scan_json(*scenario.args)
    scan_json(*scenario.args)
    tables = _tables(scenario.db)
    assert {"scans", "findings", "sightings", "_sqlite_migrations"} <= set(tables)
    names = [r[2] for r in tables["_sqlite_migrations"]]
    assert names[:3] == ["m001_initial", "m002_waivers", "m003_lifecycle"]
    expected = {"m004_store_safety", "m005_review", "m006_apps", "m007_scan_paths"}
    assert expected <= set(names) and len(names) == len(set(names))
    assert len(tables["scans"]) == 2 and len(tables["sightings"]) == 12


def test_a_new_database_gets_the_schema_the_migrations_leave(tmp_path: Path) -> None:
    stepwise = Database(tmp_path / "steps.db")
    store.migrations.apply(stepwise)
    created = datetime.now(UTC)
    with store.session(tmp_path / "new.db", write=True):
        pass
    new = Database(tmp_path / "new.db")

    def shape(db: Database) -> list[tuple]:
        return sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())

    assert shape(new) == shape(stepwise)
    assert [m.name for m in store.migrations.applied(new)] == [
        m.name for m in store.migrations.applied(stepwise)
    ]
    assert not store.migrations.pending(new)
    assert all(
        datetime.fromisoformat(m.applied_at) >= created for m in store.migrations.applied(new)
    )
    assert new.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_new_database_another_run_is_creating_is_waited_for(tmp_path: Path) -> None:
    """SQLite refuses the switch to WAL at once while another connection holds a new file:
    the run still waits its lock timeout before it gives up."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with (
            pytest.raises(store.DatabaseLocked, match=r"\(waited 0.2s\)"),
            store.session(path, write=True, lock_timeout=0.2),
        ):
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert time.monotonic() - started >= 0.2
    with store.session(path, write=True):
        pass


def _finding(name: str, message: str = "m", line: int = 1) -> Finding:
    from auditor.model import SourceRef

    return Finding(
        "MA101",
        "unmanaged",
        Severity.LOW,
        "c",
        ObjectKey("g", "K", "ns", name),
        None,
        None,
        message,
        f"fp-{name}",
        "",
        {},
        SourceRef("a.yaml", line, None),
    )


def _record(path: Path, findings, **kw) -> tuple:
    scan = store.ScanRecord(
        "t0", "t1", "c", None, "dump:x", (), "r", "HEAD", "abc", "0", (), (), ("MA101",), 1
    )
    return store.record(path, scan, findings, **kw)


def test_interrupted_scan_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _record(db, [_finding("one")])
    before = _tables(db)

    def interrupted():
        yield _finding("two")
        raise KeyboardInterrupt

    class Lazy(list):
        def __iter__(self):
            return interrupted()

    with pytest.raises(KeyboardInterrupt):
        _record(db, Lazy())
    assert _tables(db) == before


def test_second_writer_waits_then_fails_clearly(scenario: Scenario) -> None:
    scan_json(*scenario.args)
    holder = sqlite3.connect(scenario.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = scenario.db.read_bytes()
        result = run("scan", *scenario.args, "--lock-timeout", "0.05")
        assert result.exit_code == 3
        assert "is locked by another mesh-audit run" in result.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert scenario.db.read_bytes() == before
    assert run("scan", *scenario.args, "--format", "json").exit_code == 0


def test_fingerprint_ignores_message_line_and_severity(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _, rows1 = _record(db, [_finding("x", "first wording", 3)])
    scan2, rows2 = _record(db, [_finding("x", "second wording", 9)])
    assert rows1[0]["fingerprint"] == rows2[0]["fingerprint"]
    assert (
        scan2["new"] == 0
        and rows2[0]["message"] == "second wording"
        and rows2[0]["source_line"] == 9
    )


def test_not_a_database_is_refused_before_reading_anything(scenario: Scenario) -> None:
    scenario.db.write_text(
        "not sqlite at all, just text that is long enough to have a header........"
    )
    before = scenario.db.read_bytes()
    result = run("scan", *scenario.args)
    assert result.exit_code == 3
    assert "is not readable" in result.stderr
    assert scenario.db.read_bytes() == before


def test_query_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="database not found"):
        store.query(tmp_path / "none.db", None, None, None)
    result = run("findings", "--db", tmp_path / "none.db")
    assert result.exit_code == 3 and not (tmp_path / "none.db").exists()
