"""Progressive-delivery controllers: what Argo Rollouts and Flagger manage is never a finding,
and their real leftovers still are. Rollout and Canary objects as their docs and
controllers write them (admiral's rollout-canary overlay and Flagger's istio-canary
example, read from ../shared/real-world), with live objects carrying the controllers'
managedFields."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import SHARED, GitRepo, dump, findings_of, live, scan_json

ADMIRAL = SHARED / "real-world" / "istio-ecosystem_admiral" / "install" / "sample"
FLAGGER = SHARED / "real-world" / "fluxcd_flagger"
pytestmark = [
    pytest.mark.skipif(not ADMIRAL.exists(), reason="../shared/real-world is not present"),
    pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (kustomize) not on PATH"),
]
NS = "sample-rollout-canary"
OLD = "2024-02-01T10:00:00+00:00"
MANAGED = [
    {"manager": "argocd-controller", "operation": "Apply", "time": "2024-02-02T00:00:00Z"},
    {"manager": "rollouts-controller", "operation": "Update", "time": "2026-11-20T08:00:00Z"},
]


def _admiral_repo(root: Path) -> GitRepo:
    repo = GitRepo(root / "gitops")
    shutil.copytree(ADMIRAL / "base", repo.path / "base")
    shutil.copytree(ADMIRAL / "overlays" / "rollout-canary", repo.path / "overlays" / "canary")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "admiral sample", date=OLD)
    return repo


def _rendered(repo: GitRepo) -> list[dict]:
    import subprocess

    out = subprocess.run(
        ["kubectl", "kustomize", "overlays/canary"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _live(repo: GitRepo, weights: tuple[int, int], phase: str, hashed: bool = False) -> list[dict]:
    """The cluster as Argo CD applied the overlay and the Rollout controller keeps it."""
    objects = []
    for obj in _rendered(repo):
        obj = copy.deepcopy(obj)
        obj["metadata"]["creationTimestamp"] = "2024-02-02T00:00:00Z"
        if obj["kind"] == "VirtualService":
            route = obj["spec"]["http"][0]["route"]
            route[0]["weight"], route[1]["weight"] = weights
            obj["metadata"]["managedFields"] = MANAGED
        if obj["kind"] == "Service" and hashed:
            obj["spec"]["selector"]["rollouts-pod-template-hash"] = "6b4f9d"
        if obj["kind"] == "Rollout":
            obj["status"] = {
                "phase": phase,
                "currentStepIndex": 1 if phase == "Paused" else 2,
                "canary": {
                    "weights": {"canary": {"weight": weights[1]}, "stable": {"weight": weights[0]}}
                },
            }
        objects.append(obj)
    return objects


@pytest.mark.parametrize(
    ("weights", "phase"),
    [((100, 0), "Healthy"), ((90, 10), "Paused"), ((100, 0), "Degraded")],
    ids=["steady", "mid-canary", "after-abort"],
)
def test_argo_rollout_routes_are_the_controllers(tmp_path: Path, weights, phase) -> None:
    repo = _admiral_repo(tmp_path)
    cluster = dump(tmp_path / "c.yaml", _live(repo, weights, phase, hashed=True))
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    vs = {f[0] for f in findings_of(doc) if f[2] == f"{NS}/rollout-vsvc"}
    # The canary leg at rest, the weights mid-rollout: by design, not a leftover or drift.
    assert not vs & {"MA103", "MA306", "MA307", "MA101", "MA302"}
    # A fair finding: no route timeout on the managed route (low).
    assert "MA405" in vs
    notes = doc["scan"]["notes"]
    if phase == "Paused":
        assert any(
            f"Rollout {NS}/greeting-canary is paused at step 1, canary weight 10%" in n
            for n in notes
        )
    else:
        assert not any("greeting-canary is" in n for n in notes)


def test_drift_outside_the_managed_fields_is_still_drift(tmp_path: Path) -> None:
    repo = _admiral_repo(tmp_path)
    objects = _live(repo, (90, 10), "Paused")
    vs = next(o for o in objects if o["kind"] == "VirtualService")
    vs["spec"]["http"][0]["timeout"] = "3s"  # a hand edit next to the controller's weights
    cluster = dump(tmp_path / "c.yaml", objects)
    _, doc = scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    drift = next(f for f in doc["findings"] if f["rule"] == "MA103")
    assert [d["path"] for d in drift["evidence"]["differences"]] == ["spec.http[0].timeout"]
    why = f"written by Rollout {NS}/greeting-canary"
    assert drift["evidence"]["left_out"] == [
        {"path": "spec.http[0].route[0].weight", "why": why},
        {"path": "spec.http[0].route[1].weight", "why": why},
    ]


def test_a_route_left_by_a_deleted_rollout_is_a_finding(tmp_path: Path) -> None:
    repo = _admiral_repo(tmp_path)
    # A first scan sees the Rollout manage the route.
    before = dump(tmp_path / "before.yaml", _live(repo, (100, 0), "Healthy"))
    scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        before,
        "--db",
        tmp_path / "a.db",
        "--cluster-name",
        "prod",
    )
    # The Rollout was deleted from the repo (and the cluster); its VirtualService stayed.
    greeting = repo.path / "overlays" / "canary" / "greeting.yaml"
    greeting.write_text(
        "---\n".join(d for d in greeting.read_text().split("---\n") if "kind: Rollout" not in d)
    )
    repo.git("commit", "-q", "-am", "drop the rollout", date="2024-03-01T10:00:00+00:00")
    objects = [o for o in _live(repo, (100, 0), "Healthy") if o["kind"] != "Rollout"]
    cluster = dump(tmp_path / "c.yaml", objects)
    _, doc = scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        cluster,
        "--db",
        tmp_path / "a.db",
        "--cluster-name",
        "prod",
    )
    leftover = next(f for f in doc["findings"] if f["rule"] == "MA306")
    assert leftover["name"] == "rollout-vsvc"
    assert leftover["evidence"]["left_by"].startswith(
        "Argo Rollouts (field manager, last write 2026-11-20)"
    )
    assert f"last managed by Rollout {NS}/greeting-canary" in leftover["evidence"]["left_by"]


def _flagger_repo(root: Path) -> GitRepo:
    repo = GitRepo(root / "gitops")
    (repo.path / ".github").mkdir(parents=True)
    shutil.copy(FLAGGER / ".github" / "CODEOWNERS", repo.path / ".github" / "CODEOWNERS")
    (repo.path / "apps").mkdir()
    shutil.copy(
        FLAGGER / "artifacts" / "examples" / "istio-canary.yaml",
        repo.path / "apps" / "podinfo.yaml",
    )
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "podinfo canary", date=OLD)
    return repo


def _flagger_live(weight: int) -> list[dict]:
    """What Flagger generates for the Canary test/podinfo (pkg/router/istio.go)."""
    owner = [
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "name": "podinfo",
            "controller": True,
        }
    ]
    canary = yaml.safe_load((FLAGGER / "artifacts" / "examples" / "istio-canary.yaml").read_text())
    canary["status"] = {"phase": "Progressing" if weight else "Succeeded", "canaryWeight": weight}
    route = [
        {
            "destination": {"host": "podinfo-primary", "port": {"number": 80}},
            "weight": 100 - weight,
        },
        {"destination": {"host": "podinfo-canary", "port": {"number": 80}}, "weight": weight},
    ]
    meta = {
        "ownerReferences": owner,
        "managedFields": [{"manager": "flagger", "time": "2026-11-27T00:00:00Z"}],
    }
    return [
        canary,
        live(
            "VirtualService",
            "podinfo",
            "test",
            {
                "hosts": ["app.example.com", "podinfo"],
                "gateways": ["istio-system/public-gateway", "mesh"],
                "http": [{"route": route}],
            },
            **meta,
        ),
        live(
            "DestinationRule",
            "podinfo-primary",
            "test",
            {"host": "podinfo-primary", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
            **meta,
        ),
        live(
            "DestinationRule",
            "podinfo-canary",
            "test",
            {"host": "podinfo-canary", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
            **meta,
        ),
        *(
            live("Service", n, "test", {"selector": {"app": n}, "ports": [{"port": 80}]})
            for n in ("podinfo", "podinfo-primary", "podinfo-canary")
        ),
    ]


@pytest.mark.parametrize("weight", [0, 10])
def test_flagger_generated_objects_are_owned_through_the_canary(
    tmp_path: Path, weight: int
) -> None:
    repo = _flagger_repo(tmp_path)
    cluster = dump(tmp_path / "c.yaml", _flagger_live(weight))
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    generated = [
        f for f in doc["findings"] if f["name"] in ("podinfo", "podinfo-primary", "podinfo-canary")
    ]
    assert not {f["rule"] for f in generated} & {"MA101", "MA201", "MA306", "MA307", "MA103"}
    assert {f["owner"] for f in generated} <= {"@stefanprodan @aryan9600"}
    if weight:
        assert any(
            "Canary test/podinfo is progressing, canary weight 10%" in n
            for n in doc["scan"]["notes"]
        )


def test_a_hand_made_copy_next_to_flagger_objects_is_still_unmanaged(tmp_path: Path) -> None:
    repo = _flagger_repo(tmp_path)
    copy_vs = live(
        "VirtualService",
        "podinfo-copy",
        "test",
        {
            "hosts": ["podinfo-copy"],
            "http": [{"route": [{"destination": {"host": "podinfo"}}], "timeout": "5s"}],
        },
    )
    cluster = dump(tmp_path / "c.yaml", [*_flagger_live(0), copy_vs])
    _, doc = scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    assert ("MA101", "VirtualService", "test/podinfo-copy") in findings_of(doc)


def test_rollout_pod_templates_are_never_kept(tmp_path: Path) -> None:
    repo = _admiral_repo(tmp_path)
    cluster = dump(tmp_path / "c.yaml", _live(repo, (100, 0), "Healthy"))
    scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    stored = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    stored += (tmp_path / "a.db").read_bytes().decode(errors="replace")
    assert "greeting-canary" in stored and "volumeMounts" not in stored


def test_rollouts_are_read_from_the_api_when_their_crd_is_served(tmp_path: Path) -> None:
    from k8s_emulator import Emulator

    repo = _admiral_repo(tmp_path)
    objects = _live(repo, (90, 10), "Paused")
    with Emulator(objects) as emu:
        kube = emu.kubeconfig(tmp_path / "kubeconfig")
        result, doc = scan_json(
            "--repo", repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db"
        )
        listed = emu.list_calls("rollouts")
    assert result.exit_code == 0, result.output
    assert listed and not {f[0] for f in findings_of(doc) if f[2] == f"{NS}/rollout-vsvc"} & {
        "MA103",
        "MA306",
    }
    assert any("greeting-canary is paused" in n for n in doc["scan"]["notes"])
    assert "Canary: flagger.app/v1beta1 is not served, skipped" in doc["scan"]["notes"]


def test_objects_a_tool_says_it_made_are_generated_not_hand_made(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "gitops")
    repo.commit({"README.md": "nothing here\n"})
    made = live(
        "DestinationRule",
        "stage.greeting.global-default-dr",
        "admiral-sync",
        {  # a risky policy: the finding names what made it
            "host": "stage.greeting.global",
            "trafficPolicy": {"outlierDetection": {"maxEjectionPercent": 100}},
        },
        annotations={"app.kubernetes.io/created-by": "admiral"},
    )
    cluster = dump(tmp_path / "c.yaml", [live("Namespace", "admiral-sync", ""), made])
    _, doc = scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    assert "MA101" not in {f["rule"] for f in doc["findings"]}
    assert {f["evidence"].get("managed_by") for f in doc["findings"]} == {
        "admiral (app.kubernetes.io/created-by)"
    }


def test_findings_on_flagger_objects_point_at_the_canary_manifest(tmp_path: Path) -> None:
    repo = _flagger_repo(tmp_path)
    cluster = dump(tmp_path / "c.yaml", _flagger_live(10))
    _, doc = scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    on_vs = [f for f in doc["findings"] if f["name"] == "podinfo" and f["kind"] == "VirtualService"]
    assert on_vs and all(f["source"]["path"] == "apps/podinfo.yaml" for f in on_vs)
    assert all(f["evidence"]["managed_by"] == "Canary test/podinfo" for f in on_vs)


def test_a_canary_declared_twice_is_a_duplicate(tmp_path: Path) -> None:
    repo = _flagger_repo(tmp_path)
    shutil.copy(
        FLAGGER / "artifacts" / "examples" / "istio-abtest.yaml", repo.path / "apps" / "abtest.yaml"
    )
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a/b test variant")
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "a.db")
    dup = [f for f in doc["findings"] if f["rule"] == "MA104"]
    assert [(f["kind"], f["namespace"], f["name"]) for f in dup] == [("Canary", "test", "podinfo")]
    assert [d["path"] for d in dup[0]["evidence"]["declarations"]] == [
        "apps/abtest.yaml",
        "apps/podinfo.yaml",
    ]


NET_ISTIO = SHARED / "real-world" / "knative-extensions_net-istio"


def _knative_route(hosts: list[str]) -> dict:
    """One route as net-istio writes it (pkg/reconciler/ingress/resources): the traffic split
    of a Knative Route, `retries: {}` to switch Istio's default retries off, no timeout."""
    return {
        "match": [{"authority": {"prefix": h}} for h in hosts],
        "retries": {},
        "route": [
            {
                "destination": {
                    "host": f"hello-{rev}.default.svc.cluster.local",
                    "port": {"number": 80},
                },
                "weight": weight,
            }
            for rev, weight in (("00002", 100), ("00001", 0))
        ],
    }


