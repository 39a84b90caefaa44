"""The README and the built-in help stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from auditor.cli.commands import cli
from auditor.errors import ExitCode
from auditor.mesh.kinds import KINDS
from rules import CATALOG

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_command_has_an_example_and_is_in_the_readme() -> None:
    for name, command in cli.commands.items():
        assert "Example: mesh-audit" in (command.help or ""), name
        assert f"mesh-audit {name}" in README, name


def test_every_rule_is_documented_in_code_and_readme() -> None:
    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\| (MA\d+) \| ([a-z-]+) \| (\w+) \|", README, re.M)
    }
    assert set(rows) == {r.id for r in CATALOG}
    for rule in CATALOG:
        assert rows[rule.id] == (rule.name, rule.severity.value)
        assert "Rationale:" in rule.doc and "Fix:" in rule.doc, rule.id
        for option in rule.options:
            assert option in README, (rule.id, option)


def test_exit_codes_are_documented() -> None:
    for code in ExitCode:
        assert f"| {int(code)} |" in README


def test_readme_starts_with_exactly_two_commands() -> None:
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(first_block) == 2
    assert first_block[0].endswith("mesh-audit demo")
    assert first_block[1].endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert first_block[1] in ci


def test_rbac_grants_exactly_get_list_on_the_kinds_read() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    granted = {
        (group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert granted == {(k.group, k.plural) for k in KINDS}
    assert all(rule["verbs"] == ["get", "list"] for rule in role["rules"])
