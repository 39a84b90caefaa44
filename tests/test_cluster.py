"""The live path: the real `kubernetes` client over HTTP against the API emulator."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from conftest import Scenario, findings_of, run, scan_json
from k8s_emulator import Emulator


def _kube(emu: Emulator, tmp_path: Path) -> Path:
    return emu.kubeconfig(tmp_path / "kubeconfig")


def _live_scan(scenario: Scenario, emu: Emulator, tmp_path: Path, *args: str) -> tuple:
    """Scan the scenario's repo against the emulator, into a fresh database."""
    return scan_json(
        "--repo",
        scenario.repo.path,
        "--kubeconfig",
        _kube(emu, tmp_path),
        "--db",
        tmp_path / "a.db",
        *args,
    )


def test_live_scan_equals_dump_scan(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects, max_page=2) as emu:
        kube = _kube(emu, tmp_path)
        result, live = scan_json(
            "--repo",
            scenario.repo.path,
            "--kubeconfig",
            kube,
            "--db",
            tmp_path / "live.db",
            "--cluster-name",
            "prod",
        )
    assert result.exit_code == 0, result.output
    _, dumped = scan_json(
        "--repo",
        scenario.repo.path,
        "--cluster-dump",
        scenario.dump,
        "--db",
        tmp_path / "dump.db",
        "--cluster-name",
        "prod",
    )

    def comparable(doc):
        return sorted(
            (
                f["fingerprint"],
                f["rule"],
                f["message"],
                f["owner"],
                f["owner_source"],
                str(f["evidence"]),
                str(f["source"]),
            )
            for f in doc["findings"]
        )

    assert comparable(live) == comparable(dumped)
    assert findings_of(live) == Scenario.EXPECTED
    assert live["scan"]["context"] == "emulator" and live["scan"]["complete"]
    # Paged: at most 2 items a page, so the 4 VirtualServices took 2 calls.
    calls = emu.list_calls("virtualservices")
    assert len(calls) == 2 and "continue" in calls[1] and calls[0]["limit"] == ["500"]
    # Read-only: discovery and lists, nothing else.
    assert {method for method, _, _ in emu.requests} == {"GET"}


def test_reads_preferred_istio_version(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects, istio_versions=("v1beta1", "v1alpha3")) as emu:
        result, doc = _live_scan(scenario, emu, tmp_path)
    assert result.exit_code == 0
    assert findings_of(doc) == Scenario.EXPECTED
    paths = {path for _, path, _ in emu.requests}
    assert "/apis/networking.istio.io/v1beta1/virtualservices" in paths
    assert not any("/v1/virtualservices" in p and "v1beta1" not in p for p in paths)