@pytest.mark.skipif(not NET_ISTIO.exists(), reason="../shared/real-world is not present")
def test_knative_ingress_routes_are_net_istios_not_missing_timeouts(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "gitops")
    for name in ("OWNERS", "OWNERS_ALIASES", "config"):
        src = NET_ISTIO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo.path / name)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "net-istio", date=OLD)
    gateways = [
        d
        for f in ("202-gateway.yaml", "203-local-gateway.yaml")
        for d in yaml.safe_load_all((NET_ISTIO / "config" / f).read_text())
        if d and d["kind"] == "Gateway"
    ]
    ingress = {
        "apiVersion": "networking.internal.knative.dev/v1alpha1",
        "kind": "Ingress",
        "name": "hello",
        "controller": True,
    }
    hosts = ["hello.default", "hello.default.svc", "hello.default.svc.cluster.local"]
    generated = [
        live(
            "VirtualService",
            name,
            "default",
            {"hosts": hosts, "gateways": gws, "http": [_knative_route(hosts)]},
            labels={"networking.internal.knative.dev/ingress": "hello"},
            ownerReferences=[ingress],
            managedFields=[{"manager": "controller", "time": "2025-03-01T00:00:00Z"}],
        )
        for name, gws in (
            ("hello-ingress", ["knative-serving/knative-ingress-gateway"]),
            ("hello-mesh", ["mesh"]),
        )
    ]
    services = [
        live("Service", f"hello-{rev}", "default", {"ports": [{"port": 80}]})
        for rev in ("00001", "00002")
    ]
    # A hand-made route next to them is still judged.
    hand = live(
        "VirtualService",
        "hello-by-hand",
        "default",
        {"hosts": ["hello-by-hand"], "http": [_knative_route(["hello-by-hand"])]},
    )
    cluster = dump(tmp_path / "c.yaml", [*gateways, *generated, *services, hand])
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    on_generated = {
        (f["rule"], f["name"])
        for f in doc["findings"]
        if f["name"] in ("hello-ingress", "hello-mesh")
    }
    assert not {rule for rule, _ in on_generated} & {
        "MA101",
        "MA306",
        "MA401",
        "MA402",
        "MA403",
        "MA404",
        "MA405",
    }
    assert ("MA405", "VirtualService", "default/hello-by-hand") in findings_of(doc)


