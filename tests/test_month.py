"""A month played through as a platform team would, with the clock set per step.

October: first scan, tickets per owner. November: a waiver, the retire branch, the
rescan after it is merged, and a monthly report whose numbers match what happened.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import dump, run, scan_json
from test_retire import _world


def test_a_month_of_mesh_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, cluster, objects = _world(tmp_path)
    db = tmp_path / "audit.db"
    args = ("--repo", repo.path, "--cluster-dump", cluster, "--db", db)

    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-10-05T06:00:00Z")
    _, october = scan_json(*args)
    found = {(f["rule"], f["name"]) for f in october["findings"]}
    assert found == {
        ("MA101", "stray"),
        ("MA102", "legacy"),
        ("MA102", "old-dr"),
        # A dead rule (no route, no service): one finding, not a second one from MA302.
        ("MA308", "old-dr"),
    }
    tickets = json.loads(
        run("tickets", "--db", db, "--out", tmp_path / "t", "--format", "json").stdout
    )
    # Every finding belongs to the shop team (labels, or the namespace label for the stray).
    assert {t["owner"]: len(t["fingerprints"]) for t in tickets["tickets"]} == {"shop": 4}
    assert all(t["key"].startswith("2026-10:") for t in tickets["tickets"])

    # November: the shop team waives the dead DestinationRule until it is retired.
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-11-10T06:00:00Z")
    config = tmp_path / "mesh-audit.yaml"
    config.write_text(
        "waivers: [{rule: MA308, namespace: shop, name: old-dr, reason: retiring it, expires: 2026-12-31}]\n"
    )
    _, nov = scan_json(*args, "--config", config)
    assert {f["name"]: f["status"] for f in nov["findings"] if f["rule"] == "MA308"} == {
        "old-dr": "waived"
    }
    plan = json.loads(run("retire", "plan", "--db", db, "--format", "json").stdout)["retirements"]
    assert {(r["name"], r["action"]) for r in plan} == {
        ("legacy", "remove-manifest"),
        ("old-dr", "remove-manifest"),
        ("stray", "kubectl-delete"),
    }
    applied = run("retire", "apply", "--db", db, "--repo", repo.path)
    assert applied.exit_code == 0, applied.output
    assert sorted(
        repo.git("diff", "--name-only", "main", "mesh-audit/retire-2026-11").splitlines()
    ) == ["apps/shop/kustomization.yaml", "apps/shop/old.yaml", "apps/shop/routes.yaml"]

    # The branch is merged, the owner runs the kubectl delete, and the next scan sees it.
    repo.git("merge", "-q", "--ff-only", "mesh-audit/retire-2026-11")
    dump(cluster, [o for o in objects if o["metadata"]["name"] != "stray"])
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-11-12T06:00:00Z")
    _, after = scan_json(*args, "--config", config)
    assert after["findings"] == []
    assert after["scan"]["resolved"] == 4

    report = json.loads(
        run("report", "monthly", "--db", db, "--month", "2026-11", "--format", "json").stdout
    )
    # Nothing new in November; the three findings of the two retired manifests (the waived
    # one included) are retired; the stray deleted with kubectl is resolved; none stay open.
    assert report["totals"] == {"new": 0, "resolved": 1, "retired": 3, "open": 0, "waived": 0}
    assert report["trend"] == [{"month": "2026-10", "open": 4}, {"month": "2026-11", "open": 0}]
    assert report["by_owner"]["shop"]["retired"] == 3
    assert report["mean_days_to_resolve"] == 38.0
    october_report = json.loads(
        run("report", "monthly", "--db", db, "--month", "2026-10", "--format", "json").stdout
    )
    assert october_report["totals"] == {
        "new": 4,
        "resolved": 0,
        "retired": 0,
        "open": 4,
        "waived": 0,
    }
    assert {(o["resource"], o["age_days"]) for o in october_report["oldest_open"]} == {
        ("VirtualService shop/stray", 26),
        ("VirtualService shop/legacy", 26),
        ("DestinationRule shop/old-dr", 26),
    }
    html = run("report", "monthly", "--db", db, "--month", "2026-11", "--format", "html").stdout
    assert (
        html.startswith("<!doctype html>")
        and "<svg" in html
        and "http" not in html.split("<svg", 1)[0]
    )
    october_html = run(
        "report", "monthly", "--db", db, "--month", "2026-10", "--format", "html"
    ).stdout
    assert "<summary>shop (4 active)</summary>" in october_html
    assert "VirtualService shop/<wbr>legacy" in october_html
