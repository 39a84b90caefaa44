"""MA306/MA307 date resources by their last *meaningful* Git change.

Mass commits (API bumps touching many files) and commits that leave the document's spec
unchanged (comments, reformatting) do not make old config look fresh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from conftest import GitRepo, dump, not_run, scan_json


def _when(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _vs(name: str, weights: tuple[int, int], api: str = "v1", fault: bool = False) -> dict:
    route = {
        "route": [
            {"destination": {"host": "reviews", "subset": "v1"}, "weight": weights[0]},
            {"destination": {"host": "reviews", "subset": "v2"}, "weight": weights[1]},
        ],
        "timeout": "5s",
    }
    if fault:
        route["fault"] = {"abort": {"httpStatus": 503, "percentage": {"value": 5}}}
    return {
        "apiVersion": f"networking.istio.io/{api}",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"hosts": [name], "http": [route]},
    }


def test_mass_and_cosmetic_commits_do_not_refresh_a_stale_canary(make_repo, tmp_path) -> None:
    repo: GitRepo = make_repo()
    filler = {
        f"apps/filler-{i}.yaml": yaml.safe_dump(_vs(f"filler-{i}", (100, 0), "v1beta1"))
        for i in range(60)
    }
    repo.commit(
        {
            **filler,
            "apps/reviews.yaml": yaml.safe_dump(_vs("reviews", (100, 0), "v1beta1")),
            "apps/ratings.yaml": yaml.safe_dump(_vs("ratings", (50, 50), "v1beta1")),
            "apps/tmp-abort.yaml": yaml.safe_dump(
                _vs("tmp-abort", (100, 0), "v1beta1", fault=True)
            ),
        },
        date=_when(300),
        author="Alice Example",
        message="canaries",
    )
    created = repo.git("rev-parse", "HEAD")
    bumped = {
        p: c.replace("networking.istio.io/v1beta1", "networking.istio.io/v1")
        for p, c in filler.items()
    }
    for name in ("reviews", "ratings", "tmp-abort"):
        bumped[f"apps/{name}.yaml"] = (
            (repo.path / "apps" / f"{name}.yaml")
            .read_text()
            .replace("networking.istio.io/v1beta1", "networking.istio.io/v1")
        )
    repo.commit(bumped, date=_when(20), author="Bot Example", message="bump to v1 (63 files)")
    repo.commit(
        {"apps/reviews.yaml": "# owned by the shop team\n" + bumped["apps/reviews.yaml"]},
        date=_when(5),
        author="Bob Example",
        message="comment only",
    )
    repo.commit(
        {"apps/ratings.yaml": yaml.safe_dump(_vs("ratings", (100, 0)))},
        date=_when(3),
        author="Bob Example",
        message="ratings: shift all traffic to v1",
    )
    objects = [
        yaml.safe_load(
            (repo.path / p).read_text().split("\n", 1)[1]
            if p == "apps/reviews.yaml"
            else (repo.path / p).read_text()
        )
        for p in ("apps/reviews.yaml", "apps/ratings.yaml", "apps/tmp-abort.yaml")
    ]
    _, doc = scan_json(
        "--repo",
        repo.path,
        "--cluster-dump",
        dump(tmp_path / "c.yaml", objects),
        "--db",
        tmp_path / "a.db",
        "-n",
        "shop",
    )
    by = {(f["rule"], f["name"]): f for f in doc["findings"]}
    reviews = by["MA306", "reviews"]
    assert reviews["evidence"]["changed_at"][:10] == _when(300)[:10]
    assert reviews["evidence"]["unchanged_days"] in (299, 300)
    assert created[:10] in reviews["evidence"]["basis"]
    assert (
        "ignoring 1 mass commit(s) of more than 50 files and 1 commit(s) that left it unchanged"
        in reviews["evidence"]["basis"]
    )
    # The healthy twin: ratings really changed 3 days ago, so its 0% leg is a fresh rollout.
    assert ("MA306", "ratings") not in by
    # A fault left on for 300 days, in a resource named like an experiment.
    abort = by["MA307", "tmp-abort"]
    assert abort["evidence"]["signals"] == [
        "fault injection at spec.http[0].fault",
        "experimental name (tmp)",
    ]
    assert abort["source"]["path"] == "apps/tmp-abort.yaml"


def test_a_shallow_clone_says_so_and_age_rules_do_not_judge(make_repo, tmp_path) -> None:
    """Without the history, "unchanged for N days" cannot be told: MA306/MA307 do not run
    (and so resolve nothing), and the scan says why."""
    import subprocess

    from conftest import CART_VS, dump, live, manifest, scan_json

    origin = make_repo("origin")
    canary = {
        **CART_VS,
        "hosts": ["canary"],
        "http": [
            {
                **CART_VS["http"][0],
                "fault": {"abort": {"httpStatus": 500, "percentage": {"value": 1}}},
            }
        ],
    }
    origin.commit(
        {"a.yaml": manifest("VirtualService", "canary", canary, namespace="shop")},
        date="2024-01-01T00:00:00+00:00",
    )
    origin.commit({"b.yaml": "x: 1\n"}, date="2026-11-01T00:00:00+00:00")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin.path}", str(shallow)], check=True
    )
    cluster = dump(tmp_path / "c.yaml", [live("VirtualService", "canary", "shop", canary)])
    _, full = scan_json("--repo", origin.path, "--cluster-dump", cluster, "--db", tmp_path / "a.db")
    assert "MA307" in {f["rule"] for f in full["findings"]}
    result, doc = scan_json("--repo", shallow, "--cluster-dump", cluster, "--db", tmp_path / "b.db")
    assert result.exit_code == 0, result.output
    assert (
        "MA307" not in {f["rule"] for f in doc["findings"]} and "MA307" not in doc["scan"]["rules"]
    )
    assert any(n.startswith("shallow clone:") for n in doc["scan"]["notes"])
    assert not_run(doc)["MA307"].startswith("needs the Git history")


def test_a_blob_missing_from_a_partial_clone_costs_only_that_files_history(
    make_repo, tmp_path
) -> None:
    """A partial clone whose origin is gone: old revisions cannot be read. The scan says so
    in a note and goes on (no exit 3, no git `fatal:` on stderr)."""
    import shutil
    import subprocess

    from conftest import CART_VS, dump, live, manifest, run

    origin = make_repo("origin")
    origin.git("config", "uploadpack.allowFilter", "true")
    origin.git("config", "uploadpack.allowAnySHA1InWant", "true")
    for n in (1, 2, 3):
        fault = {"abort": {"httpStatus": 500, "percentage": {"value": 1}}}
        vs = {**CART_VS, "hosts": [f"cart-{n}"], "http": [{**CART_VS["http"][0], "fault": fault}]}
        origin.commit(
            {"a.yaml": manifest("VirtualService", "cart", vs, namespace="shop")},
            date=f"2024-0{n}-01T00:00:00+00:00",
        )
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", f"file://{origin.path}", str(clone)],
        check=True,
    )
    shutil.rmtree(origin.path)
    cluster = dump(tmp_path / "c.yaml", [live("VirtualService", "cart", "shop", vs)])
    result = run(
        "scan", "--repo", clone, "--cluster-dump", cluster, "--db", tmp_path / "a.db", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    assert "fatal:" not in result.stderr
    notes = __import__("json").loads(result.stdout)["scan"]["notes"]
    assert any(n.startswith("older revisions of 1 file(s) are not in this clone") for n in notes)
