"""Run one rule over YAML, as tests/rules/ and the peer cases do.

`run_rule` reads the text as a cluster dump. `run_example` reads a rule's documented
example, whose documents may be manifests in the repo (see auditor/rulespec.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from auditor.config import parse_config
from auditor.mesh.kinds import key_of
from auditor.model import Finding, Manifest
from auditor.pipeline import engine
from auditor.pipeline.inventory import build
from auditor.rulespec import example_documents
from auditor.sources import LiveSnapshot
from auditor.sources.gitops import GitSnapshot
from rules import CATALOG

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BY_ID = {r.id: r for r in CATALOG}
BY_NAME = {r.name: r for r in CATALOG}

Found = set[tuple[str, str, str, str]]


def _findings(
    rule_id: str, live: Sequence[dict[str, Any]], manifests: Sequence[Manifest], **options: Any
) -> list[Finding]:
    snapshot = LiveSnapshot(cluster="test", origin="test", objects=tuple(live))
    git = GitSnapshot(repo="r", ref="HEAD", commit="c", manifests=tuple(manifests))
    config = parse_config(
        {"rules": {r.id: {"enabled": r.id == rule_id} for r in CATALOG} | {rule_id: options}},
        CATALOG,
        None,
    )
    inventory = build(snapshot, git, ("owner",), NOW)
    return [f for f in engine.run(inventory, config, "test").findings if f.rule == rule_id]


def _found(findings: Sequence[Finding]) -> Found:
    return {(f.rule, f.key.kind, f"{f.key.namespace}/{f.key.name}", f.locator) for f in findings}


def run_rule(rule_id: str, text: str, **options: Any) -> Found:
    return _found(_findings(rule_id, [o for o in yaml.safe_load_all(text) if o], (), **options))


def example_findings(rule_id: str, text: str, **options: Any) -> list[Finding]:
    """The findings of one rule on a text in the documented examples' form."""
    docs = example_documents(text)
    manifests = [Manifest(key_of(d.obj), d.obj, d.repo_path, 1, None) for d in docs if d.repo_path]
    return _findings(rule_id, [d.obj for d in docs if d.cluster], manifests, **options)


def run_example(rule_id: str, text: str) -> Found:
    return _found(example_findings(rule_id, text))


def assert_examples(rule_id: str) -> None:
    """The rule's documented bad example fires and its good example is silent."""
    rule = BY_ID[rule_id]
    assert run_example(rule_id, rule.example_bad), f"{rule_id}: EXAMPLE_BAD does not fire"
    assert run_example(rule_id, rule.example_good) == set(), f"{rule_id}: EXAMPLE_GOOD fires"


SVC = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{port: 9080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1, namespace: default, labels: {app: reviews, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
"""


def vs(name: str, spec: str, namespace: str = "default", meta: str = "") -> str:
    return f"""
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}{meta}}}
spec:
{spec}"""


ROUTE_TO = (
    "  hosts: [{0}]\n  http:\n  - route:\n    - destination: {{host: {1}}}\n    timeout: 5s\n"
)
