"""End-to-end scans through the CLI, against a real Git repo and a cluster dump."""

from __future__ import annotations

import json
import sqlite3

from conftest import CART_VS, Scenario, dump, findings_of, live, not_run, run, scan_json

FINDING_KEYS = {
    "rule",
    "rule_name",
    "severity",
    "cluster",
    "kind",
    "namespace",
    "name",
    "owner",
    "owner_source",
    "message",
    "fingerprint",
    "status",
    "first_seen",
    "last_seen",
    "source",
    "evidence",
}


def test_scan_finds_each_state_and_owner_source(scenario: Scenario) -> None:
    result, doc = scan_json(*scenario.args)
    assert result.exit_code == 0, result.output
    assert findings_of(doc) == Scenario.EXPECTED
    assert all(set(f) == FINDING_KEYS for f in doc["findings"])
    by = {(f["rule"], f["name"]): f for f in doc["findings"]}
    assert (by["MA101", "hotfix"]["owner"], by["MA101", "hotfix"]["owner_source"]) == (
        "sandbox-team",
        "namespace-label",
    )
    drift = by["MA103", "cart"]
    assert (drift["owner"], drift["owner_source"]) == ("cart-team", "live-label")
    assert drift["source"]["path"] == "apps/shop/routes.yaml"
    assert drift["source"]["line"] > 1
    assert drift["evidence"]["differences"] == [
        {
            "path": "spec.trafficPolicy",
            "git": None,
            "live": {"loadBalancer": {"simple": "LEAST_REQUEST"}},
        }
    ]
    ghost = by["MA201", "ghost"]
    assert ghost["owner"] is None
    assert "Carol Example <carol@example.com>" in ghost["evidence"]["leads"][0]
    assert "kubectl-edit" in by["MA201", "stray"]["evidence"]["leads"][0]
    scan = doc["scan"]
    assert scan["complete"] is True and scan["cluster"] == "cluster"
    assert scan["commit"] == scenario.repo.git("rev-parse", "HEAD")
    assert (scan["findings"], scan["new"], scan["resolved"]) == (6, 6, 0)


def test_codeowners_gives_owner_when_labels_do_not(scenario: Scenario) -> None:
    scenario.objects[4]["spec"] = {"hosts": ["checkout"]}  # drift checkout so it gets a finding

    dump(scenario.dump, scenario.objects)
    _, doc = scan_json(*scenario.args)
    checkout = next(f for f in doc["findings"] if f["name"] == "checkout")
    assert (checkout["owner"], checkout["owner_source"]) == ("@acme/shop", "codeowners")


def test_rescan_keeps_first_seen_and_resolves_fixed_findings(scenario: Scenario) -> None:
    args = scenario.args
    _, first = scan_json(*args)
    _, second = scan_json(*args)
    assert {f["fingerprint"]: f["first_seen"] for f in first["findings"]} == {
        f["fingerprint"]: f["first_seen"] for f in second["findings"]
    }
    assert second["scan"]["new"] == 0
    # The hotfix is deleted from the cluster: its finding resolves.

    dump(scenario.dump, [o for o in scenario.objects if o["metadata"]["name"] != "hotfix"])
    _, third = scan_json(*args)
    assert third["scan"]["resolved"] == 1
    resolved = json.loads(
        run("findings", "--db", scenario.db, "--status", "resolved", "--format", "json").stdout
    )
    assert [(f["rule"], f["name"]) for f in resolved["findings"]] == [("MA101", "hotfix")]
    assert resolved["findings"][0]["resolved_at"]
    # It comes back: the same finding reopens with its first_seen kept.
    dump(scenario.dump, scenario.objects)
    _, fourth = scan_json(*args)
    assert fourth["scan"]["reopened"] == 1
    hotfix = next(f for f in fourth["findings"] if f["name"] == "hotfix")
    assert hotfix["status"] == "open"
    assert (
        hotfix["first_seen"]
        == next(f for f in first["findings"] if f["name"] == "hotfix")["first_seen"]
    )
    # The history of its status changes is kept.
    conn = sqlite3.connect(scenario.db)
    history = conn.execute(
        "SELECT scan_id, from_status, to_status, note FROM finding_events WHERE fingerprint = ? ORDER BY id",
        [hotfix["fingerprint"]],
    ).fetchall()
    conn.close()
    assert history == [
        (1, None, "open", "first seen"),
        (3, "open", "resolved", "not seen"),
        (4, "resolved", "open", "seen again"),
    ]


def test_namespace_scoped_scan_only_resolves_inside_its_scope(scenario: Scenario) -> None:
    args = scenario.args
    scan_json(*args)
    result, doc = scan_json(*args, "-n", "shop")
    assert result.exit_code == 0
    assert {f["namespace"] for f in doc["findings"]} == {"shop"}
    assert doc["scan"]["resolved"] == 0
    still_open = json.loads(run("findings", "--db", scenario.db, "--format", "json").stdout)[
        "findings"
    ]
    assert len(still_open) == 6


def test_fail_on_threshold_and_new(scenario: Scenario) -> None:
    args = scenario.args
    assert scan_json(*args, "--fail-on", "high")[0].exit_code == 1
    assert scan_json(*args, "--fail-on", "critical")[0].exit_code == 0
    # Nothing new since the first scan; then a new unmanaged resource appears.
    assert scan_json(*args, "--fail-on", "new")[0].exit_code == 0
    newcomer = live("VirtualService", "newcomer", "shop", {**CART_VS, "hosts": ["n"]})
    dump(scenario.dump, [*scenario.objects, newcomer])
    assert scan_json(*args, "--fail-on", "new")[0].exit_code == 1


