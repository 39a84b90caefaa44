"""Owners from Prow OWNERS files (knative's net-istio, read from ../shared/real-world) and from
a Backstage catalog: repos owned that way have no ownerless noise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from auditor.sources.owner_files import ProwOwners
from conftest import SHARED, GitRepo, dump, live, manifest, scan_json

NET_ISTIO = SHARED / "real-world" / "knative-extensions_net-istio"


@pytest.mark.skipif(not NET_ISTIO.exists(), reason="../shared/real-world is not present")
def test_knative_gateways_are_owned_by_the_root_approvers(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "gitops")
    for name in ("OWNERS", "OWNERS_ALIASES", "config", "test", "hack"):
        src = NET_ISTIO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo.path / name)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "net-istio")
    aliases = yaml.safe_load((NET_ISTIO / "OWNERS_ALIASES").read_text())["aliases"]
    # An approver that no alias expands (a GitHub team) stays as it is.
    groups = ("technical-oversight-committee", "knative-release-leads", "serving-writers")
    root = [m for a in (*groups, "net-istio-approvers") for m in aliases.get(a, [a])]
    gateways = [
        live(
            "Gateway",
            "knative-ingress-gateway",
            "knative-serving",
            {
                "selector": {"istio": "ingressgateway"},
                "servers": [
                    {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
                ],
            },
        ),
    ]
    result, doc = scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        dump(tmp_path / "c.yaml", gateways),
        "--db",
        tmp_path / "a.db",
    )
    assert result.exit_code == 0, result.output
    assert not [f for f in doc["findings"] if f["rule"] == "MA201"]
    owned = [f for f in doc["findings"] if f["name"] == "knative-ingress-gateway"]
    assert {f["owner_source"] for f in owned} <= {"owners-file"}
    owners = ProwOwners(
        {p: (NET_ISTIO / p).read_text() for p in ("OWNERS", "OWNERS_ALIASES", "test/OWNERS")}
    )
    assert owners.of("config/202-gateway.yaml") == tuple(dict.fromkeys(root))
    assert owners.of("test/config/chaosduck.yaml") == tuple(aliases["productivity-writers"])


def test_no_parent_owners_and_reviewers_fallback() -> None:
    owners = ProwOwners(
        {
            "OWNERS": "approvers: [root]\n",
            "a/OWNERS": "reviewers: [rita]\n",
            "b/OWNERS": "reviewers: [bob]\noptions: {no_parent_owners: true}\n",
            "c/OWNERS": "approvers: [team]\n",
            "OWNERS_ALIASES": "aliases:\n  team: [tom, tess]\n",
        }
    )
    assert owners.of("a/x.yaml") == ("root",)
    assert owners.of("b/x.yaml") == ("bob",)
    assert owners.of("c/d/x.yaml") == ("tom", "tess")


def test_backstage_component_owns_objects_it_claims(tmp_path: Path) -> None:
    catalog = yaml.safe_dump_all(
        [
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "cart", "annotations": {"backstage.io/kubernetes-id": "cart"}},
                "spec": {"owner": "group:default/cart-team", "type": "service"},
            },
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "name": "pay",
                    "annotations": {"backstage.io/kubernetes-label-selector": "app=pay,tier=web"},
                },
                "spec": {"owner": "payments"},
            },
        ]
    )
    route = {"hosts": ["x"], "http": [{"route": [{"destination": {"host": "x"}}], "timeout": "1s"}]}
    repo = GitRepo(tmp_path / "gitops")
    repo.commit(
        {
            "catalog-info.yaml": catalog,
            "shop/cart.yaml": manifest(
                "VirtualService",
                "cart",
                route,
                namespace="shop",
                labels={"backstage.io/kubernetes-id": "cart"},
            ),
            "shop/pay.yaml": manifest(
                "VirtualService",
                "pay",
                route,
                namespace="shop",
                labels={"app": "pay", "tier": "web"},
            ),
            "shop/other.yaml": manifest(
                "VirtualService", "other", route, namespace="shop", labels={"app": "pay"}
            ),
        }
    )
    objects = [
        live("Namespace", "shop", ""),
        *(
            live("VirtualService", n, "shop", route, labels=labels)
            for n, labels in (
                ("cart", {"backstage.io/kubernetes-id": "cart"}),
                ("pay", {"app": "pay", "tier": "web"}),
                ("other", {"app": "pay"}),
            )
        ),
    ]
    _, doc = scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        dump(tmp_path / "c.yaml", objects),
        "--db",
        tmp_path / "a.db",
    )
    owners = {f["name"]: (f["owner"], f["owner_source"]) for f in doc["findings"]}
    assert owners["cart"] == ("group:default/cart-team", "backstage")
    assert owners["pay"] == ("payments", "backstage")
    assert ("MA201", "other") in {(f["rule"], f["name"]) for f in doc["findings"]}


def test_a_codeowners_file_without_owners_is_noted_and_a_valid_one_never(tmp_path: Path) -> None:
    """Admiral's CODEOWNERS lists bare user names: no line names an owner, which the notes
    say. A valid file is never called that, even on a --path scan of a folder it does not
    cover."""
    vs = manifest("VirtualService", "r", {"hosts": ["r"]}, namespace="a")
    notes = {}
    for name, codeowners in {"bare": "alice\nbob\n", "valid": "apps/b/ @acme/b\n"}.items():
        repo = GitRepo(tmp_path / name)
        repo.commit({"CODEOWNERS": codeowners, "apps/a/vs.yaml": vs, "apps/b/vs.yaml": vs})
        for path in ((), ("--path", "apps/a")):
            _, doc = scan_json(
                "--repo", repo.path, "--no-cluster", *path, "--db", tmp_path / f"{name}.db"
            )
            notes[name, bool(path)] = any(
                "CODEOWNERS names no owner" in n for n in doc["scan"]["notes"]
            )
    assert notes == {
        ("bare", False): True,
        ("bare", True): True,
        ("valid", False): False,
        ("valid", True): False,
    }
