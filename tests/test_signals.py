"""Interrupts, with real processes: Ctrl-C on the process group and SIGTERM print one
line and leave no worker or git child behind; a closed stdout is exit 141, not 1, in
every format.

Signals are sent at a synchronization point, never after a sleep: the parse work is all
submitted to the workers, which wait at a gate the test opens only once the signal is sent.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import GitRepo, Scenario, manifest

BIN = Path(sys.executable).with_name("mesh-audit")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MESH_AUDIT_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}


def _group(pgid: int) -> list[int]:
    """Processes still in the process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _workers(pid: int) -> list[int]:
    """Python child processes of pid (forked by any of its threads)."""
    found = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in tasks.read_text().split() if tasks.exists() else ():
            try:
                if b"python" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                continue
    return found


def _until(predicate, what: str, bound: float = 30.0) -> None:
    """Poll a condition (a synchronization point), failing after `bound` seconds."""
    end = time.monotonic() + bound
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def big_repo(tmp_path: Path) -> GitRepo:
    """Enough files that the first scan parses them in worker processes (the gate, not
    their size, keeps the parse under way while the signal arrives)."""
    repo = GitRepo(tmp_path / "big")
    doc = manifest("VirtualService", "vs", {"hosts": ["h"]}, "default")
    for n in range(450):
        (repo.path / f"f{n}.yaml").write_text(f"# file {n}\n{doc}")  # one blob each
    repo.git("add", ".")
    repo.git("commit", "-qm", "many")
    return repo


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="parse workers need two cores")
@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_during_a_parallel_parse_is_one_line_and_leaves_nothing(
    big_repo: GitRepo, tmp_path: Path, sig: int, code: int, word: str
) -> None:
    dump = tmp_path / "d.yaml"
    dump.write_text("apiVersion: v1\nkind: List\nitems: []\n")
    # The workers wait at this FIFO before parsing: the parse cannot end before the signal.
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    proc = subprocess.Popen(
        [
            BIN,
            "scan",
            "--repo",
            big_repo.path,
            "--cluster-dump",
            dump,
            "--db",
            tmp_path / "db",
            "--format",
            "json",
        ],
        env={**_env(tmp_path), "MESH_AUDIT_TEST_PARSE_GATE": str(gate)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    submitted = tmp_path / "gate.submitted"
    _until(lambda: submitted.exists() or proc.poll() is not None, "the parse to be submitted")
    assert proc.poll() is None, proc.communicate()
    assert len(_workers(proc.pid)) >= 2
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # what the terminal does on Ctrl-C
    else:
        proc.send_signal(sig)  # what a CronJob's deadline or `kill` does
    opened = os.open(gate, os.O_RDWR)  # a writer (never blocks): the workers go on
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(opened)
    assert proc.returncode == code, err
    assert err == f"mesh-audit: error: {word}; the database was left as it was\n"
    assert out == ""
    _until(lambda: not _group(proc.pid), "the process group to be empty", bound=10)
    assert not (tmp_path / "db").exists()


def _closed_stdout(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run mesh-audit with stdout a pipe whose reader is gone before anything is written,
    as after `| head -1` (deterministic: no race with the pipe's buffer)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [BIN, *args], env=_env(tmp_path), stdout=write, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write)


def _scans(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        count: int = conn.execute("SELECT count(*) FROM scans").fetchone()[0]
        return count


@pytest.mark.parametrize("fmt", ["json", "table", "wide"])
def test_a_closed_stdout_is_141_not_findings(scenario: Scenario, tmp_path: Path, fmt: str) -> None:
    """The table formats too: rich would end the process with 1, which means findings."""
    args = ["scan", *map(str, scenario.args), "--format", fmt, "--fail-on", "low"]
    proc = _closed_stdout(args, tmp_path)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
    assert _scans(scenario.db) == 1  # the scan itself was stored


@pytest.mark.parametrize(
    "args",
    [
        ["findings", "--format", "table"],
        ["findings", "--format", "wide"],
        ["findings", "--format", "json"],
        ["--debug", "findings", "--format", "table"],
    ],
)
def test_a_closed_stdout_is_141_when_listing_findings(
    scenario: Scenario, tmp_path: Path, args: list[str]
) -> None:
    assert (
        subprocess.run([BIN, "scan", *map(str, scenario.args)], env=_env(tmp_path)).returncode == 0
    )
    before = scenario.db.read_bytes()
    proc = _closed_stdout([*args, "--db", str(scenario.db)], tmp_path)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
    assert scenario.db.read_bytes() == before


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["scan", "--help"], ["rules", "--format", "table"]]
)
def test_a_closed_stdout_is_141_for_help_and_listings(tmp_path: Path, args: list[str]) -> None:
    """`--help` and `--version` of the program itself are parsed before any command runs."""
    proc = _closed_stdout(args, tmp_path)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_a_repo_owned_by_another_user_says_so(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repo another owner")
    repo = GitRepo(tmp_path / "theirs")
    repo.commit({"a.yaml": manifest("VirtualService", "x", {"hosts": ["x"]}, "default")})
    for path in [repo.path, *repo.path.rglob("*")]:
        os.chown(path, 4242, 4242, follow_symlinks=False)
    dump = tmp_path / "d.yaml"
    dump.write_text("apiVersion: v1\nkind: List\nitems: []\n")
    env = {**_env(tmp_path), "GIT_CONFIG_GLOBAL": os.devnull}
    proc = subprocess.run(
        [BIN, "scan", "--repo", repo.path, "--cluster-dump", dump, "--db", tmp_path / "db"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"mesh-audit: error: git refuses to read {repo.path}: it is owned by another user (dubious ownership)"
    )
    assert len(proc.stderr.splitlines()) == 1
