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

from auditor.normalize import spec_diff
from conftest import BOOKINFO, KIALI, GitRepo, dump, findings_of, scan_json

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
    (dest / "kustomization.yaml").write_text(
        "namespace: bookinfo\nresources:\n"
        + "".join(f"  - {p.name}\n" for p in sorted(BOOKINFO.glob("*.yaml")))
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
    assert any("declared twice" in n for n in doc["scan"]["notes"])
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
    for name, cluster in (("travel", dump(tmp_path / "t.yaml", objects)), ("mcp", mcp_list)):
        result, doc = scan_json(
            "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / f"{name}.db"
        )
        assert result.exit_code == 0, result.output
        assert {f[0] for f in findings_of(doc)} == {"MA101", "MA201"}
