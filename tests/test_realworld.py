"""Real third-party material from ../shared/real-world (Apache-2.0, see its SOURCES.md).

The Istio bookinfo manifests play the GitOps repo; the live-shaped objects that Kiali's
fixtures embed (server metadata, managedFields, last-applied annotations, v1beta1) play
the cluster.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.mesh.normalize import spec_diff
from conftest import BOOKINFO, KIALI, GitRepo, dump, findings_of, live, not_run, scan_json

pytestmark = pytest.mark.skipif(not BOOKINFO.exists(), reason="../shared/real-world is not present")

BOOKINFO_NS = KIALI / "namespaces" / "bookinfo" / "istio_configs"


def _kiali(path: Path, key: str) -> dict:
    return json.loads(path.read_text())[key]


def _bookinfo_repo(root: Path) -> GitRepo:
    repo = GitRepo(root / "gitops")
    dest = repo.path / "bookinfo"
    dest.mkdir(parents=True)
    for src in BOOKINFO.glob("*.yaml"):
        shutil.copy(src, dest / src.name)
    # Argo CD applies the folder as a directory app into namespace bookinfo.
    (repo.path / "argocd.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: bookinfo}\n"
        "spec:\n  source: {repoURL: https://github.com/istio/istio.git, path: bookinfo}\n"
        "  destination: {namespace: bookinfo}\n"
    )
    repo.git("add", ".")
    repo.git(
        "commit",
        "-q",
        "-m",
        "Update to read CRDs from `v1` (#52419)",
        date="2024-08-01T13:04:20-07:00",
        author="John Howard",
    )
    return repo


def test_live_bookinfo_virtualservice_does_not_drift_from_the_sample() -> None:
    live = _kiali(BOOKINFO_NS / "virtualservices" / "bookinfo.json", "virtualService")
    git = __import__("yaml").safe_load_all((BOOKINFO / "bookinfo-gateway.yaml").read_text())
    vs = next(d for d in git if d["kind"] == "VirtualService")
    assert (
        live["apiVersion"] == "networking.istio.io/v1beta1"
        and vs["apiVersion"] == "networking.istio.io/v1"
    )
    assert spec_diff(vs, live) == ()


def test_bookinfo_scan_against_kiali_live_objects(tmp_path: Path) -> None:
    repo = _bookinfo_repo(tmp_path)
    objects = [
        _kiali(BOOKINFO_NS / "virtualservices" / "bookinfo.json", "virtualService"),
        _kiali(BOOKINFO_NS / "gateways" / "bookinfo-gateway.json", "gateway"),
        live("Namespace", "bookinfo", ""),  # with no owner label
    ]
    cluster = dump(tmp_path / "kiali.yaml", objects)
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db", "-n", "bookinfo"
    )
    assert result.exit_code == 0, result.output
    found = findings_of(doc)
    # The two live objects match their manifests: no drift, no unmanaged finding.
    assert not {f for f in found if f[0] in ("MA101", "MA103")}
    assert ("MA102", "VirtualService", "bookinfo/bookinfo") not in found
    # Every other sample (reviews 80/20, fault injection, ...) is only in the repo. Several
    # samples declare the same name (e.g. VirtualService reviews in 8 files): one finding each.
    not_applied = {name for rule, _, name in found if rule == "MA102"}
    assert "bookinfo/reviews" in not_applied and "bookinfo/productpage" in not_applied
    # Argo CD would refuse to sync this folder: the samples are alternatives, not one app.
    assert ("MA104", "VirtualService", "bookinfo/reviews") in found
    assert doc["scan"]["apps"][0]["found_by"] == "Argo CD Application bookinfo (argocd.yaml)"
    # No owner anywhere: every resource is ownerless, with the mass commit's author as the lead.
    ownerless = [f for f in doc["findings"] if f["rule"] == "MA201"]
    assert ownerless and all("John Howard" in f["evidence"]["leads"][0] for f in ownerless)


def test_kiali_travel_control_and_mcpchecker_objects_load_as_a_dump(tmp_path: Path) -> None:
    travel = KIALI / "namespaces" / "travel-control" / "istio_configs"
    objects = [
        _kiali(travel / "virtualservices" / "control.json", "virtualService"),
        _kiali(travel / "destinationrules" / "control.json", "destinationRule"),
        _kiali(travel / "gateways" / "control-gateway.json", "gateway"),
    ]
    mcp = KIALI.parents[4] / "kiali_kiali" / "tests" / "evals" / "results"
    mcp_list = next(mcp.glob("DERIVED_*.json"))
    repo = GitRepo(tmp_path / "empty")
    repo.git("commit", "-q", "--allow-empty", "-m", "empty")
    expected = {
        # No manifests: every object is unmanaged, and routes set no timeout.
        "travel": {"MA101", "MA405"},
        # The eval run left fault-injection VirtualServices behind (created 2026-07-14):
        # lingering experiments (MA307); two of them claim the same host (MA309); one
        # routes to subset v1 with no DestinationRule (MA303); Gateway istio-system/my-gateway
        # is bound by no VirtualService (MA310: the only one naming a gateway names another).
        "mcp": {"MA101", "MA405", "MA303", "MA307", "MA309", "MA310"},
    }
    for name, cluster in (("travel", dump(tmp_path / "t.yaml", objects)), ("mcp", mcp_list)):
        result, doc = scan_json(
            "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / f"{name}.db"
        )
        assert result.exit_code == 0, result.output
        assert {f[0] for f in findings_of(doc)} == expected[name]
        # These dumps hold no Services, Pods or Namespaces: hosts cannot be called
        # unresolved (MA302), subsets empty (MA305) nor resources ownerless (MA201).
        notes = doc["scan"]["notes"]
        assert any(n.startswith("Service: the dump holds no services") for n in notes)
        assert {"MA201", "MA302", "MA305"} <= set(not_run(doc))


BOOKINFO_VERSIONS = {
    "productpage": ["v1"],
    "reviews": ["v1", "v2", "v3"],
    "ratings": ["v1"],
    "details": ["v1"],
}
ROUTING = ("bookinfo-gateway.yaml", "destination-rule-all.yaml", "virtual-service-all-v1.yaml")


def _platform() -> list[dict]:
    """The bookinfo Services and Pods as `kubectl apply -f bookinfo.yaml` creates them."""
    objects = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "default", "labels": {"team": "bookinfo"}},
        }
    ]
    for app, versions in BOOKINFO_VERSIONS.items():
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": app, "namespace": "default"},
                "spec": {"selector": {"app": app}, "ports": [{"port": 9080, "name": "http"}]},
            }
        )
        objects += [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{app}-{v}",
                    "namespace": "default",
                    "labels": {"app": app, "version": v},
                },
            }
            for v in versions
        ]
    return objects


def test_bookinfo_request_routing_findings_a_mesh_engineer_agrees_with(tmp_path: Path) -> None:
    """The bookinfo "request routing" task applied as documented: the gateway, all
    DestinationRules and all traffic to v1, committed and live."""
    import yaml

    repo = GitRepo(tmp_path / "gitops")
    for name in ROUTING:
        (repo.path / name).write_text((BOOKINFO / name).read_text())
    repo.git("add", ".")
    repo.git(
        "commit",
        "-q",
        "-m",
        "bookinfo routing",
        date="2024-08-01T13:04:20-07:00",
        author="John Howard",
    )
    applied = [
        d for name in ROUTING for d in yaml.safe_load_all((BOOKINFO / name).read_text()) if d
    ]
    for obj in applied:
        obj["metadata"].update(namespace="default", creationTimestamp="2024-08-02T00:00:00Z")
    cluster = dump(tmp_path / "cluster.yaml", applied + _platform())
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    found = {
        (f["rule"], f["kind"], f["name"], f.get("evidence", {}).get("subset"))
        for f in doc["findings"]
    }
    assert found == {
        # All traffic goes to v1, so the other subsets of destination-rule-all.yaml are
        # unused: exactly what the next task (canary to v2/v3) would use, and dead config
        # if that never happens. Low severity.
        ("MA304", "DestinationRule", "reviews", "v2"),
        ("MA304", "DestinationRule", "reviews", "v3"),
        ("MA304", "DestinationRule", "ratings", "v2"),
        ("MA304", "DestinationRule", "ratings", "v2-mysql"),
        ("MA304", "DestinationRule", "ratings", "v2-mysql-vm"),
        ("MA304", "DestinationRule", "details", "v2"),
        # The same subsets select no running pod: only v1 of ratings and details is deployed.
        ("MA305", "DestinationRule", "ratings", "v2"),
        ("MA305", "DestinationRule", "ratings", "v2-mysql"),
        ("MA305", "DestinationRule", "ratings", "v2-mysql-vm"),
        ("MA305", "DestinationRule", "details", "v2"),
        # The samples set no timeout on any route: Istio then sets no limit.
        ("MA405", "VirtualService", "bookinfo", None),
        ("MA405", "VirtualService", "productpage", None),
        ("MA405", "VirtualService", "reviews", None),
        ("MA405", "VirtualService", "ratings", None),
        ("MA405", "VirtualService", "details", None),
    }
    # In sync with Git, owned through the namespace label, every host and subset resolves.
    assert all(f["owner"] == "bookinfo" for f in doc["findings"])


def test_a_repo_without_services_does_not_make_every_host_unresolved(tmp_path: Path) -> None:
    """The bookinfo networking samples declare no Service (they come from bookinfo.yaml,
    elsewhere): a --no-cluster scan cannot tell a missing Service from one kept in another
    repo, so MA302/MA308 say they did not run instead of 11 high findings. Once the repo
    declares Services (productpage's, from the last-applied manifest Kiali's fixture
    embeds), hosts are judged against them again."""
    repo = _bookinfo_repo(tmp_path)
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "a.db")
    assert not {f for f in findings_of(doc) if f[0] in ("MA302", "MA308")}
    for rule in ("MA302", "MA308"):
        assert (
            not_run(doc)[rule] == "needs Services, and the repo declares none (--no-cluster scan)"
        )
    svc = _kiali(KIALI / "namespaces" / "bookinfo" / "services" / "productpage.json", "service")
    applied = json.loads(svc["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    (repo.path / "bookinfo" / "productpage-service.json").write_text(json.dumps(applied))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "productpage service")
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "b.db")
    unresolved = {name for rule, _, name in findings_of(doc) if rule == "MA302"}
    assert "bookinfo/reviews" in unresolved and "bookinfo/bookinfo" not in unresolved


def test_subsets_of_alternative_declarations_are_all_known(tmp_path: Path) -> None:
    """Bookinfo declares VirtualService reviews 11 times and DestinationRule details 3 times
    (alternative samples). Judged on the repo alone, a subset one declaration defines or
    routes to is not 'missing' or 'unused' because another declaration happens to come last;
    a route to a subset no declaration defines still is."""
    repo = _bookinfo_repo(tmp_path)
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "a.db")
    found = findings_of(doc)
    assert ("MA104", "VirtualService", "bookinfo/reviews") in found
    assert not {f for f in found if f[0] in ("MA303", "MA304")}
    (repo.path / "bookinfo" / "reviews-v4.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: reviews-v4}\nspec:\n  hosts: [reviews-v4]\n  http:\n"
        "  - route:\n    - destination: {host: reviews, subset: v4}\n    timeout: 5s\n"
    )
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "route to a subset nobody defines")
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "b.db")
    assert {f for f in findings_of(doc) if f[0] in ("MA303", "MA304")} == {
        ("MA303", "VirtualService", "bookinfo/reviews-v4")
    }
