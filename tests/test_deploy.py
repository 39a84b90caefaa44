"""The cron packaging: manifests valid against the Kubernetes schemas, and coherent."""

from __future__ import annotations

import re
from pathlib import Path

import click
import kubernetes_validate
import pytest
import yaml

from auditor.cli.commands import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    d
    for p in sorted((ROOT / "deploy").glob("*.yaml"))
    if p.name != "kustomization.yaml"  # kustomize's own file, checked in test_packaging.py
    for d in yaml.safe_load_all(p.read_text())
    if d
]


@pytest.mark.parametrize("doc", DOCS, ids=[f"{d['kind']}/{d['metadata']['name']}" for d in DOCS])
def test_schema_valid(doc: dict) -> None:
    # Strict: unknown fields are errors, as `kubectl apply --dry-run=client --validate=strict`.
    kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_cronjob_uses_the_read_only_account_and_the_volume() -> None:
    by_kind = {d["kind"]: d for d in DOCS}
    cron = by_kind["CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert cron["spec"]["schedule"].split()[2:] == ["1", "*", "*"]  # monthly
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod["serviceAccountName"] == by_kind["ServiceAccount"]["metadata"]["name"]
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {by_kind["PersistentVolumeClaim"]["metadata"]["name"]}
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["MESH_AUDIT_DB"]["value"].startswith("/data/")
    assert env["GITHUB_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True


def test_cronjob_script_calls_real_commands() -> None:
    cron = next(d for d in DOCS if d["kind"] == "CronJob")
    script = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    lines = [ln.strip() for ln in script.replace("\\\n", " ").splitlines()]
    calls = [ln for ln in lines if ln.startswith("mesh-audit ")]
    assert [c.split()[1] for c in calls] == ["scan", "tickets", "report", "report"]
    for line in calls:
        words = line.split()
        with click.Context(cli) as ctx:
            command = cli.get_command(ctx, words[1])
            if words[1] == "report":
                command = command.get_command(ctx, words[2])
        options = {o for p in command.params for o in p.opts}
        used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
        assert used <= options, (line, used - options)


def test_dockerfile_installs_git_and_the_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"apt-get install .* git", text) and "pip install" in text
    assert 'ENTRYPOINT ["mesh-audit"]' in text and "USER 10001" in text
