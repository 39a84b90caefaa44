"""The repo read the way GitOps applies it: apps found and rendered with the real kustomize
(`kubectl kustomize`), from real Git commits; findings about rendered objects only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from auditor.sources import render
from auditor.sources.gitops import read_repo
from conftest import GitRepo, dump, findings_of, live, manifest, not_run, run, scan_json

pytestmark = pytest.mark.skipif(
    not (shutil.which("kubectl") or shutil.which("kustomize")), reason="no kustomize renderer"
)

ROUTE = {
    "hosts": ["reviews"],
    "http": [
        {
            "route": [
                {"destination": {"host": "reviews", "subset": "v1"}, "weight": 100},
                {"destination": {"host": "reviews", "subset": "v2"}, "weight": 0},
            ],
            "timeout": "5s",
        }
    ],
}
RULE = {
    "host": "reviews",
    "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"v": "2"}}],
}
PATCH = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
    timeout: 5s
"""


def _kust(**fields) -> str:
    return yaml.safe_dump(fields, sort_keys=False)


def _overlays(repo) -> str:
    """A base used by two overlays (prod with a prefix and a weight patch, staging)."""
    return repo.commit(
        {
            "base/kustomization.yaml": _kust(resources=["routes.yaml"]),
            "base/routes.yaml": manifest("VirtualService", "reviews", ROUTE)
            + "---\n"
            + manifest("DestinationRule", "reviews", RULE),
            "overlays/prod/kustomization.yaml": _kust(
                namespace="prod",
                namePrefix="prod-",
                resources=["../../base"],
                patches=[{"path": "weights.yaml"}],
            ),
            "overlays/prod/weights.yaml": PATCH,
            "overlays/staging/kustomization.yaml": _kust(
                namespace="staging", resources=["../../base"]
            ),
        },
        date="2026-01-10T10:00:00+00:00",
        message="reviews overlays",
    )


def _objects(snap) -> dict[str, object]:
    return {f"{m.key.kind} {m.key.namespace}/{m.key.name}": m for m in snap.manifests}


def test_overlays_render_and_leave_no_phantom_objects(make_repo) -> None:
    repo = make_repo()
    _overlays(repo)
    snap = read_repo(str(repo.path), None, ())
    objects = _objects(snap)
    assert set(objects) == {
        "VirtualService prod/prod-reviews",
        "DestinationRule prod/prod-reviews",
        "VirtualService staging/reviews",
        "DestinationRule staging/reviews",
    }
    prod = objects["VirtualService prod/prod-reviews"]
    # The patch changed the weights; the object points at the base file and its document.
    assert [r["weight"] for r in prod.obj["spec"]["http"][0]["route"]] == [90, 10]
    assert (prod.path, prod.line, prod.source_name, prod.app) == (
        "base/routes.yaml",
        1,
        "reviews",
        "overlays/prod",
    )
    assert "config.kubernetes.io/origin" not in json.dumps(prod.obj)
    assert ("overlays/prod/weights.yaml" in dict(prod.inputs)) and not snap.problems
    apps = {a["path"]: a for a in snap.apps}
    assert set(apps) == {"overlays/prod", "overlays/staging"}
    assert apps["overlays/prod"]["found_by"] == "kustomization root"
    assert apps["overlays/prod"]["status"] == "rendered" and apps["overlays/prod"]["objects"] == 2


def test_repeat_reads_render_nothing_and_one_change_renders_one_app(make_repo) -> None:
    repo = make_repo()
    _overlays(repo)
    read_repo(str(repo.path), None, ())
    repo.commit({"overlays/staging/note.txt": "unrelated\n"})
    again = {a["path"]: a["status"] for a in read_repo(str(repo.path), None, ()).apps}
    assert again == {"overlays/prod": "cached", "overlays/staging": "rendered"}


