"""Clone URLs with credentials, against a private Git host (`git http-backend` with basic
auth on 127.0.0.1): the credentials are used, never stored in the cache, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_http_server import GitHttpServer

from auditor.sources.gitops import read_repo
from auditor.sources.remote import redact
from conftest import manifest, run

VS = {"hosts": ["a"], "http": [{"route": [{"destination": {"host": "a"}}]}]}
PASSWORDS = ["s3cr3t", "p@ss:w0rd", "we%40ird%3Apass", "ends-with-@"]


def _origin(make_repo, tmp_path: Path):
    origin = make_repo("origin")
    origin.commit({"a.yaml": manifest("VirtualService", "x", VS, "default")})
    bare = tmp_path / "srv" / "gitops.git"
    bare.parent.mkdir()
    origin.git("clone", "-q", "--bare", str(origin.path), str(bare))
    return origin, bare


def _cache_text(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())


@pytest.mark.parametrize("password", PASSWORDS)
def test_credentials_are_used_but_never_stored(make_repo, tmp_path: Path, password: str) -> None:
    from urllib.parse import quote, unquote

    origin, bare = _origin(make_repo, tmp_path)
    plain = unquote(password)  # what the server expects
    with GitHttpServer(bare.parent, "mesh-reader", plain) as srv:
        url = f"http://mesh-reader:{quote(plain, safe='')}@127.0.0.1:{srv.url.rsplit(':', 1)[1]}/gitops.git"
        snap = read_repo(url, None, ())
        assert [m.key.name for m in snap.manifests] == ["x"]
        origin.commit({"b.yaml": manifest("VirtualService", "y", VS, "default")})
        origin.git("push", "-q", str(bare), "main")
        assert {m.key.name for m in read_repo(url, None, ()).manifests} == {"x", "y"}
    assert snap.repo == f"http://127.0.0.1:{srv.url.rsplit(':', 1)[1]}/gitops.git"
    stored = _cache_text(tmp_path)
    assert stored and plain.encode() not in stored and quote(plain, safe="").encode() not in stored
    assert b"mesh-reader" not in stored
    config = next((tmp_path / "cache").rglob("repo.git")) / "config"
    assert b"http" not in config.read_bytes()  # no remote URL at all


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_refused_clone_is_exit_3_and_redacted(make_repo, tmp_path: Path, password: str) -> None:
    _, bare = _origin(make_repo, tmp_path)
    with GitHttpServer(bare.parent, "mesh-reader", "right-password") as srv:
        url = f"http://mesh-reader:{password}@127.0.0.1:{srv.url.rsplit(':', 1)[1]}/gitops.git"
        result = run(
            "scan", "--repo", url, "--cluster-dump", tmp_path / "none.yaml", "--db", tmp_path / "db"
        )
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("mesh-audit: error: cannot fetch http://127.0.0.1:")
    for secret in {password, password.replace("%40", "@").replace("%3A", ":")}:
        assert secret not in result.output
    assert not (tmp_path / "db").exists()


def test_a_token_in_the_query_string_is_redacted_and_not_stored(make_repo, tmp_path: Path) -> None:
    _, bare = _origin(make_repo, tmp_path)
    with GitHttpServer(bare.parent, "mesh-reader", "pw") as srv:
        url = f"{srv.url}/gitops.git?access_token=tok3n"
        result = run(
            "scan", "--repo", url, "--cluster-dump", tmp_path / "x", "--db", tmp_path / "db"
        )
    assert result.exit_code == 3
    assert "access_token=***" in result.stderr and "tok3n" not in result.output
    assert b"tok3n" not in _cache_text(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:p@ss@host/r.git", "https://host/r.git"),
        (
            "fatal: unable to access 'https://u:a:b@host/r/': 401",
            "fatal: unable to access 'https://host/r/': 401",
        ),
        ("https://host/r.git?access_token=abc&x=1", "https://host/r.git?access_token=***&x=***"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_an_unusable_cached_clone_is_made_again(make_repo, tmp_path: Path) -> None:
    _, bare = _origin(make_repo, tmp_path)
    with GitHttpServer(bare.parent, "mesh-reader", "pw") as srv:
        url = f"http://mesh-reader:pw@127.0.0.1:{srv.url.rsplit(':', 1)[1]}/gitops.git"
        read_repo(url, None, ())
        cached = next((tmp_path / "cache").rglob("repo.git"))
        for child in cached.iterdir():  # a run killed while the clone was being made
            if child.is_file():
                child.unlink()
        assert [m.key.name for m in read_repo(url, None, ()).manifests] == ["x"]
