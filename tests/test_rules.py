"""The catalog as a whole: each rule has its own test file in tests/rules/, whose first
test runs the rule's documented examples; kinds that could not be read silence rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auditor.config import parse_config
from auditor.errors import InputError
from auditor.pipeline import engine
from auditor.pipeline.inventory import build
from auditor.rulespec import Option, Retire
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from conftest import run
from rule_runner import NOW, SVC, vs
from rules import CATALOG

RULE_TESTS = Path(__file__).parent / "rules"


def test_every_rule_has_its_test_file_starting_with_its_examples() -> None:
    for rule in CATALOG:
        module = rule.check.__module__.rpartition(".")[2]
        text = (RULE_TESTS / f"test_{module}.py").read_text()
        first = text.index("\ndef test_")
        assert text.startswith("\ndef test_documented_examples() -> None:", first), rule.id
        assert f'RULE = "{rule.id}"' in text, rule.id


def test_unreadable_kinds_silence_cross_reference_rules() -> None:
    objects = [
        o
        for o in yaml.safe_load_all(
            SVC
            + vs(
                "x",
                "  hosts: [a]\n  http:\n  - route:\n    - destination: {host: nope, subset: v9}\n",
            )
        )
        if o
    ]
    live = LiveSnapshot(
        cluster="t",
        origin="t",
        objects=tuple(objects),
        unread={"Service": "HTTP 403", "DestinationRule": "HTTP 403"},
    )
    inventory = build(
        live, GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=()), ("owner",), NOW
    )
    config = parse_config(None, CATALOG, None)
    fired = {f.rule for f in engine.run(inventory, config, "t").findings}
    assert not fired & {"MA302", "MA303", "MA305", "MA308", "MA403"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max-attempts": 2.5}, "MA401.max-attempts: expected int, got 2.5"),
        ({"max-attempts": True}, "MA401.max-attempts: expected int, got True"),
        ({"max-attempts": -1}, "MA401.max-attempts: expected int >= 0, got -1"),
        ({"words": ["tmp", 1]}, "MA307.words: expected list of strings, got ['tmp', 1]"),
    ],
)
def test_options_are_checked_against_their_declaration(settings: dict, message: str) -> None:
    rule = "MA307" if "words" in settings else "MA401"
    with pytest.raises(InputError) as info:
        parse_config({"rules": {rule: settings}}, CATALOG, "c.yaml")
    assert str(info.value) == f"c.yaml: rules.{message}"


def test_option_bounds_and_float_options() -> None:
    ratio = Option(float, 0.5, "a share", minimum=0, maximum=1)
    assert ratio.accepts(1) and ratio.accepts(0.25) and not ratio.accepts("1")
    assert ratio.in_bounds(1) and not ratio.in_bounds(1.5) and ratio.bounds == ">= 0, <= 1"


def test_retirement_rule_sets_come_from_the_rules() -> None:
    from auditor.workflow.retire import DEFAULT_RULES, EDIT_RULES

    assert tuple(r.id for r in CATALOG if r.retire) == DEFAULT_RULES
    assert {r.id for r in CATALOG if r.retire is Retire.EDIT} == EDIT_RULES
    assert set(EDIT_RULES) < set(DEFAULT_RULES)


def test_rules_command_shows_a_rules_needs_and_examples() -> None:
    shown = run("rules", "gateway-without-virtualservice", "--format", "table").stdout
    assert "needs: kinds VirtualService, Gateway; all namespaces" in shown
    assert "Example:" in shown and "Use instead:" in shown and "ingress/shop-gateway" in shown
    assert "retirement" not in shown
    detail = run("rules", "MA306", "--format", "table").stdout
    assert "option min-age-days (int, >= 0)" in detail and "retirement: edit" in detail
