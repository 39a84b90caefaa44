"""Bad input gets one clear line and a documented exit code; the database is untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli.commands import cli
from conftest import Scenario, findings_of, run, scan_json
from rules import CATALOG


@pytest.fixture
def stored(scenario: Scenario) -> Scenario:
    assert scan_json(*scenario.args)[0].exit_code == 0
    return scenario


def _bad_scan(s: Scenario, tmp_path: Path, case: str) -> list[str]:
    dump = tmp_path / "bad.yaml"
    repo = str(s.repo.path)
    if case == "malformed-yaml":
        dump.write_text("apiVersion: v1\nkind: List\nitems:\n- kind: [oops\n")
    elif case == "not-a-list":
        dump.write_text("hello: world\n")
    elif case == "item-not-object":
        dump.write_text("apiVersion: v1\nkind: List\nitems:\n- 42\n")
    elif case == "empty-dump":
        dump.write_text("")
    elif case == "missing-dump":
        dump = tmp_path / "absent.yaml"
    elif case == "malformed-json":
        dump = tmp_path / "bad.json"
        dump.write_text('{"kind": "List", "items": [}')
    else:
        dump = s.dump
        if case == "missing-repo":
            repo = str(tmp_path / "nope")
        elif case == "not-git":
            repo = str(tmp_path)
        elif case == "bad-ref":
            return ["--repo", repo, "--ref", "no-such-branch", "--cluster-dump", str(dump)]
    return ["--repo", repo, "--cluster-dump", str(dump)]


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("malformed-yaml", 2, "bad.yaml:4: invalid YAML"),
        ("not-a-list", 2, "bad.yaml:1: not a Kubernetes List or object"),
        ("item-not-object", 2, "bad.yaml:1: item 0 is not a Kubernetes object"),
        ("empty-dump", 2, "empty cluster dump"),
        ("missing-dump", 2, "cluster dump not found"),
        ("malformed-json", 2, "bad.json:1: "),
        ("missing-repo", 2, "repo not found"),
        ("not-git", 2, "not a git repository"),
        ("bad-ref", 2, "unknown ref 'no-such-branch'"),
    ],
)
def test_bad_input(stored: Scenario, tmp_path: Path, case: str, code: int, message: str) -> None:
    (tmp_path / "inner").mkdir()
    before = stored.db.read_bytes()
    result = run("scan", "--db", stored.db, *_bad_scan(stored, tmp_path / "inner", case))
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("mesh-audit: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert stored.db.read_bytes() == before


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run(
        "scan", "--debug", "--repo", tmp_path / "nope", "--cluster-dump", tmp_path / "x.yaml"
    )
    assert result.exit_code == 2 and "Traceback" in result.stderr


def _case(name: str, args: str, message: str, env: str = "") -> Any:
    """A command line (SCAN: the scenario's scan arguments, DB: its --db) and the start of
    its error line."""
    return pytest.param(args.split(), message, env, id=name)


@pytest.mark.parametrize(
    ("args", "message", "env"),
    [
        _case(
            "findings --rule",
            "findings DB --rule MA999",
            "invalid value for '--rule': unknown rule 'MA999'",
        ),
        _case(
            "scan --lock-timeout",
            "scan SCAN --lock-timeout -1",
            "invalid value for '--lock-timeout': -1.0 is not in the range x>=0",
        ),
        _case(
            "tickets --lock-timeout",
            "tickets DB --out OUT --lock-timeout -1",
            "invalid value for '--lock-timeout': -1.0",
        ),
        _case(
            "retire plan --lock-timeout",
            "retire plan DB --lock-timeout -1",
            "invalid value for '--lock-timeout': -1.0",
        ),
        _case(
            "MESH_AUDIT_LOCK_TIMEOUT",
            "scan SCAN",
            "invalid value for environment variable MESH_AUDIT_LOCK_TIMEOUT: -1.0 is not in",
            env="-1",
        ),
        _case(
            "--base with a cluster",
            "scan SCAN --base HEAD",
            "--base compares two refs of the repo: use it with --no-cluster (see 'mesh-audit scan --help')",
        ),
        _case(
            "-A with -n",
            "scan SCAN -A -n shop",
            "-n/--namespace and -A/--all-namespaces cannot be combined (see 'mesh-audit scan --help')",
        ),
        _case(
            "--severity with --min-severity",
            "findings DB --severity high --min-severity low",
            "--severity and --min-severity cannot be combined (see 'mesh-audit findings --help')",
        ),
        _case(
            "retire plan --rules",
            "retire plan DB --rules MA999",
            "invalid value for --rules: unknown rule 'MA999'",
        ),
        _case(
            "--cluster-dump with --context",
            "scan SCAN --context x",
            "--cluster-dump cannot be combined with --context",
        ),
        _case(
            "unknown format",
            "scan SCAN --format xml",
            "invalid value for '-o' / '--format': 'xml' is not one of 'table'",
        ),
        _case(
            "unknown option",
            "scan SCAN --fial-on low",
            "no such option '--fial-on'. Did you mean '--fail-on'? (see 'mesh-audit scan --help')",
        ),
        _case(
            "unknown option of the program",
            "--bogus scan",
            "no such option '--bogus' (see 'mesh-audit --help')",
        ),
        _case(
            "unknown command",
            "scna SCAN",
            "no such command 'scna'. Did you mean 'scan'? (see 'mesh-audit --help')",
        ),
        _case(
            "unknown retire command",
            "retire plna DB",
            "no such command 'plna'. Did you mean 'plan'? (see 'mesh-audit retire --help')",
        ),
        _case(
            "with --debug",
            "--debug findings DB --rule MA999",
            "invalid value for '--rule': unknown rule 'MA999'",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    stored: Scenario, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str, env: str
) -> None:
    """click's usage errors in the documented format, not its usage, hint and error lines;
    a value from the environment names the variable, not an option nobody typed."""
    if env:
        monkeypatch.setenv("MESH_AUDIT_LOCK_TIMEOUT", env)
    out = stored.db.parent / "tickets"
    parts = {"SCAN": stored.args, "DB": ("--db", stored.db), "OUT": (out,)}
    line = [str(part) for arg in args for part in parts.get(arg, (arg,))]
    before = stored.db.read_bytes()
    result = CliRunner().invoke(cli, line, prog_name="mesh-audit")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"mesh-audit: error: {message}")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Usage:" not in result.output and "Traceback" not in result.output
    assert result.stdout == ""
    assert stored.db.read_bytes() == before
    assert not out.exists()


def test_a_usage_error_of_the_program_is_one_line_as_a_process(tmp_path: Path) -> None:
    """The installed program (not only click's test runner): one line, exit 2."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "--debug",
            "findings",
            "--db",
            tmp_path / "x.db",
            "--rule",
            "MA999",
        ],
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "mesh-audit: error: invalid value for '--rule': unknown rule 'MA999' "
        "(see `mesh-audit rules`)\n"
    )
    assert not (tmp_path / "x.db").exists()


