"""The deployment as a cluster would take it (kustomize, hardened pod, secrets), and the
metrics push to a real Prometheus Pushgateway on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import Scenario, run

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl")
PUSHGATEWAY = shutil.which("prometheus-pushgateway")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kustomize_builds_with_the_namespace_first() -> None:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "deploy")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert docs[0]["kind"] == "Namespace"
    assert {d["kind"] for d in docs} == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolumeClaim",
        "CronJob",
    }
    assert all(d["metadata"]["labels"]["app.kubernetes.io/name"] == "mesh-audit" for d in docs)


def test_cronjob_is_hardened_and_reports_the_previous_month() -> None:
    cron = next(
        d
        for d in yaml.safe_load_all((ROOT / "deploy" / "cronjob.yaml").read_text())
        if d and d["kind"] == "CronJob"
    )
    job = cron["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    container = pod["containers"][0]
    assert cron["spec"]["timeZone"] == "Etc/UTC"
    assert job["activeDeadlineSeconds"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["cpu"]
    env = {e["name"]: e for e in container["env"]}
    assert env["GITOPS_REPO"]["valueFrom"]["secretKeyRef"] == {
        "name": "mesh-audit-gitops",
        "key": "url",
    }
    script = container["args"][0]
    assert script.count("report monthly --month previous") == 2
    assert '--pushgateway "$PUSHGATEWAY_URL"' in script and "--metrics /data/" in script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    if PUSHGATEWAY is None:
        pytest.skip("prometheus-pushgateway is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.interval=1h"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # bounded: about 10 s at most
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=0.5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Pushgateway did not become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _groups(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v1/metrics", timeout=5) as response:
        return json.load(response)["data"]


def test_scan_pushes_metrics_to_the_pushgateway(scenario: Scenario, pushgateway: str) -> None:
    result = run("scan", *scenario.args, "--format", "json", "--pushgateway", pushgateway)
    assert result.exit_code == 0, result.output
    (group,) = _groups(pushgateway)
    assert group["labels"] == {"job": "mesh-audit", "cluster": "cluster"}
    findings = group["mesh_audit_findings"]["metrics"]
    assert sum(float(m["value"]) for m in findings) == 6
    assert {m["labels"]["status"] for m in findings} == {"open"}
    assert group["mesh_audit_scan_success"]["metrics"][0]["value"] == "1"
    # A failed run replaces the group with a failure a rule can alert on.
    failed = run(
        "scan",
        "--repo",
        scenario.db.parent / "missing",
        "--cluster-dump",
        scenario.dump,
        "--db",
        scenario.db,
        "--cluster-name",
        "cluster",
        "--pushgateway",
        pushgateway,
    )
    assert failed.exit_code == 2
    (group,) = _groups(pushgateway)
    assert group["mesh_audit_scan_success"]["metrics"][0]["value"] == "0"
    assert "mesh_audit_findings" not in group


def test_unreachable_pushgateway_is_one_line(scenario: Scenario) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = run("scan", *scenario.args, "--format", "json", "--pushgateway", url)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"mesh-audit: error: cannot push metrics to {url}")
    assert json.loads(result.stdout)["scan"]["complete"] is True  # the scan itself was written
