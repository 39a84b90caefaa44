"""The catalog as a whole: each rule has its own test file in tests/rules/, whose first
test runs the rule's documented examples; kinds that could not be read silence rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.config import parse_config
from auditor.pipeline import engine
from auditor.pipeline.inventory import build
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
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