def test_help_is_as_click_shows_it() -> None:
    """Help asked for, or a group without its command, is click's help, not an error line."""
    assert run("scan", "--help").stdout.startswith("Usage: cli scan [OPTIONS]")
    bare = run("retire")
    assert bare.exit_code == 2 and bare.stderr.startswith("Usage: cli retire")
    assert "Commands:" in bare.stderr and "mesh-audit: error" not in bare.stderr


def test_findings_filters(stored: Scenario) -> None:
    def names(*args: str) -> list[tuple[str, str]]:
        out = run("findings", "--db", str(stored.db), "--format", "json", *args)
        assert out.exit_code == 0
        return sorted((f["rule"], f["name"]) for f in json.loads(out.stdout)["findings"])

    assert names("--owner", "sandbox-team") == [("MA101", "hotfix")]
    assert (
        names("--rule", "ownerless")
        == names("--rule", "MA201")
        == [("MA201", "ghost"), ("MA201", "stray")]
    )
    assert names("--status", "resolved") == []
    assert len(names("--status", "all")) == 6
    doc = json.loads(run("findings", "--db", str(stored.db), "--format", "json").stdout)
    assert "resolved_at" in doc["findings"][0]


def test_rules_command_lists_and_explains() -> None:
    listing = run("rules", "--format", "json")
    ids = [r["id"] for r in json.loads(listing.stdout)["rules"]]
    assert ids == [r.id for r in CATALOG]
    assert len(ids) == len(set(ids))
    detail = run("rules", "spec-drift", "--format", "table")
    assert "MA103 spec-drift" in detail.stdout and "max-differences" in detail.stdout
    assert run("rules", "MA999").exit_code == 2


def test_demo_runs_and_shows_each_kind_of_finding(tmp_path: Path) -> None:
    result = run("demo", "--dir", tmp_path / "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rules = {f["rule"] for f in doc["findings"]}
    assert {
        "MA101",
        "MA102",
        "MA103",
        "MA201",
        "MA302",
        "MA303",
        "MA306",
        "MA307",
        "MA401",
    } <= rules
    waived = [f for f in doc["findings"] if f["status"] == "waived"]
    assert [(f["rule"], f["name"], f["evidence"]["waiver"]["ticket"]) for f in waived] == [
        ("MA405", "bookinfo", "MESH-42")
    ]
    assert doc["scan"]["complete"] and doc["scan"]["cluster"] == "demo"
    again = run("demo", "--dir", tmp_path / "demo")
    assert again.exit_code == 2 and "already exists" in again.stderr
    # The summary names the 8 commonest rules and says how many more there are.
    demo = tmp_path / "demo"
    summary = run(
        "scan",
        "--repo",
        demo / "gitops",
        "--cluster-dump",
        demo / "demo.yaml",
        "--db",
        tmp_path / "again.db",
        "--format",
        "table",
    ).stdout
    others = len(rules) - 8
    assert f", and {others} more" in " ".join(summary.split())


def test_the_program_as_a_process(scenario: Scenario) -> None:
    """The console script ends the process itself after a scan (no interpreter
    teardown): the piped JSON must still be whole and the exit code the documented one."""
    cmd = [sys.executable, "-m", "auditor", "scan", *map(str, scenario.args)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert findings_of(json.loads(done.stdout)) == Scenario.EXPECTED
    failing = subprocess.run([*cmd, "--fail-on", "low"], capture_output=True, text=True)
    assert failing.returncode == 1 and json.loads(failing.stdout)["findings"]
    assert failing.stderr == ""
