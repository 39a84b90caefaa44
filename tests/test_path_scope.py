"""A `--path` scan resolves only what it could have seen again: findings last seen by a scan
of the same folders (or of folders inside its own). A whole-repo scan resolves everything,
as before. Real Git repos, real SQLite files, the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from auditor import store
from conftest import CART_DR, Scenario, run, scan_json, shop_routes


def _stored(db: Path) -> dict[tuple[str, str, str], str]:
    """(rule, namespace/name, kind) -> status, for every finding in the database."""
    doc = json.loads(run("findings", "--db", db, "--status", "all", "--format", "json").stdout)
    return {
        (f["rule"], f["kind"], f"{f['namespace']}/{f['name']}"): f["status"]
        for f in doc["findings"]
    }


def _counts(doc: dict[str, Any]) -> dict[str, int]:
    return {k: doc["scan"][k] for k in ("new", "reopened", "resolved")}


def _fix_cart_drift(scenario: Scenario) -> None:
    """Commit the live DestinationRule's spec to apps/shop: MA103 shop/cart is fixed."""
    drifted = {**CART_DR, "trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}}
    scenario.repo.commit(
        {"apps/shop/routes.yaml": shop_routes(drifted)},
        date="2026-02-01T10:00:00+00:00",
        message="adopt the live load balancer",
    )


DRIFT = ("MA103", "DestinationRule", "shop/cart")
GHOST = ("MA102", "VirtualService", "old/ghost")


def test_a_path_scan_leaves_findings_outside_its_path_open(scenario: Scenario) -> None:
    result, full = scan_json(*scenario.args)
    assert result.exit_code == 0 and _counts(full)["new"] == 6
    everything = _stored(scenario.db)
    result, shop = scan_json(*scenario.args, "--path", "apps/shop")
    assert result.exit_code == 0, result.output
    # The ghost (apps/old) was not read: it is not reported, and not resolved either.
    assert GHOST not in {
        (f["rule"], f["kind"], f"{f['namespace']}/{f['name']}") for f in shop["findings"]
    }
    assert _counts(shop) == {"new": 0, "reopened": 0, "resolved": 0}
    assert shop["scan"]["paths"] == ["apps/shop"]
    assert _stored(scenario.db) == everything
    # The next whole-repo scan finds everything where it was: nothing reopens.
    _, again = scan_json(*scenario.args)
    assert _counts(again) == {"new": 0, "reopened": 0, "resolved": 0}
    assert again["scan"]["paths"] == []
    conn = sqlite3.connect(scenario.db)
    changes = conn.execute(
        "SELECT from_status, to_status FROM finding_events WHERE from_status IS NOT NULL"
    ).fetchall()
    conn.close()
    assert changes == []


def test_a_path_scan_resolves_what_it_saw_in_its_path_when_fixed(scenario: Scenario) -> None:
    scan_json(*scenario.args)
    scan_json(*scenario.args, "--path", "apps/shop")
    _fix_cart_drift(scenario)
    # Another folder's scan did not see the drift last: it cannot resolve it.
    _, old = scan_json(*scenario.args, "--path", "apps/old")
    assert old["scan"]["resolved"] == 0 and _stored(scenario.db)[DRIFT] == "open"
    # The drift was last seen by an apps/shop scan: the next one (the same folder, however
    # spelled) no longer sees it and resolves it.
    _, shop = scan_json(*scenario.args, "--path", "apps/shop/")
    assert shop["scan"]["resolved"] == 1, shop["scan"]
    stored = _stored(scenario.db)
    assert stored[DRIFT] == "resolved" and stored[GHOST] == "open"


def test_a_fix_last_seen_by_a_whole_repo_scan_waits_for_one(scenario: Scenario) -> None:
    """A finding last seen by a whole-repo scan may depend on files outside the path (a
    duplicate, a host declared elsewhere): only a whole-repo scan resolves it."""
    scan_json(*scenario.args)
    _fix_cart_drift(scenario)
    _, shop = scan_json(*scenario.args, "--path", "apps/shop")
    assert shop["scan"]["resolved"] == 0 and _stored(scenario.db)[DRIFT] == "open"
    _, full = scan_json(*scenario.args)
    assert full["scan"]["resolved"] == 1 and _stored(scenario.db)[DRIFT] == "resolved"


def test_a_wider_path_resolves_what_a_narrower_one_saw(scenario: Scenario) -> None:
    scan_json(*scenario.args, "--path", "apps/shop")
    _fix_cart_drift(scenario)
    _, apps = scan_json(*scenario.args, "--path", "apps", "--path", "apps/shop")
    assert apps["scan"]["resolved"] == 1 and _stored(scenario.db)[DRIFT] == "resolved"


def test_a_scheduled_path_scan_resolves_what_it_saw_whatever_scans_came_since(
    scenario: Scenario,
) -> None:
    """The cron always scans `--path apps/shop`; an engineer's wider ad-hoc scan saw the drift
    last. Once it is fixed, the cron's next run resolves it: it saw it before."""
    scan_json(*scenario.args, "--path", "apps/shop")
    _, wide = scan_json(*scenario.args, "--path", "apps")
    assert DRIFT in {
        (f["rule"], f["kind"], f"{f['namespace']}/{f['name']}") for f in wide["findings"]
    }
    _fix_cart_drift(scenario)
    _, cron = scan_json(*scenario.args, "--path", "apps/shop")
    assert cron["scan"]["resolved"] == 1 and _stored(scenario.db)[DRIFT] == "resolved"


def test_the_demo_path_scan_resolves_nothing_outside_it(tmp_path: Path) -> None:
    """The newcomer's report: `--path apps/checkout` after the demo's full scan resolved the
    legacy findings (MA102, MA303, ...) and the next full scan reopened them."""
    demo = tmp_path / "demo"
    assert run("demo", "--dir", demo, "--format", "json").exit_code == 0
    args = (
        "--repo",
        demo / "gitops",
        "--cluster-dump",
        demo / "demo.yaml",
        "--db",
        demo / "mesh-audit.db",
    )
    before = _stored(demo / "mesh-audit.db")
    result, checkout = scan_json(*args, "--path", "apps/checkout")
    assert result.exit_code == 0, result.output
    assert checkout["scan"]["resolved"] == 0
    after = _stored(demo / "mesh-audit.db")
    legacy = {k: v for k, v in after.items() if k[2].startswith("legacy/")}
    assert {k[0] for k in legacy} >= {"MA102", "MA303"}
    assert set(legacy.values()) == {"open"}
    assert {k: after[k] for k in before} == before
    _, full = scan_json(*args)
    assert full["scan"]["reopened"] == 0


def _downgrade(db_path: Path) -> None:
    """Turn a database written now into one written before `scans.paths` (m007) existed."""
    db = Database(db_path)
    db.execute("ALTER TABLE scans DROP COLUMN paths")
    db.execute(f"DELETE FROM [{store.migrations.migrations_table}] WHERE name = 'm007_scan_paths'")
    db.conn.commit()
    old = Database(memory=True)
    store.migrations.apply(old, stop_before="m007_scan_paths")
    assert db["scans"].columns_dict == old["scans"].columns_dict
    db.conn.close()


def test_an_upgraded_database_counts_its_old_scans_as_whole_repo_scans(scenario: Scenario) -> None:
    scan_json(*scenario.args)
    _downgrade(scenario.db)
    everything = _stored(scenario.db)
    _fix_cart_drift(scenario)
    result, shop = scan_json(*scenario.args, "--path", "apps/shop")
    assert result.exit_code == 0, result.output
    assert shop["scan"]["resolved"] == 0 and _stored(scenario.db) == everything
    db = Database(scenario.db)
    assert "m007_scan_paths" in {m.name for m in store.migrations.applied(db)}
    assert [r["paths"] for r in db.query("SELECT paths FROM scans ORDER BY id")] == [
        None,
        '["apps/shop"]',
    ]
    db.conn.close()
    _, full = scan_json(*scenario.args)
    assert _counts(full) == {"new": 0, "reopened": 0, "resolved": 1}
