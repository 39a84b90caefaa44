"""`.mesh-audit.yaml`: validated once, clear errors, defaults filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import load_config, parse_config
from auditor.errors import InputError
from conftest import Scenario, run
from rules import CATALOG


def test_defaults() -> None:
    config = parse_config(None, CATALOG, None)
    assert config.owner_keys == ("owner", "team", "mesh-audit.io/owner")
    assert [r.rule.id for r in config.enabled] == [r.id for r in CATALOG]
    drift = next(r for r in config.rules if r.rule.id == "MA103")
    assert drift.options["max-differences"] == 50


def test_settings_by_id_or_name() -> None:
    config = parse_config(
        {
            "owner-keys": ["squad"],
            "rules": {
                "spec-drift": {"max-differences": 5, "severity": "low"},
                "MA101": {"enabled": False},
            },
        },
        CATALOG,
        "x.yaml",
    )
    by = {r.rule.id: r for r in config.rules}
    assert by["MA103"].options["max-differences"] == 5 and by["MA103"].severity == "low"
    assert not by["MA101"].enabled and config.owner_keys == ("squad",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"owners": []},
            "x.yaml: unknown key 'owners' (allowed: owner-keys, rules, waivers, apps, ignore-differences)",
        ),
        ({"rules": {"MA999": {}}}, "x.yaml: rules: unknown rule 'MA999'"),
        (
            {"rules": {"MA103": {"severity": "urgent"}}},
            "x.yaml: rules.MA103.severity: expected info|low|medium|high|critical",
        ),
        (
            {"rules": {"MA103": {"max-differences": "ten"}}},
            "x.yaml: rules.MA103.max-differences: expected int",
        ),
        ({"rules": {"MA103": {"max-differences": -1}}}, "expected int >= 0, got -1"),
        (
            {"rules": {"MA103": {"colour": "red"}}},
            "unknown key 'colour' (allowed: severity, enabled, max-differences)",
        ),
        ({"rules": {"MA101": {"enabled": "no"}}}, "x.yaml: rules.MA101.enabled: expected bool"),
        ({"rules": {"MA101": {}, "unmanaged": {}}}, "MA101 is configured twice"),
        ({"owner-keys": "team"}, "owner-keys: expected a non-empty list of strings"),
        (["a"], "expected a mapping at the top level"),
    ],
)
def test_bad_values_are_clear_errors(data, message: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        parse_config(data, CATALOG, "x.yaml")
    assert message in str(info.value)


def test_malformed_config_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules:\n  MA101: {enabled: false\n")
    with pytest.raises(InputError) as info:
        load_config(path.read_text(), str(path), CATALOG)
    assert str(info.value).startswith(f"{path}:3: invalid YAML")


def test_bad_config_exits_2_and_leaves_db_untouched(scenario: Scenario, tmp_path: Path) -> None:
    run(
        "scan",
        *scenario.args,
        "--format",
        "json",
    )
    before = scenario.db.read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: {MA101: {severity: urgent}}\n")
    result = run(
        "scan",
        *scenario.args,
        "--config",
        bad,
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "severity: expected" in result.stderr
    assert scenario.db.read_bytes() == before