def test_ref_reads_the_commit_not_the_work_tree(scenario: Scenario) -> None:
    first = scenario.repo.git("rev-list", "--max-parents=0", "HEAD")
    (scenario.repo.path / "apps" / "old" / "ghost.yaml").unlink()  # uncommitted: ignored
    _, head = scan_json(*scenario.args)
    assert ("MA102", "VirtualService", "old/ghost") in findings_of(head)
    assert any("uncommitted changes are ignored" in n for n in head["scan"]["notes"])
    _, old = scan_json(
        "--repo",
        scenario.repo.path,
        "--ref",
        first,
        "--cluster-dump",
        scenario.dump,
        "--db",
        scenario.db,
    )
    assert ("MA102", "VirtualService", "old/ghost") not in findings_of(old)
    assert old["scan"]["commit"] == first


def test_table_output_groups_by_owner(scenario: Scenario) -> None:
    result = run(
        "scan",
        "--format",
        "table",
        *scenario.args,
    )
    assert result.exit_code == 0
    out = result.stdout
    assert out.index("cart-team") < out.index("sandbox-team") < out.index("(no owner)")
    assert "Scan #1 of cluster" in out


def test_disabled_rule_and_severity_override_from_repo_config(scenario: Scenario) -> None:
    scenario.repo.commit(
        {
            ".mesh-audit.yaml": "rules:\n  ownerless: {enabled: false}\n  MA103: {severity: critical}\n"
        }
    )
    _, doc = scan_json(*scenario.args)
    assert {f["rule"] for f in doc["findings"]} == {"MA101", "MA102", "MA103"}
    assert next(f for f in doc["findings"] if f["rule"] == "MA103")["severity"] == "critical"
    assert "MA201" not in doc["scan"]["rules"]


def test_multi_document_and_json_dumps_give_the_same_findings(scenario: Scenario, tmp_path) -> None:
    import yaml as pyyaml

    stream = tmp_path / "stream.yaml"
    stream.write_text(pyyaml.safe_dump_all(scenario.objects))
    as_json = tmp_path / "cluster.json"
    as_json.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": scenario.objects}))
    for path in (stream, as_json):
        _, doc = scan_json(
            "--repo",
            scenario.repo.path,
            "--cluster-dump",
            path,
            "--db",
            tmp_path / "x.db",
            "--cluster-name",
            "c",
        )
        assert findings_of(doc) == Scenario.EXPECTED


def test_owner_annotation_on_manifest_and_github_codeowners_first(scenario: Scenario) -> None:
    from conftest import manifest

    scenario.repo.commit(
        {
            ".github/CODEOWNERS": "apps/old/ @acme/archaeology\n",
            "apps/old/ghost.yaml": manifest("VirtualService", "ghost", CART_VS, namespace="old"),
            "apps/old/other.yaml": manifest(
                "VirtualService",
                "other",
                CART_VS,
                namespace="old",
                annotations={"mesh-audit.io/owner": "someone"},
            ),
        }
    )
    _, doc = scan_json(*scenario.args)
    owners = {
        f["name"]: (f["owner"], f["owner_source"]) for f in doc["findings"] if f["rule"] == "MA102"
    }
    assert owners == {
        "ghost": ("@acme/archaeology", "codeowners"),
        "other": ("someone", "manifest-annotation"),
    }


def test_a_dump_made_without_services_pods_or_namespaces_judges_nothing_about_them(
    scenario: Scenario,
) -> None:
    """`kubectl get virtualservices,destinationrules -A -o yaml` is a dump too, but reading
    its missing Services as "none" would make every host unresolved and every resource
    ownerless."""
    istio_only = [o for o in scenario.objects if o["kind"] not in ("Service", "Pod", "Namespace")]
    dump(scenario.dump, istio_only)
    result, doc = scan_json(*scenario.args)
    assert result.exit_code == 0 and doc["scan"]["complete"], result.output
    rules = {f["rule"] for f in doc["findings"]}
    assert not rules & {"MA201", "MA302", "MA305", "MA308"}
    assert {"MA101", "MA102", "MA103"} <= rules  # what the dump does show is still judged
    notes = doc["scan"]["notes"]
    for plural in ("namespaces", "services", "pods"):
        assert any(f"the dump holds no {plural}, though every cluster has some" in n for n in notes)
    assert not_run(doc)["MA302"] == "needs Service, which could not be read"


def test_a_dump_without_a_single_istio_object_is_not_read_as_nothing_applied(
    scenario: Scenario,
) -> None:
    """`kubectl get all -A -o yaml` lists no custom resources: read as "the cluster has
    none", every manifest would be not applied. No rule judges it, so every finding of an
    earlier scan stays open (one seen on live objects as much as an MA102)."""
    result, first = scan_json(*scenario.args)
    assert result.exit_code == 0
    open_before = {(f["rule"], f["name"]) for f in first["findings"]}
    assert ("MA102", "ghost") in open_before
    dump(
        scenario.dump, [o for o in scenario.objects if o["kind"] in ("Service", "Pod", "Namespace")]
    )
    result, doc = scan_json(*scenario.args)
    assert result.exit_code == 3 and not doc["scan"]["complete"], result.output
    assert doc["findings"] == []
    (reason,) = doc["scan"]["partial_reasons"]
    assert reason.startswith(
        "VirtualService, DestinationRule, ServiceEntry, Gateway: the dump holds no Istio object"
    )
    assert "mesh-audit: warning: not read: VirtualService, DestinationRule" in result.stderr
    assert set(not_run(doc).values()) == {
        "needs the cluster's Istio objects, and none could be read"
    }
    assert doc["scan"]["resolved"] == 0 and doc["scan"]["rules"] == []
    result = run("findings", "--db", scenario.db, "--format", "json")
    still_open = {(f["rule"], f["name"]) for f in json.loads(result.stdout)["findings"]}
    assert still_open == open_before