def test_a_render_that_timed_out_is_tried_again_by_the_next_scan(make_repo, monkeypatch) -> None:
    repo = make_repo()
    _overlays(repo)
    with monkeypatch.context() as short:
        short.setattr(render, "_TIMEOUT", 0.001)  # kubectl alone takes ~50 ms to start
        first = {a["path"]: a["status"] for a in read_repo(str(repo.path), None, ()).apps}
    assert first == {"overlays/prod": "failed", "overlays/staging": "failed"}
    again = {a["path"]: a["status"] for a in read_repo(str(repo.path), None, ()).apps}
    assert again == {"overlays/prod": "rendered", "overlays/staging": "rendered"}


def test_another_checkout_of_the_repo_reuses_the_renders(make_repo, tmp_path) -> None:
    repo = make_repo()
    _overlays(repo)
    read_repo(str(repo.path), None, ())
    clone = GitRepo(tmp_path / "clone", init=False)
    repo.git("clone", "-q", str(repo.path), str(clone.path))
    statuses = {a["path"]: a["status"] for a in read_repo(str(clone.path), None, ()).apps}
    assert statuses == {"overlays/prod": "cached", "overlays/staging": "cached"}


def test_component_delete_patch_and_replacements(make_repo) -> None:
    repo = make_repo()
    template = manifest(
        "VirtualService",
        "api",
        {
            "hosts": ["api.NAMESPACE_PLACEHOLDER.svc.cluster.local"],
            "http": [{"route": [{"destination": {"host": "api"}}], "timeout": "2s"}],
        },
    )
    repo.commit(
        {
            "app/kustomization.yaml": _kust(
                namespace="shop",
                resources=["vs.yaml", "old.yaml", "settings.yaml"],
                components=["../mirror"],
                patches=[
                    {
                        "patch": "$patch: delete\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: old\n"
                    }
                ],
                replacements=[
                    {
                        "source": {
                            "kind": "ConfigMap",
                            "name": "settings",
                            "fieldPath": "data.namespace",
                        },
                        "targets": [
                            {
                                "select": {"kind": "VirtualService", "name": "api"},
                                "fieldPaths": ["spec.hosts.0"],
                                "options": {"delimiter": ".", "index": 1},
                            }
                        ],
                    }
                ],
            ),
            "app/vs.yaml": template,
            "app/old.yaml": manifest("VirtualService", "old", ROUTE),
            "app/settings.yaml": yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "settings"},
                    "data": {"namespace": "shop"},
                }
            ),
            "mirror/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
            + _kust(resources=["mirror-dr.yaml"]),
            "mirror/mirror-dr.yaml": manifest("DestinationRule", "api", {"host": "api"}),
        }
    )
    snap = read_repo(str(repo.path), None, ())
    objects = _objects(snap)
    assert set(objects) == {"VirtualService shop/api", "DestinationRule shop/api"}
    assert objects["VirtualService shop/api"].obj["spec"]["hosts"] == ["api.shop.svc.cluster.local"]
    assert objects["DestinationRule shop/api"].path == "mirror/mirror-dr.yaml"
    assert [a["path"] for a in snap.apps] == ["app"]


def test_failing_and_remote_apps_are_partial_and_the_rest_goes_on(make_repo) -> None:
    repo = make_repo()
    repo.commit(
        {
            "good/kustomization.yaml": _kust(resources=["vs.yaml"]),
            "good/vs.yaml": manifest("VirtualService", "good", ROUTE, namespace="ok"),
            "broken/kustomization.yaml": _kust(resources=["missing.yaml"]),
            "remote/kustomization.yaml": _kust(
                resources=["https://github.com/example/gitops//base?ref=v1"]
            ),
        }
    )
    snap = read_repo(str(repo.path), None, ())
    assert set(_objects(snap)) == {"VirtualService ok/good"}
    status = {a["path"]: (a["status"], a["reason"]) for a in snap.apps}
    assert status["remote"][0] == "not rendered" and "is not fetched" in status["remote"][1]
    assert status["broken"][0] == "failed" and "missing.yaml" in status["broken"][1]
    assert len(snap.problems) == 2 and snap.problems[0].startswith("app broken (kustomize): ")