def test_namespaced_lists_when_namespaces_given(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        result, doc = _live_scan(scenario, emu, tmp_path, "-n", "sandbox")
    assert result.exit_code == 0
    assert findings_of(doc) == {("MA101", "VirtualService", "sandbox/hotfix")}
    paths = {path for _, path, _ in emu.requests}
    assert "/apis/networking.istio.io/v1/namespaces/sandbox/virtualservices" in paths
    assert "/apis/networking.istio.io/v1/virtualservices" not in paths


def test_missing_crd_is_a_note_not_a_failure(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects, not_installed=frozenset({"serviceentries"})) as emu:
        result, doc = _live_scan(scenario, emu, tmp_path)
    assert result.exit_code == 0
    assert doc["scan"]["complete"]
    assert any("ServiceEntry: CRD not installed" in n for n in doc["scan"]["notes"])


@pytest.mark.parametrize("status", [403, 500])
def test_unreadable_kind_makes_the_scan_partial(
    scenario: Scenario, tmp_path: Path, status: int
) -> None:
    db = tmp_path / "a.db"
    args = ("--repo", scenario.repo.path, "--db", db)
    _, full = scan_json(*args, "--cluster-dump", scenario.dump, "--cluster-name", "emulator")
    assert ("MA103", "DestinationRule", "shop/cart") in findings_of(full)
    with Emulator(scenario.objects, failures={"destinationrules": status}) as emu:
        result, doc = scan_json(*args, "--kubeconfig", _kube(emu, tmp_path))
    assert result.exit_code == 3
    assert doc["scan"]["complete"] is False
    assert doc["scan"]["partial_reasons"][0].startswith(f"DestinationRule: HTTP {status}")
    assert "not read: DestinationRule" in result.stderr
    # Not read is not "absent": the DR manifest is not reported as not-applied ...
    assert not any(f["kind"] == "DestinationRule" for f in doc["findings"])
    # ... and the partial scan resolves nothing.
    assert doc["scan"]["resolved"] == 0
    still = run("findings", "--db", db, "--rule", "MA103", "--format", "json")
    assert [f["status"] for f in json.loads(still.stdout)["findings"]] == ["open"]


def test_unreachable_cluster_exit_3_and_db_untouched(scenario: Scenario, tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    kube = tmp_path / "kubeconfig"
    with Emulator([]) as emu:
        emu.kubeconfig(kube)
    kube.write_text(kube.read_text().replace(emu.url, f"http://127.0.0.1:{port}"))
    result = run(
        "scan", "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("mesh-audit: error: cannot reach cluster 'emulator'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.db").exists()


def test_unknown_context_is_a_usage_error(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator([]) as emu:
        kube = _kube(emu, tmp_path)
    result = run(
        "scan",
        "--repo",
        scenario.repo.path,
        "--kubeconfig",
        kube,
        "--context",
        "prod",
        "--db",
        tmp_path / "a.db",
    )
    assert result.exit_code == 2
    assert "context 'prod' not found in kubeconfig" in result.stderr
    assert "available: emulator" in result.stderr
    assert not (tmp_path / "a.db").exists()


def test_no_kubeconfig_and_not_in_cluster(scenario: Scenario, tmp_path: Path) -> None:
    result = run("scan", "--repo", scenario.repo.path, "--db", tmp_path / "a.db")
    assert result.exit_code == 2
    assert "no kubeconfig found" in result.stderr


def test_snapshot_round_trips_through_scan(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        kube = _kube(emu, tmp_path)
        for name in ("snap.yaml", "snap.json"):
            result = run("snapshot", "--kubeconfig", kube, "-o", tmp_path / name)
            assert result.exit_code == 0, result.output
            _, doc = scan_json(
                "--repo",
                scenario.repo.path,
                "--cluster-dump",
                tmp_path / name,
                "--db",
                tmp_path / f"{name}.db",
            )
            assert findings_of(doc) == Scenario.EXPECTED
    assert (tmp_path / "snap.json").read_text().startswith("{")


def test_a_snapshot_of_a_cluster_without_istio_objects_is_judged_like_the_cluster(
    scenario: Scenario, tmp_path: Path
) -> None:
    """The snapshot listed every kind: none is `kubectl get all` without the mesh kinds, and
    a repo whose routes the cluster lacks is not applied (MA102), from the dump as live."""
    core = [o for o in scenario.objects if o["kind"] in ("Namespace", "Service", "Pod")]
    with Emulator(core) as emu:
        kube = _kube(emu, tmp_path)
        assert run("snapshot", "--kubeconfig", kube, "-o", tmp_path / "s.yaml").exit_code == 0
        _, live = scan_json(
            "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a"
        )
    _, dumped = scan_json(
        "--repo", scenario.repo.path, "--cluster-dump", tmp_path / "s.yaml", "--db", tmp_path / "b"
    )
    assert findings_of(dumped) == findings_of(live)
    assert ("MA102", "VirtualService", "old/ghost") in findings_of(dumped)


def test_a_snapshot_of_some_namespaces_limits_the_scan_to_them(
    scenario: Scenario, tmp_path: Path
) -> None:
    """`snapshot -n shop` holds nothing of namespace old: scanned without -n, its ghost
    route must not read as not applied. The scan is limited to shop, as with -n shop."""
    with Emulator(scenario.objects) as emu:
        kube = _kube(emu, tmp_path)
        result = run("snapshot", "--kubeconfig", kube, "-n", "shop", "-o", tmp_path / "s.yaml")
        assert result.exit_code == 0, result.output
        _, live = _live_scan(scenario, emu, tmp_path, "-n", "shop")
    args = ("--repo", scenario.repo.path, "--cluster-dump", tmp_path / "s.yaml")
    result, dumped = scan_json(*args, "--db", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert dumped["scan"]["namespaces"] == ["shop"]
    assert findings_of(dumped) == findings_of(live)
    assert not [f for f in findings_of(dumped) if f[2].split("/")[0] != "shop"]
    result = run("scan", *args, "-n", "sandbox", "--db", tmp_path / "c")
    assert result.exit_code == 2
    assert "holds namespaces shop only (mesh-audit snapshot -n): -n sandbox" in result.stderr


def test_snapshot_refuses_to_write_an_incomplete_dump(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects, failures={"virtualservices": 403}) as emu:
        result = run("snapshot", "--kubeconfig", _kube(emu, tmp_path), "-o", tmp_path / "s.yaml")
    assert result.exit_code == 3
    assert "cannot snapshot VirtualService: HTTP 403" in result.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_pods_are_reduced_to_metadata(tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "a", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "env": [{"name": "PASSWORD", "value": "hunter2"}]}]},
    }
    with Emulator([pod]) as emu:
        result = run("snapshot", "--kubeconfig", _kube(emu, tmp_path))
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout and "app: x" in result.stdout