@pytest.mark.skipif(not NET_ISTIO.exists(), reason="../shared/real-world is not present")
def test_gateways_a_controller_binds_at_runtime_are_not_unbound(tmp_path: Path) -> None:
    """net-istio's Gateways and the Gateway a Canary names: their VirtualServices exist
    only once the controller runs, so the repo alone never shows them."""
    repo = _flagger_repo(tmp_path)
    shutil.copytree(NET_ISTIO / "config", repo.path / "knative")
    tutorial = (
        FLAGGER / "docs" / "gitbook" / "tutorials" / "istio-progressive-delivery.md"
    ).read_text()
    gateway = tutorial.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "name: public-gateway" in gateway
    unbound = gateway.replace("public-gateway", "forgotten-gateway")
    (repo.path / "gateways.yaml").write_text(f"{gateway}---\n{unbound}")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "net-istio and the tutorial's gateway")
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "a.db")
    assert {name for rule, _, name in findings_of(doc) if rule == "MA310"} == {
        "istio-system/forgotten-gateway"
    }


def test_a_generator_the_scan_never_read_is_not_called_ownerless(tmp_path: Path) -> None:
    """Admiral's route (docs/Examples.md's host) and Flagger's VirtualService whose Canary
    is live: only the second generator was read, so only its object is called ownerless
    ('has no owner either'); the first one's owner is Admiral's, which the scan cannot tell."""
    repo = GitRepo(tmp_path / "gitops")
    repo.commit({"README.md": "nothing here\n"})
    made = live(
        "VirtualService",
        "stage.greeting.global-default-vs",
        "admiral-sync",
        {
            "hosts": ["stage.greeting.global"],
            "http": [
                {"route": [{"destination": {"host": "stage.greeting.global"}}], "timeout": "5s"}
            ],
        },
        annotations={"app.kubernetes.io/created-by": "admiral"},
    )
    namespaces = [live("Namespace", n, "") for n in ("admiral-sync", "test")]
    cluster = dump(tmp_path / "c.yaml", [*namespaces, made, *_flagger_live(0)])
    _, doc = scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    messages = {f["name"]: f["message"] for f in doc["findings"] if f["rule"] == "MA201"}
    assert "stage.greeting.global-default-vs" not in messages
    assert messages["podinfo-primary"].endswith(
        "generated by Canary test/podinfo, which has no owner either"
    )
