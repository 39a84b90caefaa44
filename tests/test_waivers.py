"""Waivers keep a reason and an expiry, stay visible, and stop applying when they expire."""

from __future__ import annotations

import json

import pytest

from conftest import Scenario, dump, run, scan_json


def test_config_waiver_with_globs(scenario: Scenario, tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "waivers:\n"
        "  - {rule: unmanaged, namespace: 'sand*', name: '*', reason: hotfix kept during the freeze,"
        " expires: 2999-01-31, ticket: OPS-7}\n"
    )
    result, doc = scan_json(*scenario.args, "--config", config, "--fail-on", "medium")
    hotfix = next(f for f in doc["findings"] if (f["rule"], f["name"]) == ("MA101", "hotfix"))
    assert hotfix["status"] == "waived"
    assert hotfix["evidence"]["waiver"] == {
        "reason": "hotfix kept during the freeze",
        "expires": "2999-01-31",
        "ticket": "OPS-7",
        "source": "config",
        "active": True,
    }
    # The other medium findings still fail the run; the waived one alone would not.
    assert result.exit_code == 1
    assert doc["scan"]["waived"] == 1
    listed = json.loads(
        run("findings", "--db", scenario.db, "--status", "waived", "--format", "json").stdout
    )
    assert [(f["rule"], f["name"]) for f in listed["findings"]] == [("MA101", "hotfix")]
    # Waived findings are seen, so they are not resolved; without the waiver they reopen.
    _, again = scan_json(*scenario.args)
    assert again["scan"]["resolved"] == 0
    assert next(f for f in again["findings"] if f["name"] == "hotfix")["status"] == "open"


def test_waived_findings_do_not_fail_the_run(scenario: Scenario, tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("waivers:\n  - {rule: MA103, reason: tuning, expires: 2999-01-01}\n")
    assert scan_json(*scenario.args, "--config", config, "--fail-on", "high")[0].exit_code == 0
    assert scan_json(*scenario.args, "--fail-on", "high")[0].exit_code == 1


def test_annotation_waiver_and_expired_waiver(scenario: Scenario) -> None:
    objects = scenario.objects
    hotfix = next(o for o in objects if o["metadata"]["name"] == "hotfix")
    hotfix["metadata"]["annotations"] = {
        "mesh-audit.io/waive": "MA101=applied by the on-call, PR pending;expires=2999-12-31"
    }
    stray = next(o for o in objects if o["metadata"]["name"] == "stray")
    stray["metadata"]["annotations"] = {
        "mesh-audit.io/waive": "MA101=old excuse;expires=2020-01-01;ticket=OPS-1\nMA201=no expiry here"
    }
    dump(scenario.dump, objects)
    _, doc = scan_json(*scenario.args)
    status = {(f["rule"], f["name"]): f["status"] for f in doc["findings"]}
    assert status["MA101", "hotfix"] == "waived"
    # Expired: the finding counts again, and the expired waiver is reported.
    assert status["MA101", "stray"] == "open"
    stray_finding = next(f for f in doc["findings"] if (f["rule"], f["name"]) == ("MA101", "stray"))
    assert stray_finding["evidence"]["waiver"]["active"] is False
    notes = doc["scan"]["notes"]
    assert (
        "expired waiver: MA101 on VirtualService shop/stray expired 2020-01-01 (annotation: old excuse)"
        in notes
    )
    # A waiver without an expiry does not apply and is reported.
    assert status["MA201", "stray"] == "open"
    assert any(
        "invalid mesh-audit.io/waive on VirtualService shop/stray" in n and "expires" in n
        for n in notes
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{rule: MA101, expires: 2999-01-01}", "waivers[0].reason: a waiver needs a reason"),
        ("{rule: MA101, reason: x}", "waivers[0].expires: a waiver needs an expiry date"),
        ("{rule: MA101, reason: x, expires: someday}", "waivers[0].expires"),
        ("{rule: MA999, reason: x, expires: 2999-01-01}", "waivers[0].rule: unknown rule 'MA999'"),
        ("{rule: MA101, reason: x, expires: 2999-01-01, owner: me}", "unknown key 'owner'"),
    ],
)
def test_incomplete_waiver_is_a_config_error(
    scenario: Scenario, tmp_path, entry: str, message: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"waivers:\n  - {entry}\n")
    result = run("scan", *scenario.args, "--config", config)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not scenario.db.exists()
