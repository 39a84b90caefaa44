"""Generate a large GitOps repo and the matching cluster dump for benchmarks.

    python bench/generate.py OUT_DIR [--services 5000] [--commits 1000]

The repo gets one file per service (a VirtualService and a DestinationRule: 10,000
documents for 5,000 services), built through `git fast-import` with dated commits:
batches that add services, hundreds of small edits by different authors, and one mass
commit that bumps every apiVersion. The dump (`-o json` shape) matches the repo except
for 1% drifted, 1% live-only and 1% git-only resources, and holds each service's Service
and two Pods (v1, v2), as a real cluster would.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from pathlib import Path

import yaml

TEAMS = 50
START = 1_700_000_000  # 2023-11-14


def _canary(i: int) -> bool:
    """One service in ten is mid-canary: two weighted subsets; the others route to v1."""
    return i % 10 == 0


def _docs(i: int, api: str, weight: int) -> list[dict]:
    name, ns = f"svc-{i:05d}", f"team-{i % TEAMS:02d}"
    host = f"{name}.{ns}.svc.cluster.local"
    versions = ("v1", "v2") if _canary(i) else ("v1",)
    route = [{"destination": {"host": host, "subset": "v1"}}]
    if _canary(i):
        route = [
            {"destination": {"host": host, "subset": "v1"}, "weight": 100 - weight},
            {"destination": {"host": host, "subset": "v2"}, "weight": weight},
        ]
    vs = {
        "apiVersion": f"networking.istio.io/{api}",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "hosts": [host],
            "http": [
                {
                    "route": route,
                    "timeout": "5s",
                    "retries": {"attempts": 2, "perTryTimeout": "1s"},
                }
            ],
        },
    }
    dr = {
        "apiVersion": f"networking.istio.io/{api}",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "host": host,
            "trafficPolicy": {"connectionPool": {"http": {"maxRetries": 3}}},
            "subsets": [{"name": v, "labels": {"version": v}} for v in versions],
        },
    }
    return [vs, dr]


def blob(docs: list[dict]) -> bytes:
    """Documents as one multi-document YAML file."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return "---\n".join(yaml.dump(d, Dumper=dumper, sort_keys=False) for d in docs).encode()


class History:
    """Dated commits on `main`, written by one `git fast-import`: each commit comes a
    random number of hours (`rng.randint(*hours)`) after the one before."""

    def __init__(self, rng: random.Random, hours: tuple[int, int]) -> None:
        self.rng, self.hours = rng, hours
        self.when, self.mark = START, 0
        self.stream: list[bytes] = []

    def commit(self, message: str, author: str, files: dict[str, bytes]) -> None:
        self.when += 3600 * self.rng.randint(*self.hours)
        self.mark += 1
        msg = message.encode()
        who = f"{author} <{author.lower().replace(' ', '.')}@example.com> {self.when} +0000\n"
        self.stream.append(f"commit refs/heads/main\nmark :{self.mark}\n".encode())
        self.stream.append(b"author " + who.encode() + b"committer " + who.encode())
        self.stream.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        if self.mark > 1:
            self.stream.append(f"from :{self.mark - 1}\n".encode())
        for path, data in files.items():
            self.stream.append(
                f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"
            )

    def write(self, repo: Path) -> None:
        """A new repo at `repo` holding the history, `main` checked out."""
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        subprocess.run(
            ["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(self.stream), check=True
        )
        subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)


def workload(name: str, namespace: str, versions: tuple[str, ...]) -> list[dict]:
    """A service's Service and its Pods (one per version), as a cluster holds them."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": 8080}]},
    }
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-{v}",
                "namespace": namespace,
                "labels": {"app": name, "version": v},
            },
        }
        for v in versions
    ]
    return [service, *pods]


def generate(out: Path, services: int, commits: int) -> None:
    rng = random.Random(42)
    weights = {i: 20 for i in range(services)}
    api = "v1beta1"
    history = History(rng, (1, 30))
    commit = history.commit

    def path(i: int) -> str:
        return f"apps/team-{i % TEAMS:02d}/svc-{i:05d}.yaml"

    owners = "".join(f"/apps/team-{t:02d}/ @acme/team-{t:02d}\n" for t in range(TEAMS)).encode()
    batch = max(1, services // 50)
    for start in range(0, services, batch):
        files = {
            path(i): blob(_docs(i, api, 0)) for i in range(start, min(services, start + batch))
        }
        if start == 0:
            files["CODEOWNERS"] = owners
        commit(f"add services {start}..{start + batch - 1}", "Platform Bot", files)
    authors = [f"Dev {n}" for n in range(40)]
    edits = commits - 50 - 1
    for n in range(edits):
        if n == edits // 2:
            api = "v1"
            commit(
                "bump networking.istio.io to v1",
                "Platform Bot",
                {path(i): blob(_docs(i, api, weights[i])) for i in range(services)},
            )
        touched = rng.sample(range(0, services, 10), 3)
        for i in touched:
            weights[i] = rng.choice([0, 10, 20, 50])
        commit(
            f"canary tweak #{n}",
            rng.choice(authors),
            {path(i): blob(_docs(i, api, weights[i])) for i in touched},
        )
    history.write(out / "gitops")

    items = []
    for i in range(services):
        docs = _docs(i, "v1", weights[i])
        if i % 100 == 1:  # drifted: a hand edit of the timeout
            docs[0]["spec"]["http"][0]["timeout"] = "15s"
        if i % 100 == 2:  # git-only: not applied
            continue
        for d in docs:
            d["metadata"].update(
                uid=f"uid-{i}-{d['kind']}",
                resourceVersion=str(1000 + i),
                generation=1,
                creationTimestamp="2024-01-01T00:00:00Z",
            )
        items.extend(docs)
    for i in range(services, services + services // 100):  # live-only
        items.extend(_docs(i, "v1", 0))
    for i in range(services + services // 100):
        versions = ("v1", "v2") if _canary(i) else ("v1",)
        items += workload(f"svc-{i:05d}", f"team-{i % TEAMS:02d}", versions)
    for t in range(TEAMS):
        items.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{t:02d}"}}
        )
    (out / "cluster.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--commits", type=int, default=1000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=False)
    generate(args.out, args.services, args.commits)


if __name__ == "__main__":
    main()
