"""SARIF for code-scanning UIs and Prometheus metrics for the textfile collector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Scenario, run
from rules import CATALOG


def test_sarif_locates_findings_and_suppresses_waived(scenario: Scenario, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("waivers: [{rule: MA102, reason: parked, expires: 2999-01-01}]\n")
    result = run("scan", *scenario.args, "--format", "sarif", "--config", config)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run_ = doc["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == [r.id for r in CATALOG]
    by = {
        (r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]): r for r in run_["results"]
    }
    drift = by["MA103", "DestinationRule shop/cart"]
    assert drift["level"] == "error"
    physical = drift["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "apps/shop/routes.yaml"
    assert physical["region"]["startLine"] > 1
    ghost = by["MA102", "VirtualService old/ghost"]
    assert ghost["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "parked (until 2999-01-01)"}
    ]
    # A live-only resource has no file: only its logical location.
    assert "physicalLocation" not in by["MA101", "VirtualService sandbox/hotfix"]["locations"][0]


def test_metrics_file(scenario: Scenario, tmp_path: Path) -> None:
    prom = tmp_path / "mesh_audit.prom"
    assert run("scan", *scenario.args, "--format", "json", "--metrics", prom).exit_code == 0
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    assert families["mesh_audit_scan_success"].samples[0].value == 1
    findings = families["mesh_audit_findings"].samples
    assert sum(s.value for s in findings) == 6
    hotfix = [
        s for s in findings if s.labels["rule"] == "MA101" and s.labels["owner"] == "sandbox-team"
    ]
    assert hotfix[0].labels == {
        "cluster": "cluster",
        "rule": "MA101",
        "rule_name": "unmanaged",
        "severity": "medium",
        "owner": "sandbox-team",
        "status": "open",
    }
    assert families["mesh_audit_scan_duration_seconds"].samples[0].value >= 0
    # A failed run still says so, for alerting.
    failed = run(
        "scan",
        "--repo",
        tmp_path / "missing",
        "--cluster-dump",
        scenario.dump,
        "--db",
        scenario.db,
        "--metrics",
        prom,
        "--cluster-name",
        "prod",
    )
    assert failed.exit_code == 2
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    assert families["mesh_audit_scan_success"].samples[0].value == 0
    assert families["mesh_audit_scan_success"].samples[0].labels == {"cluster": "prod"}


@pytest.mark.parametrize("columns", [80, 120, 160])
def test_wide_output_keeps_the_message_readable(
    scenario: Scenario, columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o wide` adds each finding's rule name, location and cluster on a line of their own:
    every message stays whole at 80 columns too, and no line is longer than the terminal."""
    scan_doc = json.loads(run("scan", *scenario.args, "--format", "json").stdout)
    monkeypatch.setenv("COLUMNS", str(columns))
    out = run("findings", "--db", scenario.db, "-o", "wide").stdout
    assert max(len(line) for line in out.splitlines()) <= columns
    words = out.split()
    for f in scan_doc["findings"]:
        message = f["message"].removeprefix(f"{f['kind']} {f['namespace']}/{f['name']} ")
        # Wrapped beside the status column: each word whole, in order.
        rest = iter(words)
        assert all(word in rest for word in message.split()), (columns, message)
        assert f["rule_name"] in words
    assert any(w.startswith("apps/shop/routes.yaml:") for w in words)
