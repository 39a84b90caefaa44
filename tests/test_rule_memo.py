"""Remembered rule results: recalled only for identical inputs, never for clock readers.

Recall is made visible by rewriting a remembered message in the cache file: a scan that
shows the rewritten message recalled it, one that shows the real message ran the rule.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.sources import versions_digest
from conftest import Scenario, dump, live, manifest, scan_json
from k8s_emulator import Emulator

MARK = "recalled: "


def _memo_file() -> Path:
    files = list(Path(os.environ["MESH_AUDIT_CACHE"]).glob("*/rules.json"))
    assert len(files) == 1, files
    return files[0]


def _mark(rule: str) -> None:
    """Rewrite the remembered messages of one rule."""
    path = _memo_file()
    memo = json.loads(path.read_text())
    for problem in memo["rules"][rule]["problems"]:
        problem[1] = MARK + problem[1]
    path.write_text(json.dumps(memo))


def _messages(doc: dict[str, Any], rule: str) -> list[str]:
    return [f["message"] for f in doc["findings"] if f["rule"] == rule]


def _comparable(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k != "last_seen"} for f in doc["findings"]]


def test_repeat_scan_recalls_and_gives_the_same_findings(scenario: Scenario) -> None:
    _, first = scan_json(*scenario.args)
    _, second = scan_json(*scenario.args)
    assert _comparable(second) == _comparable(first)
    _mark("MA101")
    _, third = scan_json(*scenario.args)
    assert _messages(third, "MA101") and all(m.startswith(MARK) for m in _messages(third, "MA101"))


def test_a_recalled_problem_keeps_its_own_grade(scenario: Scenario) -> None:
    """MA104 grades identical copies low; recalled, the finding is graded the same."""
    ghost = (scenario.repo.path / "apps/old/ghost.yaml").read_text()
    scenario.repo.commit({"apps/old/ghost-copy.yaml": ghost})
    _, first = scan_json(*scenario.args)
    _mark("MA104")
    _, second = scan_json(*scenario.args)
    for doc in (first, second):
        (copies,) = [f for f in doc["findings"] if f["rule"] == "MA104"]
        assert copies["severity"] == "low" and copies["name"] == "ghost"
    assert _messages(second, "MA104")[0].startswith(MARK)


def test_a_changed_dump_runs_the_rules_again(scenario: Scenario) -> None:
    scan_json(*scenario.args)
    _mark("MA101")
    objects = [o for o in scenario.objects if o["metadata"]["name"] != "hotfix"]
    dump(scenario.dump, objects)
    _, doc = scan_json(*scenario.args)
    assert _messages(doc, "MA101") and not any(m.startswith(MARK) for m in _messages(doc, "MA101"))
    assert ("sandbox", "hotfix") not in {(f["namespace"], f["name"]) for f in doc["findings"]}


def test_a_new_commit_or_changed_options_run_the_rules_again(
    scenario: Scenario, tmp_path: Path
) -> None:
    scan_json(*scenario.args)
    _mark("MA103")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"rules": {"MA103": {"max-differences": 5}}}))
    _, doc = scan_json(*scenario.args, "--config", config)
    assert _messages(doc, "MA103") and not any(m.startswith(MARK) for m in _messages(doc, "MA103"))

    scan_json(*scenario.args)
    _mark("MA101")
    scenario.repo.commit({"README.md": "docs only\n"}, date="2026-02-01T10:00:00+00:00")
    _, doc = scan_json(*scenario.args)
    assert not any(m.startswith(MARK) for m in _messages(doc, "MA101"))


def test_changed_ignore_differences_in_a_config_file_run_the_rules_again(
    scenario: Scenario, tmp_path: Path
) -> None:
    """A --config file is outside the commit: its ignore rules shape the drift themselves."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"rules": {}}))
    scan_json(*scenario.args, "--config", config)
    _mark("MA103")
    ignore = [{"kind": "VirtualService", "name": "no-such-object", "json-pointers": ["/spec"]}]
    config.write_text(yaml.safe_dump({"ignore-differences": ignore}))
    _, doc = scan_json(*scenario.args, "--config", config)
    assert _messages(doc, "MA103") and not any(m.startswith(MARK) for m in _messages(doc, "MA103"))


def test_a_rule_that_read_the_clock_is_not_remembered(
    make_repo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"hosts": ["checkout"], "http": [{"route": [{"destination": {"host": "checkout"}}]}]}
    repo = make_repo()
    repo.commit(
        {"canary.yaml": manifest("VirtualService", "checkout-canary", spec, namespace="shop")},
        date="2025-01-01T10:00:00+00:00",
    )
    cluster = dump(
        tmp_path / "cluster.yaml",
        [live("VirtualService", "checkout-canary", "shop", spec)],
    )
    args = ("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    days = []
    for now in ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"):
        monkeypatch.setenv("MESH_AUDIT_NOW", now)
        _, doc = scan_json(*args)
        (lingering,) = [f for f in doc["findings"] if f["rule"] == "MA307"]
        days.append(lingering["evidence"]["unchanged_days"])
        assert "MA307" not in json.loads(_memo_file().read_text())["rules"]
    assert days[1] - days[0] == 31


def test_live_reads_are_identified_by_resource_versions(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        args = (
            "--repo",
            scenario.repo.path,
            "--kubeconfig",
            emu.kubeconfig(tmp_path / "kubeconfig"),
            "--db",
            tmp_path / "live.db",
        )
        scan_json(*args)
        _mark("MA101")
        _, recalled = scan_json(*args)
        assert all(m.startswith(MARK) for m in _messages(recalled, "MA101"))
        # An edit on the server bumps the object's resourceVersion: the rules run again.
        hotfix = next(o for o in emu.objects if o["metadata"]["name"] == "hotfix")
        hotfix["spec"] = {**hotfix["spec"], "hosts": ["cart-hotfix"]}
        _, fresh = scan_json(*args)
    assert _messages(fresh, "MA101") and not any(
        m.startswith(MARK) for m in _messages(fresh, "MA101")
    )


def test_objects_without_resource_versions_have_no_digest() -> None:
    with_version = live("Service", "cart", "shop", resourceVersion="12", uid="u1")
    assert versions_digest([with_version]) is not None
    assert versions_digest([with_version, live("Service", "checkout", "shop")]) is None


def test_rules_read_time_only_through_the_inventory() -> None:
    """The memo knows a rule read the clock only through `inventory.now`: a rule that
    asked the system clock would be remembered while its answer changes."""
    import rules

    for path in Path(rules.__file__).parent.glob("*.py"):
        text = path.read_text()
        for forbidden in ("datetime.now", "date.today", "time.time", "auditor.clock", "utcnow"):
            assert forbidden not in text, f"{path.name} reads the clock with {forbidden}"


@pytest.mark.parametrize(
    "garbage",
    ["{not json", '{"digest": "x"}', "[1, 2]", "MEMO"],
)
def test_a_damaged_memo_is_ignored(scenario: Scenario, garbage: str) -> None:
    _, first = scan_json(*scenario.args)
    path = _memo_file()
    if garbage == "MEMO":  # right digest, wrong shapes inside
        memo = json.loads(path.read_text())
        memo["rules"] = {
            rule: {"options": entry["options"], "problems": [[1]]}
            for rule, entry in memo["rules"].items()
        } | {"MA103": "x"}
        garbage = json.dumps(memo)
    path.write_text(garbage)
    result, again = scan_json(*scenario.args)
    assert result.exit_code == 0, result.output
    assert _comparable(again) == _comparable(first)
