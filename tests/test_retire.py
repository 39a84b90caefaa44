"""Retirement: plan, then a Git branch that removes exactly the planned manifests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from conftest import CART_DR, CART_VS, GitRepo, dump, live, manifest, run, scan_json


def _world(tmp_path: Path) -> tuple[GitRepo, Path, list[dict]]:
    repo = GitRepo(tmp_path / "gitops")
    repo.commit(
        {
            "apps/shop/kustomization.yaml": "namespace: shop\nresources:\n  - routes.yaml\n  - old.yaml\n",
            "apps/shop/routes.yaml": "# shop routing\n"
            + manifest("VirtualService", "cart", CART_VS, labels={"team": "shop"})
            + "---\n# left from the 2025 migration\n"
            + manifest(
                "VirtualService",
                "legacy",
                {**CART_VS, "hosts": ["legacy"]},
                labels={"team": "shop"},
            )
            + "---\n"
            + manifest("DestinationRule", "cart", CART_DR),
            "apps/shop/old.yaml": manifest(
                "DestinationRule", "old-dr", {"host": "gone"}, labels={"team": "shop"}
            ),
        },
        date="2025-01-01T00:00:00+00:00",
    )
    objects = [
        live("Namespace", "shop", "", labels={"team": "shop"}),
        live("VirtualService", "cart", "shop", CART_VS, labels={"team": "shop"}),
        live("VirtualService", "stray", "shop", {**CART_VS, "hosts": ["stray"]}),
        live("DestinationRule", "cart", "shop", CART_DR),
        live("Service", "cart", "shop", {"selector": {"app": "cart"}}),
        live("Pod", "cart-1", "shop", labels={"app": "cart", "version": "v1"}),
    ]
    return repo, dump(tmp_path / "cluster.yaml", objects), objects


def _apply(db: Path, repo: GitRepo, branch: str, *args: str):
    return run(
        "retire",
        "apply",
        "--db",
        db,
        "--grace-days",
        "0",
        "--repo",
        repo.path,
        "--branch",
        branch,
        *args,
    )


def test_month_of_retirement(tmp_path: Path) -> None:
    repo, cluster, objects = _world(tmp_path)
    db = tmp_path / "audit.db"
    args = ("--repo", repo.path, "--cluster-dump", cluster, "--db", db)
    assert scan_json(*args)[0].exit_code == 0

    plan = json.loads(
        run("retire", "plan", "--db", db, "--grace-days", "0", "--format", "json").stdout
    )
    actions = {(r["name"], r["action"]) for r in plan["retirements"]}
    assert actions == {
        ("legacy", "remove-manifest"),
        ("old-dr", "remove-manifest"),
        ("stray", "kubectl-delete"),
    }
    stray = next(r for r in plan["retirements"] if r["name"] == "stray")
    assert stray["command"] == "kubectl delete virtualservice.networking.istio.io stray -n shop"
    # The grace period: findings first seen today are not due yet.
    assert (
        json.loads(run("retire", "plan", "--db", db, "--format", "json").stdout)["retirements"]
        == []
    )

    main = repo.git("rev-parse", "HEAD")
    result = _apply(db, repo, "retire-nov")
    assert result.exit_code == 0, result.output
    assert (
        "branch retire-nov" in result.stdout
        and "kubectl delete virtualservice.networking.istio.io stray" in result.stdout
    )
    # The work tree is back on main, untouched; the branch holds exactly the removals.
    assert repo.git("rev-parse", "HEAD") == main and repo.git("status", "--porcelain") == ""
    changed = repo.git("diff", "--name-status", "main", "retire-nov").splitlines()
    assert sorted(changed) == [
        "D\tapps/shop/old.yaml",
        "M\tapps/shop/kustomization.yaml",
        "M\tapps/shop/routes.yaml",
    ]
    routes = repo.git("show", "retire-nov:apps/shop/routes.yaml")
    assert [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(routes) if d] == [
        ("VirtualService", "cart"),
        ("DestinationRule", "cart"),
    ]
    assert routes.startswith("# shop routing\n")
    assert (
        repo.git("show", "retire-nov:apps/shop/kustomization.yaml")
        == "namespace: shop\nresources:\n  - routes.yaml"
    )
    message = repo.git("log", "-1", "--format=%B", "retire-nov")
    assert "VirtualService shop/legacy (owner shop; MA102 not-applied)" in message
    assert "DestinationRule shop/old-dr" in message

    # Refusals: the branch exists. A dirty work tree is neither refused nor touched.
    again = _apply(db, repo, "retire-nov")
    assert again.exit_code == 2 and "already exists" in again.stderr
    (repo.path / "scratch.txt").write_text("wip")
    (repo.path / "apps/shop/routes.yaml").write_text("edited, not committed\n")
    other = _apply(db, repo, "other")
    assert other.exit_code == 0, other.output
    assert repo.git("status", "--porcelain") == "M apps/shop/routes.yaml\n?? scratch.txt".strip()
    assert (repo.path / "apps/shop/routes.yaml").read_text() == "edited, not committed\n"
    assert repo.git("ls-tree", "-r", "--name-only", "other").count("scratch.txt") == 0
    repo.git("checkout", "-q", "--", "apps/shop/routes.yaml")
    (repo.path / "scratch.txt").unlink()
    assert len(repo.git("worktree", "list").splitlines()) == 1

    # The branch is merged and the owner deletes the stray: the rescan retires the rest.
    repo.git("merge", "-q", "--ff-only", "retire-nov")
    dump(cluster, [o for o in objects if o["metadata"]["name"] != "stray"])
    _, doc = scan_json(*args)
    assert doc["scan"]["resolved"] >= 3
    conn = sqlite3.connect(db)
    status = dict(conn.execute("SELECT rule || ' ' || name, status FROM findings").fetchall())
    conn.close()
    assert status["MA102 legacy"] == status["MA102 old-dr"] == "retired"
    assert status["MA101 stray"] == "resolved"


def test_apply_pushes_the_branch(tmp_path: Path) -> None:
    repo, cluster, _ = _world(tmp_path)
    origin = tmp_path / "origin.git"
    repo.git("init", "-q", "--bare", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    db = tmp_path / "audit.db"
    scan_json("--repo", repo.path, "--cluster-dump", cluster, "--db", db)
    result = _apply(db, repo, "retire-x", "--push")
    assert result.exit_code == 0, result.output
    remote = repo.git("ls-remote", "origin", "refs/heads/retire-x").split()
    assert remote == [repo.git("rev-parse", "retire-x"), "refs/heads/retire-x"]
