"""Benchmark `mesh-audit scan`: wall time and peak memory, first scan and repeat scan.

    python bench/run.py [--services 5000] [--commits 1000] [--keep DIR]
    python bench/run.py --apps 200 [--commits 1000]     # Argo CD-shaped repo of kustomize apps

Each scan runs as its own process (imports included), as a user or cron job runs it.
The first scan starts with an empty cache and database; repeat scans change nothing
(the median is reported: these shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate
from generate_apps import generate as generate_apps


def _scan(work: Path, env: dict[str, str], repo: str = "gitops") -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one scan process."""
    cmd = [
        sys.executable,
        "-m",
        "auditor",
        "scan",
        "--repo",
        str(work / repo),
        "--cluster-dump",
        str(work / "cluster.json"),
        "--db",
        str(work / "bench.db"),
        "--format",
        "json",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"scan failed with exit code {proc.returncode}: {errors.strip()}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="Repeat scans to time.")
    parser.add_argument("--keep", type=Path, help="Keep the generated inputs here.")
    parser.add_argument("--apps", type=int, help="Benchmark a repo of this many kustomize apps.")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mesh-audit-bench-"))
    if any(work.iterdir() if work.exists() else ()):
        sys.exit(f"{work} is not empty: the first scan must start without cache or database")
    if args.apps:
        _bench_apps(work, args.apps, args.commits, args.repeats)
        return
    t0 = time.perf_counter()
    generate(work, args.services, args.commits)
    print(
        f"generated {args.services * 2} documents, {args.commits}+ commits in "
        f"{time.perf_counter() - t0:.1f}s under {work}"
    )
    env = _env(work)
    _report("first scan", [_scan(work, env)], "empty cache and database")
    _report("repeat scan", [_scan(work, env) for _ in range(args.repeats)], "nothing changed")
    changed = []
    for n in range(args.repeats):
        _edit_one_live_object(work / "cluster.json", n)
        changed.append(_scan(work, env))
    _report("live change", changed, "one VirtualService edited: every rule runs again")


def _env(work: Path) -> dict[str, str]:
    # A pip install compiles the tool's bytecode once; an inherited PYTHONDONTWRITEBYTECODE
    # (set in some CI images) would charge every timed scan for recompiling it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MESH_AUDIT_CACHE"] = str(work / "cache")
    return env


def _renders_alone(repo: Path, apps: list[Path]) -> float:
    """Wall time of `kubectl kustomize` on every app, on all cores: the floor of a first scan."""
    from concurrent.futures import ThreadPoolExecutor

    def one(app: Path) -> None:
        subprocess.run(
            ["kubectl", "kustomize", str(app)], cwd=repo, capture_output=True, check=True
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, apps))
    return time.perf_counter() - start


def _bench_apps(work: Path, apps: int, commits: int, repeats: int) -> None:
    t0 = time.perf_counter()
    generate_apps(work, apps, 25, commits)
    repo = work / "gitops"
    print(
        f"generated {apps} apps ({apps * 50} rendered objects), {commits}+ commits "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    renders = _renders_alone(repo, sorted((repo / "apps").iterdir()))
    print(
        f"{'renders':12} wall {renders:6.2f} s   "
        f"(kubectl kustomize of every app on {os.cpu_count()} cores)"
    )
    plain_env = _env(work / "plain-run")
    _report(
        "plain scan",
        [_scan(work, plain_env, "plain")],
        "the same rendered objects as plain files, cold",
    )
    env = _env(work)
    _report("first scan", [_scan(work, env)], "empty cache and database: every app rendered")
    _report("repeat scan", [_scan(work, env) for _ in range(repeats)], "nothing changed: no render")
    changed = []
    for n in range(repeats):
        weights = repo / "apps" / f"app-{n:03d}" / "weights.yaml"
        weights.write_text(weights.read_text().replace("timeout: 5s", f"timeout: {6 + n}s"))
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@x",
                "commit",
                "-qam",
                f"app-{n:03d} weight",
            ],
            cwd=repo,
            check=True,
        )
        changed.append(_scan(work, env))
    _report("one-app commit", changed, "a commit touching one app: one render")


def _report(label: str, runs: list[tuple[float, float]], what: str) -> None:
    walls = sorted(w for w, _ in runs)
    spread = f"median of {len(walls)}, max {walls[-1]:.2f} s; " if len(walls) > 1 else ""
    print(
        f"{label:12} wall {statistics.median(walls):6.2f} s   peak RSS "
        f"{max(r for _, r in runs):6.0f} MiB   ({spread}{what})"
    )


def _edit_one_live_object(dump: Path, n: int) -> None:
    """What a hand edit in the cluster looks like in the next dump: a changed object."""
    doc = json.loads(dump.read_text())
    vs = next(o for o in doc["items"] if o["kind"] == "VirtualService")
    vs["metadata"].setdefault("labels", {})["bench-edit"] = str(n)
    vs["metadata"]["resourceVersion"] = str(int(vs["metadata"].get("resourceVersion", 0)) + 1)
    dump.write_text(json.dumps(doc))


if __name__ == "__main__":
    main()