def test_two_apps_declaring_one_virtualservice_is_a_duplicate(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    vs = manifest("VirtualService", "reviews", ROUTE, namespace="shop")
    older = manifest(
        "VirtualService", "reviews", {**ROUTE, "hosts": ["reviews", "old"]}, namespace="shop"
    )
    repo.commit(
        {
            "a/kustomization.yaml": _kust(resources=["vs.yaml"]),
            "a/vs.yaml": older,
            "b/kustomization.yaml": _kust(resources=["vs.yaml"]),
            "b/vs.yaml": vs,
        }
    )
    # Live equals the first declaration: not drift, but the duplicate is a finding.
    cluster = dump(
        tmp_path / "c.yaml",
        [live("VirtualService", "reviews", "shop", yaml.safe_load(older)["spec"])],
    )
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 0, result.output
    found = findings_of(doc)
    assert ("MA104", "VirtualService", "shop/reviews") in found
    assert not {f for f in found if f[0] == "MA103"}
    dup = next(f for f in doc["findings"] if f["rule"] == "MA104")
    assert dup["evidence"]["apps"] == ["a", "b"]
    assert [d["path"] for d in dup["evidence"]["declarations"]] == ["a/vs.yaml", "b/vs.yaml"]


ARGO_APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: reviews-prod, namespace: argocd}
spec:
  source:
    repoURL: https://github.com/acme/gitops.git
    path: overlays/prod
    targetRevision: main
    kustomize: {nameSuffix: -blue}
  destination: {namespace: prod}
