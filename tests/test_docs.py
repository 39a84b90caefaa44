"""The README and the built-in help stay true to the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.cli.commands import cli
from auditor.errors import ExitCode
from auditor.mesh.kinds import KINDS
from conftest import run
from rules import CATALOG

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_command_has_an_example_and_is_in_the_readme() -> None:
    for name, command in cli.commands.items():
        assert "Example: mesh-audit" in (command.help or ""), name
        assert f"mesh-audit {name}" in README, name


def test_readme_rule_table_is_generated_from_the_rules() -> None:
    generated = run("rules", "--markdown").stdout
    _, _, tail = README.partition("<!-- rules:start")
    current = tail.partition("-->\n")[2].partition("<!-- rules:end -->")[0]
    assert current == generated, "README rule table is stale: paste `mesh-audit rules --markdown`"


def test_every_rule_documents_why_and_fix_and_its_options() -> None:
    for rule in CATALOG:
        assert rule.summary and "Rationale:" in rule.doc and "Fix:" in rule.doc, rule.id
        assert rule.example_bad and rule.example_good, rule.id
        for name, option in rule.options.items():
            assert option.description and option.accepts(option.default), (rule.id, name)
            assert option.kind not in (int, float) or option.in_bounds(option.default)


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
