"""The database as Datasette shows it: views, foreign keys, shipped metadata, and
`mesh-audit browse` serving on 127.0.0.1 (when the [browse] extra is installed)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from auditor.cli import browse
from conftest import Scenario, run, scan_json

HAS_DATASETTE = importlib.util.find_spec("datasette") is not None


def _ready_db(scenario: Scenario) -> Path:
    result, _ = scan_json(*scenario.args)
    assert result.exit_code == 0, result.output
    assert (
        run(
            "tickets", "--db", scenario.db, "--period", "2026-11", "--out", scenario.db.parent / "t"
        ).exit_code
        == 0
    )
    return scenario.db


def test_views_and_foreign_keys(scenario: Scenario) -> None:
    db = _ready_db(scenario)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    active = conn.execute("SELECT * FROM active_findings ORDER BY severity_rank DESC").fetchall()
    assert len(active) == 6 and {r["status"] for r in active} == {"ticketed"}
    assert active[0]["severity"] == "high" and active[0]["severity_rank"] == 3
    owners = {r["owner"]: r["active"] for r in conn.execute("SELECT * FROM findings_by_owner")}
    assert owners == {"(no owner)": 4, "cart-team": 1, "sandbox-team": 1}
    (scan,) = conn.execute("SELECT * FROM scan_history").fetchall()
    assert scan["findings"] == 6 and scan["high_or_critical"] == 1
    fks = {(r[2], r[3]) for r in conn.execute("PRAGMA foreign_key_list(finding_events)")}
    assert ("scans", "scan_id") in fks
    fks = {(r[2], r[3]) for r in conn.execute("PRAGMA foreign_key_list(findings)")}
    assert ("tickets", "ticket_key") in fks
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_metadata_describes_every_table_and_view(scenario: Scenario) -> None:
    db = _ready_db(scenario)
    meta = browse.metadata(db)
    tables = meta["databases"][db.stem]["tables"]
    conn = sqlite3.connect(db)
    names = {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    }
    for name, table in tables.items():
        assert name in names and table["description"]
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info([{name}])")}
        assert set(table.get("columns", {})) <= columns, name
        assert set(table.get("facets", [])) <= columns, name
        assert table.get("sort_desc", "id") in columns | {"id"}, name
    assert tables["findings"]["facets"] == ["rule", "severity", "owner", "status", "cluster"]
    conn.close()


def test_browse_without_datasette_says_how_to_install(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasette", None)
    result = run("browse", "--db", scenario.db)
    assert result.exit_code == 2
    assert (
        result.stderr
        == "mesh-audit: error: mesh-audit browse needs Datasette: pip install 'mesh-audit[browse]'\n"
    )


@pytest.mark.skipif(not HAS_DATASETTE, reason="the [browse] extra is not installed")
def test_datasette_loads_the_metadata(scenario: Scenario) -> None:
    from datasette.app import Datasette

    db = _ready_db(scenario)

    async def pages() -> tuple[dict, str]:
        ds = Datasette(
            [str(db)], metadata=browse.metadata(db), plugins_dir=str(browse.plugins_dir())
        )
        await ds.invoke_startup()
        data = (await ds.client.get(f"/{db.stem}/active_findings.json?_shape=objects")).json()
        page = (await ds.client.get(f"/{db.stem}/findings")).text
        return data, page

    data, page = asyncio.run(pages())
    ranks = [r["severity_rank"] for r in data["rows"]]
    assert ranks == sorted(ranks, reverse=True) and len(ranks) == 6
    assert set(data["facet_results"]) == {"rule", "severity", "owner", "status", "cluster"}
    assert "One row per finding" in page
    assert '<pre class="mesh-audit-json">' in page


@pytest.mark.skipif(not HAS_DATASETTE, reason="the [browse] extra is not installed")
def test_browse_serves_on_localhost(scenario: Scenario, tmp_path: Path) -> None:
    db = _ready_db(scenario)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "browse", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/{db.stem}/findings_by_owner.json?_shape=objects"
    try:
        for _ in range(150):  # bounded: about 15 s at most
            try:
                with urllib.request.urlopen(url, timeout=0.5) as response:
                    rows = json.load(response)["rows"]
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("mesh-audit browse did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert {r["owner"] for r in rows} == {"(no owner)", "cart-team", "sandbox-team"}
