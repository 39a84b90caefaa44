"""Shared test parts: real Git repos with dated commits, the CLI runner, shared/ paths."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import settings

from auditor.cli.commands import cli
from auditor.sources import cache
from auditor.sources.applied import tools_signature

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BOOKINFO = SHARED / "real-world" / "istio_istio" / "samples" / "bookinfo" / "networking"
KIALI = (
    SHARED
    / "real-world"
    / "janus-idp_backstage-plugins"
    / "plugins"
    / "kiali"
    / "dev"
    / "__fixtures__"
)
PEER_CASES = SHARED / "peer-cases" / "istio-analyze"
# libyaml's emitter when PyYAML has it: the same YAML, several times faster to write.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Property tests draw the same examples on every run (seeded by the test's name) and keep no
# example database: a red run is reproducible, and a green one stays green.
settings.register_profile("suite", derandomize=True, database=None)
settings.load_profile("suite")


class GitRepo:
    """A real repository; every commit gets the date and author the test gives it."""

    def __init__(self, path: Path, init: bool = True) -> None:
        """Create the repository at path, or with init=False use the one already there."""
        self.path = path
        if init:
            path.mkdir(parents=True, exist_ok=True)
            # No template: a repository without the sample hooks is a dozen files lighter.
            self.git("init", "-q", "-b", "main", "--template=")

    def git(self, *args: str, date: str | None = None, author: str = "Alice Example") -> str:
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        email = author.split()[0].lower() + "@example.com"
        env.update(
            GIT_AUTHOR_NAME=author,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=author,
            GIT_COMMITTER_EMAIL=email,
        )
        if date:
            env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        out = subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    def commit(
        self,
        files: dict[str, str | None],
        date: str = "2026-01-01T12:00:00+00:00",
        author: str = "Alice Example",
        message: str = "change",
    ) -> str:
        """Write (or, for None, delete) files and commit them; return the sha.

        One `git add -A` stages the writes and the deletions together: a Git process per file
        was most of what building a test repository cost.
        """
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        if files:
            self.git("add", "-A", "--", *files)
        self.git("commit", "-q", "--allow-empty", "-m", message, date=date, author=author)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path):
    def make(name: str = "gitops") -> GitRepo:
        return GitRepo(tmp_path / name)

    return make


@pytest.fixture(scope="session")
def _tool_versions(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The machine's renderer versions, asked once per session (kubectl takes ~50 ms to say)."""
    root = tmp_path_factory.mktemp("tools")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MESH_AUDIT_CACHE", str(root))
        tools_signature()
    memo = root / "tools.json"
    return memo.read_bytes() if memo.exists() else b"{}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _tool_versions: bytes) -> None:
    """Each test gets its own cache folder (knowing the machine's tool versions, as a
    user's cache does after the first scan), no kubeconfig and no Git maintenance."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "tools.json").write_bytes(_tool_versions)
    monkeypatch.setenv("MESH_AUDIT_CACHE", str(tmp_path / "cache"))
    # `git commit` otherwise starts `git maintenance run --auto` after every commit.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "maintenance.auto")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "false")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("MESH_AUDIT_DB", raising=False)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def scan_json(*args: str | Path) -> tuple[Result, dict[str, Any]]:
    result = run("scan", "--format", "json", *args)
    return result, (json.loads(result.stdout) if result.stdout.strip() else {})


def grouped(lines: list[str], verb: str = "") -> dict[str, str]:
    """Each name -> its reason, from a scan's grouped lines (`A, B not run: why`)."""
    found: dict[str, str] = {}
    for line in lines:
        names, sep, why = line.partition(f"{verb}: ")
        if sep and re.fullmatch(r"\w+(, \w+)*", names):
            found.update(dict.fromkeys(names.split(", "), why))
    return found


def not_run(doc: dict[str, Any]) -> dict[str, str]:
    """Each rule a scan did not run -> why."""
    return grouped(doc["scan"]["notes"], " not run")


def manifest(
    kind: str, name: str, spec: dict[str, Any], namespace: str | None = None, **meta: Any
) -> str:
    """One YAML document for a manifest file."""
    metadata: dict[str, Any] = {"name": name, **meta}
    if namespace:
        metadata["namespace"] = namespace
    group = "v1" if kind in ("Service", "Namespace", "Pod") else "networking.istio.io/v1"
    return yaml.dump(
        {"apiVersion": group, "kind": kind, "metadata": metadata, "spec": spec}, Dumper=_DUMPER
    )


def dump(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(
        yaml.dump({"apiVersion": "v1", "kind": "List", "items": objects}, Dumper=_DUMPER)
    )
    return path


def live(
    kind: str, name: str, namespace: str, spec: dict[str, Any] | None = None, **meta: Any
) -> dict[str, Any]:
    group = "v1" if kind in ("Service", "Namespace", "Pod") else "networking.istio.io/v1"
    metadata: dict[str, Any] = {"name": name, **meta}
    if kind != "Namespace":
        metadata["namespace"] = namespace
    obj: dict[str, Any] = {"apiVersion": group, "kind": kind, "metadata": metadata}
    if spec is not None:
        obj["spec"] = spec
    return obj


def findings_of(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["kind"], f"{f['namespace']}/{f['name']}") for f in doc["findings"]}


CART_VS = {
    "hosts": ["cart"],
    "http": [{"route": [{"destination": {"host": "cart", "subset": "v1"}}], "timeout": "5s"}],
}
# Same route, from another namespace: the FQDN reaches the shop's cart.
REMOTE_CART_VS = {
    "hosts": ["cart-remote"],
    "http": [
        {
            "route": [{"destination": {"host": "cart.shop.svc.cluster.local", "subset": "v1"}}],
            "timeout": "5s",
        }
    ],
}
CART_DR = {"host": "cart", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}
CHECKOUT_VS = {
    "hosts": ["checkout"],
    "http": [{"route": [{"destination": {"host": "checkout"}}], "timeout": "5s"}],
}