"""
APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: teams, namespace: argocd}
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: git@github.com:acme/gitops.git
      revision: HEAD
      directories:
      - path: teams/*
      - path: teams/retired
        exclude: true
  template:
    metadata: {name: '{{.path.basename}}'}
    spec:
      source: {repoURL: git@github.com:acme/gitops.git, path: '{{.path.path}}'}
      destination: {namespace: '{{.path.basename}}'}
"""
FLUX = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: staging, namespace: flux-system}
spec:
  path: ./overlays/staging
  sourceRef: {kind: GitRepository, name: flux-system}
  targetNamespace: stage
  postBuild:
    substitute: {WEIGHT: "0"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {url: ssh://git@github.com/acme/gitops}
"""


def test_argo_cd_and_flux_objects_decide_what_is_applied(make_repo) -> None:
    repo = make_repo()
    _overlays(repo)
    repo.git("remote", "add", "origin", "https://github.com/acme/gitops.git")
    repo.commit(
        {
            "clusters/prod/reviews.yaml": ARGO_APP,
            "clusters/prod/teams.yaml": APPSET,
            "clusters/staging/flux.yaml": FLUX,
            "teams/cart/vs.yaml": manifest("VirtualService", "cart", ROUTE),
            "teams/retired/vs.yaml": manifest("VirtualService", "gone", ROUTE),
            "loose/example.yaml": manifest("VirtualService", "example", ROUTE),
        }
    )
    snap = read_repo(str(repo.path), None, ())
    assert set(_objects(snap)) == {
        "VirtualService prod/prod-reviews-blue",
        "DestinationRule prod/prod-reviews-blue",
        "VirtualService cart/cart",
        "VirtualService stage/reviews",
        "DestinationRule stage/reviews",
    }
    found_by = {a["path"]: a["found_by"] for a in snap.apps}
    assert found_by["teams/cart"].startswith("Argo CD Application cart (clusters/prod/teams.yaml")
    assert found_by["overlays/staging"] == "Flux Kustomization staging (clusters/staging/flux.yaml)"
    # --path selects the apps a cluster folder defines.
    prod = read_repo(str(repo.path), None, ("clusters/prod",))
    assert {a["path"] for a in prod.apps} == {"overlays/prod", "teams/cart"}


def test_no_cluster_and_base_report_what_a_branch_adds(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    service = manifest("Service", "reviews", {"selector": {"app": "reviews"}}, namespace="prod")
    repo.commit(
        {
            "prod/kustomization.yaml": _kust(
                namespace="prod", resources=["vs.yaml", "svc.yaml", "dr.yaml"]
            ),
            "prod/vs.yaml": manifest("VirtualService", "reviews", ROUTE),
            "prod/dr.yaml": manifest("DestinationRule", "reviews", RULE),
            "prod/svc.yaml": service,
        }
    )
    repo.git("branch", "base")
    risky = {
        **ROUTE,
        "http": [{**ROUTE["http"][0], "retries": {"attempts": 10, "perTryTimeout": "1s"}}],
    }
    repo.commit({"prod/vs.yaml": manifest("VirtualService", "reviews", risky)})
    db = tmp_path / "pr.db"
    result, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", db)
    assert result.exit_code == 0, result.output
    rules = {f[0] for f in findings_of(doc)}
    # Hosts resolve against the repo's own Service; the cluster rules do not run.
    assert (
        "MA401" in rules
        and "MA302" not in rules
        and not rules & {"MA101", "MA102", "MA103", "MA305"}
    )
    assert not_run(doc)["MA102"].startswith("needs the live cluster")
    assert doc["scan"]["cluster"] == "git" and doc["scan"]["origin"] == "git"
    result, doc = scan_json(
        "--repo", repo.path, "--no-cluster", "--base", "base", "--db", db, "--fail-on", "high"
    )
    assert result.exit_code == 1
    # attempts 10 x perTryTimeout 1s: too many retries, longer than the timeout, no budget.
    assert {f[0] for f in findings_of(doc)} == {"MA401", "MA403", "MA404"}
    # The scan counts every finding; the output says which of them it lists.
    assert doc["scan"]["base"] == {"ref": "base", "added": 3} and doc["scan"]["findings"] > 3
    summary = run(
        "scan", "--repo", repo.path, "--no-cluster", "--base", "base", "--db", db, "-o", "table"
    )
    assert "findings: 3 added since base (" in summary.stdout
    assert f"of {doc['scan']['findings']} in all" in summary.stdout
    sarif = run(
        "scan",
        "--repo",
        repo.path,
        "--no-cluster",
        "--base",
        "base",
        "--db",
        db,
        "--format",
        "sarif",
    )
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["MA401", "MA403", "MA404"]


def test_apps_command_lists_how_the_repo_is_read(make_repo) -> None:
    repo = make_repo()
    _overlays(repo)
    out = run("apps", "--repo", repo.path, "--format", "json")
    assert out.exit_code == 0, out.output
    apps = json.loads(out.stdout)["apps"]
    assert [(a["path"], a["type"], a["objects"]) for a in apps] == [
        ("overlays/prod", "kustomize", 2),
        ("overlays/staging", "kustomize", 2),
    ]
    bad = run("scan", "--repo", repo.path, "--no-cluster", "--path", "nowhere")
    assert bad.exit_code == 2 and "--path nowhere matches no app" in bad.output


@pytest.mark.skipif(not shutil.which("helm"), reason="helm is not installed")
def test_helm_chart_renders_with_helm_template(make_repo) -> None:
    repo = make_repo()
    repo.commit(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "chart/values.yaml": "host: web\n",
            "chart/templates/vs.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            "metadata:\n  name: {{ .Release.Name }}\nspec:\n  hosts: [{{ .Values.host }}]\n",
        }
    )
    snap = read_repo(str(repo.path), None, ())
    (obj,) = snap.manifests
    assert (obj.key.name, obj.path) == ("web", "chart/templates/vs.yaml")


@pytest.fixture
def no_helm(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with git and kustomize only, as on a machine without helm."""
    kubectl = shutil.which("kubectl") or shutil.which("kustomize")
    monkeypatch.setenv("PATH", f"{Path(shutil.which('git')).parent}:{Path(kubectl).parent}")
    if shutil.which("helm"):
        pytest.skip("helm is in the same folder as git or kustomize")


def test_helm_chart_without_helm_is_partial_with_the_fix(make_repo, no_helm) -> None:
    repo = make_repo()
    repo.commit(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "chart/templates/vs.yaml": "kind: VirtualService\nmetadata: {name: x}\n",
        }
    )
    snap = read_repo(str(repo.path), None, ())
    assert snap.manifests == ()
    assert snap.problems == (f"app chart (helm): {render.NO_HELM}",)


def test_manifests_without_a_namespace_are_in_the_namespace_they_are_applied_to(
    make_repo, tmp_path: Path
) -> None:
    """Objects applied with `kubectl -n` (no metadata.namespace): the repo's own Service
    resolves the route's short host in that same namespace."""
    repo = make_repo()
    service = {"selector": {"app": "db"}, "ports": [{"port": 80}]}
    route = {
        "hosts": ["db"],
        "http": [{"route": [{"destination": {"host": "db"}}], "timeout": "1s"}],
    }
    repo.commit(
        {
            "db.yaml": manifest("Service", "db", service)
            + "---\n"
            + manifest("VirtualService", "db", route)
        }
    )
    _, doc = scan_json("--repo", repo.path, "--no-cluster", "--db", tmp_path / "a.db")
    assert not [f for f in doc["findings"] if f["rule"] == "MA302"]
    assert {f["namespace"] for f in doc["findings"]} == {"default"}


def test_an_app_that_cannot_be_rendered_silences_unmanaged(
    make_repo, tmp_path: Path, no_helm
) -> None:
    """A live object may come from a chart mesh-audit could not render: not "unmanaged"."""
    repo = make_repo()
    repo.commit(
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            "chart/templates/vs.yaml": "x: {{ .Values.x }}\n",
        }
    )
    cluster = dump(tmp_path / "c.yaml", [live("VirtualService", "web", "default", ROUTE)])
    result, doc = scan_json(
        "--repo", repo.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 3  # partial: the chart was not rendered
    assert "MA101" not in {f["rule"] for f in doc["findings"]}
    assert not_run(doc)["MA101"].startswith("app(s) chart could not be rendered")


def test_renderer_output_is_read_like_git_files() -> None:
    """Timestamps stay strings (as a cached render has them) and size limits hold."""
    text = (
        "# Source: chart/templates/vs.yaml\n"
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        "metadata: {name: a, annotations: {mesh-audit.io/expires: 2024-05-01}}\n"
        "spec: {hosts: [a]}\n"
    )
    ((path, obj),) = render._parse(text, lambda _doc, source: source).objects
    assert path == "chart/templates/vs.yaml"
    assert obj["metadata"]["annotations"]["mesh-audit.io/expires"] == "2024-05-01"
    deep = render._parse("a: " + "[" * 200 + "]" * 200 + "\n", lambda _d, _s: "")
    assert deep.error is not None and "nested deeper than 100 levels" in deep.error


def test_flux_substitutes_from_configmaps_only(make_repo) -> None:
    """A `substituteFrom` Secret is never read, even when a ConfigMap has its name."""
    route = {
        "hosts": ["r"],
        "http": [{"route": [{"destination": {"host": "r"}}], "timeout": "${TIMEOUT:=5s}"}],
    }
    flux = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: shop, namespace: flux-system}
