"""The live side under faults: every wait ends within --timeout with exit 3 and one line,
a kind the server should serve but does not is unread (partial), never "not installed",
and a bad kubeconfig is exit 2."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import Scenario, grouped, run, scan_json
from k8s_emulator import Emulator


def _scan(scenario: Scenario, kube: Path, tmp_path: Path, *args: str) -> tuple:
    return scan_json(
        "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db", *args
    )


@pytest.mark.parametrize(
    ("kwargs", "kind", "why"),
    [
        ({"failures": {"serviceentries": 404}}, "ServiceEntry", "HTTP 404"),
        (
            {"faults": {"virtualservices": "same-token"}, "max_page": 1},
            "VirtualService",
            "repeated continue token",
        ),
        ({"istio_versions": ("v2",)}, "VirtualService", "served only at v2"),
        ({"faults": {"gateways": "not-a-list"}}, "Gateway", "the answer is not a list"),
    ],
)
def test_a_kind_the_server_should_serve_is_unread_not_absent(
    scenario: Scenario, tmp_path: Path, kwargs: dict, kind: str, why: str
) -> None:
    with Emulator(scenario.objects, **kwargs) as emu:
        result, doc = _scan(scenario, emu.kubeconfig(tmp_path / "kube"), tmp_path)
    assert result.exit_code == 3, result.output
    assert not doc["scan"]["complete"]
    assert why in grouped(doc["scan"]["partial_reasons"])[kind]
    assert not any("not installed" in n for n in doc["scan"]["notes"])
    assert not any(f["rule"] == "MA102" and f["kind"] == kind for f in doc["findings"])


def test_a_redirect_to_another_server_is_refused(scenario: Scenario, tmp_path: Path) -> None:
    with (
        Emulator(scenario.objects) as other,
        Emulator(scenario.objects, faults={"virtualservices": other.url}) as emu,
    ):
        result, doc = _scan(scenario, emu.kubeconfig(tmp_path / "kube"), tmp_path)
    assert result.exit_code == 3
    assert any("redirect" in r and "refused" in r for r in doc["scan"]["partial_reasons"])
    assert other.requests == []  # the token never reached it


def test_a_trickling_server_ends_at_the_deadline(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects, faults={"destinationrules": "trickle"}) as emu:
        started = time.monotonic()
        result = run(
            "scan",
            "--repo",
            scenario.repo.path,
            "--kubeconfig",
            emu.kubeconfig(tmp_path / "k"),
            "--db",
            tmp_path / "a.db",
            "--timeout",
            "1",
        )
        assert emu.trickling.is_set()
    assert time.monotonic() - started < 10
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "mesh-audit: error: timed out after 1s (--timeout) while listing destinationrules"
    )
    assert not (tmp_path / "a.db").exists()


def _exec_kubeconfig(emu: Emulator, path: Path, script: str) -> Path:
    plugin = path.parent / "plugin.sh"
    plugin.write_text("#!/bin/sh\n" + script)
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    emu.kubeconfig(path)
    doc = yaml.safe_load(path.read_text())
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_an_exec_plugin_that_fails_shows_its_own_error(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        kube = _exec_kubeconfig(
            emu, tmp_path / "kube", "echo 'sso session expired: run login' >&2\nexit 7\n"
        )
        result = run(
            "scan", "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db"
        )
    assert result.exit_code == 3
    assert (
        "credential plugin failed: exec: process returned 7. sso session expired: run login"
        in result.stderr
    )
    assert "401" not in result.stderr


def test_an_exec_plugin_that_hangs_ends_at_the_deadline(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        pid_file = tmp_path / "plugin.pid"
        kube = _exec_kubeconfig(emu, tmp_path / "kube", f"echo $$ > {pid_file}\nexec sleep 30\n")
        started = time.monotonic()
        result = run("snapshot", "--kubeconfig", kube, "--timeout", "0.5")
    assert time.monotonic() - started < 10
    assert result.exit_code == 3
    assert (
        "timed out after 0.5s (--timeout) while loading the kubeconfig and its credentials"
        in result.stderr
    )
    assert not Path(f"/proc/{pid_file.read_text().strip()}").exists()  # the plugin was ended


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{{{ not yaml", "is not a valid kubeconfig"),
        ("- a list\n- not a mapping\n", "is not a valid kubeconfig"),
        ("just a string", "is not a valid kubeconfig"),
    ],
)
def test_a_kubeconfig_that_is_not_one_is_exit_2(
    scenario: Scenario, tmp_path: Path, text: str, why: str
) -> None:
    kube = tmp_path / "kube"
    kube.write_text(text)
    result = run(
        "scan", "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("mesh-audit: error: kubeconfig ") and why in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_certificate_data_is_exit_2(scenario: Scenario, tmp_path: Path) -> None:
    with Emulator(scenario.objects) as emu:
        kube = emu.kubeconfig(tmp_path / "kube")
    doc = yaml.safe_load(kube.read_text())
    doc["clusters"][0]["cluster"] = {
        "server": "https://127.0.0.1:1",
        "certificate-authority-data": "not base64!!",
    }
    kube.write_text(yaml.safe_dump(doc))
    result = run(
        "scan", "--repo", scenario.repo.path, "--kubeconfig", kube, "--db", tmp_path / "a.db"
    )
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_device_is_refused_as_a_dump(scenario: Scenario, tmp_path: Path) -> None:
    result = run(
        "scan",
        "--repo",
        scenario.repo.path,
        "--cluster-dump",
        "/dev/zero",
        "--db",
        tmp_path / "a.db",
    )
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "mesh-audit: error: cluster dump /dev/zero is not a regular file or a pipe: not read"
    )


def test_a_fifo_nobody_writes_to_ends_at_the_deadline(scenario: Scenario, tmp_path: Path) -> None:
    fifo = tmp_path / "dump.fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # a writer that never writes nor closes
    try:
        result = run(
            "scan",
            "--repo",
            scenario.repo.path,
            "--cluster-dump",
            fifo,
            "--db",
            tmp_path / "a.db",
            "--timeout",
            "0.5",
        )
    finally:
        os.close(writer)
    assert result.exit_code == 3
    assert f"timed out after 0.5s (--timeout) while reading cluster dump {fifo}" in result.stderr


def test_a_fifo_with_a_dump_is_read(scenario: Scenario, tmp_path: Path) -> None:
    fifo = tmp_path / "dump.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(scenario.dump.read_bytes(),))
    writer.start()  # blocks in open() until the scan opens the FIFO to read
    result, _ = scan_json(
        "--repo", scenario.repo.path, "--cluster-dump", fifo, "--db", tmp_path / "a.db"
    )
    writer.join()
    assert result.exit_code == 0, result.output