def shop_routes(cart_dr: dict[str, Any] = CART_DR) -> str:
    """The scenario's apps/shop/routes.yaml, with this spec for DestinationRule cart."""
    return "---\n".join(
        [
            manifest("VirtualService", "cart", CART_VS, labels={"team": "cart-team"}),
            manifest("DestinationRule", "cart", cart_dr, labels={"team": "cart-team"}),
            manifest("VirtualService", "checkout", CHECKOUT_VS),
        ]
    )


class Scenario:
    """A small mesh: one resource in each sync state and each owner source."""

    EXPECTED = {
        ("MA101", "VirtualService", "sandbox/hotfix"),
        ("MA101", "VirtualService", "shop/stray"),
        ("MA201", "VirtualService", "shop/stray"),
        ("MA102", "VirtualService", "old/ghost"),
        ("MA201", "VirtualService", "old/ghost"),
        ("MA103", "DestinationRule", "shop/cart"),
    }

    def __init__(self, root: Path) -> None:
        """The scenario laid out under root by `build`, or a copy of one."""
        self.repo = GitRepo(root / "gitops", init=False)
        self.objects = self.live_objects()
        self.dump = root / "cluster.yaml"
        self.db = root / "audit.db"

    @classmethod
    def build(cls, root: Path) -> Scenario:
        """Lay out the repository with its dated commits and the cluster dump under root."""
        repo = GitRepo(root / "gitops")
        repo.commit(
            {
                "CODEOWNERS": "* @acme/platform\napps/shop/ @acme/shop\n",
                "apps/shop/kustomization.yaml": "namespace: shop\nresources:\n  - routes.yaml\n",
                "apps/shop/routes.yaml": shop_routes(),
            },
            date="2025-05-01T10:00:00+00:00",
            message="shop routing",
        )
        repo.commit(
            {
                "apps/old/ghost.yaml": manifest(
                    "VirtualService", "ghost", REMOTE_CART_VS, namespace="old"
                )
            },
            date="2025-07-01T10:00:00+00:00",
            author="Carol Example",
            message="ghost canary",
        )
        # Nobody owns old/: CODEOWNERS gives it no owner (an owner-less rule is last and wins).
        repo.commit(
            {"CODEOWNERS": "* @acme/platform\napps/shop/ @acme/shop\napps/old/\n"},
            date="2025-07-02T10:00:00+00:00",
        )
        dump(root / "cluster.yaml", cls.live_objects())
        return cls(root)

    @staticmethod
    def live_objects() -> list[dict[str, Any]]:
        """What the cluster serves: one object in each sync state."""
        cart_live = live(
            "VirtualService",
            "cart",
            "shop",
            CART_VS,
            labels={"team": "cart-team"},
            uid="u1",
            resourceVersion="7",
            generation=2,
            creationTimestamp="2025-05-01T10:05:00Z",
        )
        cart_live["apiVersion"] = "networking.istio.io/v1beta1"
        drifted = {**CART_DR, "trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}}
        return [
            live("Namespace", "shop", ""),
            live("Namespace", "sandbox", "", labels={"owner": "sandbox-team"}),
            cart_live,
            live("DestinationRule", "cart", "shop", drifted, labels={"team": "cart-team"}),
            live("VirtualService", "checkout", "shop", CHECKOUT_VS),
            live("VirtualService", "hotfix", "sandbox", REMOTE_CART_VS),
            live(
                "VirtualService",
                "stray",
                "shop",
                {**CART_VS, "hosts": ["stray"]},
                managedFields=[
                    {
                        "manager": "kubectl-edit",
                        "operation": "Update",
                        "time": "2026-03-01T00:00:00Z",
                    }
                ],
            ),
            live("Service", "cart", "shop", {"selector": {"app": "cart"}}),
            live("Service", "checkout", "shop", {"selector": {"app": "checkout"}}),
            live("Pod", "cart-v1-abc", "shop", labels={"app": "cart", "version": "v1"}),
        ]

    @property
    def args(self) -> tuple[str | Path, ...]:
        """The scan arguments for this scenario: its repo, its dump, its database."""
        return ("--repo", self.repo.path, "--cluster-dump", self.dump, "--db", self.db)


@pytest.fixture(scope="session")
def _scenario_template(tmp_path_factory: pytest.TempPathFactory, _tool_versions: bytes) -> Path:
    """The scenario built once per session: its Git commits are most of its cost. Its cache
    keeps the render of apps/shop (renders are shared by every checkout), so a test's first
    scan does not run kustomize again; rendering itself is tested in test_apps.py."""
    root = tmp_path_factory.mktemp("scenario")
    scenario = Scenario.build(root)
    (root / "cache").mkdir()
    (root / "cache" / "tools.json").write_bytes(_tool_versions)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MESH_AUDIT_CACHE", str(root / "cache"))
        run(
            "scan",
            "--repo",
            scenario.repo.path,
            "--cluster-dump",
            scenario.dump,
            "--db",
            root.with_suffix(".db"),
        )
        renders = cache.slot("renders")
    assert renders.is_dir()
    for entry in (root / "cache").iterdir():
        if entry != renders:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return root


@pytest.fixture
def scenario(_scenario_template: Path, tmp_path: Path) -> Scenario:
    """A private copy of the scenario (repository with its dated history, dump) in tmp_path."""
    shutil.copytree(_scenario_template, tmp_path, dirs_exist_ok=True)
    return Scenario(tmp_path)