spec:
  path: ./app
  sourceRef: {kind: GitRepository, name: flux-system}
  targetNamespace: shop
  postBuild:
    substituteFrom: [{kind: KIND, name: vars}]
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {url: ssh://git@github.com/acme/gitops}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: vars, namespace: flux-system}
data: {TIMEOUT: 99s}
"""
    repo = make_repo()
    repo.git("remote", "add", "origin", "git@github.com:acme/gitops.git")
    timeouts = {}
    for kind in ("Secret", "ConfigMap"):
        repo.commit(
            {
                "app/kustomization.yaml": _kust(resources=["vs.yaml"]),
                "app/vs.yaml": manifest("VirtualService", "r", route),
                "clusters/flux.yaml": flux.replace("KIND", kind),
            }
        )
        (vs,) = read_repo(str(repo.path), None, ()).manifests
        timeouts[kind] = vs.obj["spec"]["http"][0]["timeout"]
    assert timeouts == {"Secret": "${TIMEOUT:=5s}", "ConfigMap": "99s"}  # the Secret's: unknown


def test_identical_copies_in_a_flux_folder_stay_high(make_repo, tmp_path: Path) -> None:
    """Flux builds a folder without a kustomization with kustomize, which refuses an object
    declared twice, identical or not: nothing of the app applies. Among plain files, the
    same copies are only a copy waiting to drift (low)."""
    flux = FLUX.replace("./overlays/staging", "./teams/cart").replace(
        "targetNamespace: stage", "targetNamespace: cart"
    )
    copy = manifest("VirtualService", "cart", ROUTE)
    grades = {}
    for layout, files in {
        "flux": {
            "clusters/staging/flux.yaml": flux,
            "teams/cart/a.yaml": copy,
            "teams/cart/b.yaml": copy,
        },
        "plain": {"teams/cart/a.yaml": copy, "teams/cart/b.yaml": copy},
    }.items():
        repo = make_repo(layout)
        repo.git("remote", "add", "origin", "https://github.com/acme/gitops.git")
        repo.commit(files)
        result, doc = scan_json(
            "--repo", repo.path, "--no-cluster", "--db", tmp_path / f"{layout}.db"
        )
        assert result.exit_code == 0, result.output
        (finding,) = [f for f in doc["findings"] if f["rule"] == "MA104"]
        grades[layout] = finding["severity"], "refuses it" in finding["message"]
    assert grades == {"flux": ("high", True), "plain": ("low", False)}


def test_copies_kustomize_accepts_are_not_said_refused(make_repo, tmp_path: Path) -> None:
    """Kustomize refuses two declarations of one id (version included) in one build: not
    a v1 and a v1beta1 copy, which kustomize renders both of. One file that two Flux
    Kustomizations (a cluster each) build the same is one declaration: no finding."""
    flux = FLUX.replace("./overlays/staging", "./teams/cart").replace(
        "targetNamespace: stage", "targetNamespace: cart"
    )
    copy = manifest("VirtualService", "cart", ROUTE)
    beta = copy.replace("networking.istio.io/v1", "networking.istio.io/v1beta1")
    layouts = {
        "two clusters": {
            "clusters/staging/flux.yaml": flux,
            "clusters/prod/flux.yaml": flux.replace("name: staging", "name: prod"),
            "teams/cart/vs.yaml": copy,
        },
        "two versions": {
            "teams/cart/kustomization.yaml": "resources: [a.yaml, b.yaml]\n",
            "teams/cart/a.yaml": copy,
            "teams/cart/b.yaml": beta,
        },
    }
    found = {}
    for layout, files in layouts.items():
        repo = make_repo(layout.replace(" ", "-"))
        repo.git("remote", "add", "origin", "https://github.com/acme/gitops.git")
        repo.commit(files)
        result, doc = scan_json(
            "--repo", repo.path, "--no-cluster", "--db", tmp_path / f"{layout}.db"
        )
        assert result.exit_code == 0, result.output
        found[layout] = [
            (f["severity"], "refuses it" in f["message"])
            for f in doc["findings"]
            if f["rule"] == "MA104"
        ]
    assert found == {"two clusters": [], "two versions": [("high", False)]}
