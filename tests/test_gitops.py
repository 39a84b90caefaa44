"""Reading the GitOps repo: documents, lines, history, kustomize namespaces, clones."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.sources.gitops import read_repo
from conftest import GitRepo, manifest

VS = {"hosts": ["a"]}


def _by_name(snapshot):
    return {m.key.name: m for m in snapshot.manifests}


def test_documents_lines_and_last_commit_following_renames(make_repo) -> None:
    repo: GitRepo = make_repo()
    two_docs = (
        manifest("VirtualService", "a", VS)
        + "---\n# comment\n"
        + manifest("DestinationRule", "b", {"host": "a"})
    )
    repo.commit(
        {"old/routes.yaml": two_docs}, date="2024-01-10T00:00:00+00:00", author="Alice Example"
    )
    repo.commit(
        {"other.yaml": manifest("Gateway", "g", {})},
        date="2024-02-01T00:00:00+00:00",
        author="Bob Example",
    )
    (repo.path / "new").mkdir()
    repo.git("mv", "old/routes.yaml", "new/routes.yaml")
    rename = repo.commit(
        {}, date="2024-03-01T00:00:00+00:00", author="Carol Example", message="move"
    )
    snap = read_repo(str(repo.path), None, ())
    by = _by_name(snap)
    assert (by["a"].path, by["a"].line) == ("new/routes.yaml", 1)
    assert by["b"].line == 10 and by["b"].key.kind == "DestinationRule"
    assert by["a"].commit.sha == rename and by["a"].commit.author == "Carol Example"
    assert by["g"].commit.author == "Bob Example" and by["g"].commit.date.startswith("2024-02-01")
    # History follows the rename back to the first commit under the old name.
    revisions = snap.timeline.revisions("new/routes.yaml")
    assert [(r.commit.author, r.path) for r in revisions] == [
        ("Carol Example", "new/routes.yaml"),
        ("Alice Example", "old/routes.yaml"),
    ]


def test_kustomization_namespace_nearest_file_and_outer_override(make_repo) -> None:
    repo = make_repo()
    repo.commit(
        {
            "apps/a/kustomization.yaml": "namespace: team-a\nresources: [vs.yaml]\n",
            "apps/a/vs.yaml": manifest("VirtualService", "a", VS),
            "apps/a/unlisted.yaml": manifest("VirtualService", "unlisted", VS),
            "apps/a/explicit.yaml": manifest("VirtualService", "explicit", VS, namespace="mine"),
            "overlay/kustomization.yaml": "namespace: prod\nresources:\n- base\n",
            "overlay/base/kustomization.yaml": "namespace: dev\nresources: [vs.yaml]\n",
            "overlay/base/vs.yaml": manifest("VirtualService", "based", VS),
        }
    )
    by = _by_name(read_repo(str(repo.path), None, ()))
    assert by["a"].key.namespace == "team-a"
    assert by["unlisted"].key.namespace == "default"
    assert by["explicit"].key.namespace == "mine"
    assert by["based"].key.namespace == "prod"


def test_bad_documents_are_reported_and_skipped(make_repo) -> None:
    repo = make_repo()
    good = manifest("VirtualService", "ok", VS)
    repo.commit(
        {
            "broken.yaml": good
            + "---\nkind: VirtualService\nmetadata: {name: [unclosed\n---\n"
            + manifest("Gateway", "after", {}),
            "notk8s.yaml": "just: a config\nitems: [1, 2]\n",
            "chart/templates/vs.yaml": "apiVersion: v1\nkind: {{ .Values.kind }}\nmetadata:\n  name: {{ .Release.Name }}\n",
            "README.md": "# not read\n",
            "package.json": '{"name": "x"}',
        }
    )
    snap = read_repo(str(repo.path), None, ())
    assert set(_by_name(snap)) == {"ok", "after"}
    assert [(e.path, e.line) for e in snap.errors] == [("broken.yaml", 10)]
    assert "invalid YAML" in str(snap.errors[0])
    assert any("templated file" in n for n in snap.notes)


def test_paths_limit_the_manifests_read(make_repo) -> None:
    repo = make_repo()
    repo.commit(
        {
            "a/x.yaml": manifest("VirtualService", "x", VS),
            "b/y.yaml": manifest("VirtualService", "y", VS),
        }
    )
    assert set(_by_name(read_repo(str(repo.path), None, ("a",)))) == {"x"}
    with pytest.raises(InputError, match="--path nothing matches no app or manifest"):
        read_repo(str(repo.path), None, ("nothing",))


def test_cache_makes_the_repeat_read_identical(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    repo.commit(
        {"a.yaml": manifest("VirtualService", "x", VS) + "---\n" + manifest("Gateway", "g", {})}
    )
    first = read_repo(str(repo.path), None, ())
    cache_files = sorted(p.name for p in (tmp_path / "cache").rglob("*.json"))
    assert cache_files == ["blobs.json", "history.json", "snapshot.json", "tools.json"]
    second = read_repo(str(repo.path), None, ())
    assert first.manifests == second.manifests
    assert first.timeline.revisions("a.yaml") == second.timeline.revisions("a.yaml")
    # A new commit, another --path: the cached snapshot is not reused.
    repo.commit({"a.yaml": manifest("VirtualService", "y", VS)})
    assert set(_by_name(read_repo(str(repo.path), None, ()))) == {"y"}
    assert set(_by_name(read_repo(str(repo.path), None, ("a.yaml",)))) == {"y"}


def test_clone_url_is_cloned_then_fetched(make_repo) -> None:
    origin = make_repo("origin")
    origin.commit({"a.yaml": manifest("VirtualService", "x", VS)})
    url = f"file://{origin.path}"
    assert set(_by_name(read_repo(url, None, ()))) == {"x"}
    origin.commit({"b.yaml": manifest("VirtualService", "y", VS)})
    snap = read_repo(url, None, ())
    assert set(_by_name(snap)) == {"x", "y"}
    assert snap.repo == url


def test_history_after_new_commits_equals_a_fresh_read(make_repo, tmp_path: Path) -> None:
    from auditor.sources.history import read_history

    repo = make_repo()
    repo.commit({"a.yaml": manifest("VirtualService", "x", VS)}, date="2026-01-01T00:00:00Z")
    git_repo = __import__("git").Repo(repo.path)
    slot = tmp_path / "slot"
    read_history(git_repo, repo.git("rev-parse", "HEAD"), slot)
    repo.commit({"a.yaml": manifest("VirtualService", "y", VS), "b.yaml": "x: 1\n"})
    head = repo.git("rev-parse", "HEAD")
    incremental = read_history(git_repo, head, slot)
    assert incremental == read_history(git_repo, head, tmp_path / "fresh")
    assert [r.commit.files for r in incremental["a.yaml"]] == [2, 1]


def test_a_path_scan_reads_the_history_of_its_own_files_only(make_repo, tmp_path: Path) -> None:
    import json

    repo = make_repo()
    repo.commit(
        {
            "a/x.yaml": manifest("VirtualService", "x", VS),
            "b/y.yaml": manifest("VirtualService", "y", VS),
        },
        date="2025-01-01T00:00:00+00:00",
    )
    repo.commit(
        {"a/x.yaml": manifest("VirtualService", "x", {**VS, "hosts": ["x2"]})},
        date="2025-06-01T00:00:00+00:00",
    )
    b_only = repo.commit({"b/y.yaml": manifest("VirtualService", "y", {**VS, "hosts": ["y2"]})})
    scoped = read_repo(str(repo.path), None, ("a",))
    full = read_repo(str(repo.path), None, ())
    assert scoped.timeline.revisions("a/x.yaml") == full.timeline.revisions("a/x.yaml")
    assert len(scoped.timeline.revisions("a/x.yaml")) == 2
    # Only the commits that touched a/ are read (with every file they touched, so a mass
    # commit still counts as one).
    (history,) = (tmp_path / "cache").rglob("history-*.json")
    read = json.loads(history.read_text())["paths"]
    assert len(read["a/x.yaml"]) == 2
    assert b_only not in {r[0] for revisions in read.values() for r in revisions}
