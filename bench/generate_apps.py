"""Generate an Argo CD-shaped GitOps repo of kustomize apps, and the matching cluster dump.

    python bench/generate_apps.py OUT_DIR [--apps 200] [--services 25] [--commits 1000]

`base/` holds SERVICES VirtualServices and DestinationRules (svc-00 with a canary leg);
each of APPS overlays under `apps/` puts them in its own namespace with a name prefix and
patches the canary's weights; CODEOWNERS gives each overlay to one of 20 teams; an
ApplicationSet (git directory generator over `apps/*`) makes each overlay an Argo CD app.
History: the base and overlays added in batches, one commit per weight change (each
touching one app), one mass commit relabelling every overlay. The dump holds what Argo
CD would have applied (the render, 1% drifted), plus each app's Services and Pods.
`plain/` is a second repo holding the same rendered objects as plain files, to time the
scan of the same objects without rendering.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from pathlib import Path

import yaml
from generate import History, blob, workload

APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps, namespace: argocd}
spec:
  goTemplate: true
  generators:
  - git:
      repoURL: https://git.example.com/acme/gitops.git
      revision: HEAD
      directories: [{path: apps/*}]
  template:
    metadata: {name: '{{.path.basename}}'}
    spec:
      project: default
      source: {repoURL: https://git.example.com/acme/gitops.git, path: '{{.path.path}}'}
      destination: {server: https://kubernetes.default.svc, namespace: '{{.path.basename}}'}
"""


def _route(name: str, host: str, weight: int) -> list[dict]:
    return [
        {"destination": {"host": host, "subset": "v1"}, "weight": 100 - weight},
        {"destination": {"host": host, "subset": "v2"}, "weight": weight},
    ]


def _base(services: int) -> list[dict]:
    docs = []
    for s in range(services):
        name = f"svc-{s:02d}"
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": {"name": name},
                "spec": {
                    "hosts": [name],
                    "http": [
                        {
                            "route": _route(name, name, 0)
                            if s == 0
                            else [{"destination": {"host": name, "subset": "v1"}}],
                            "timeout": "5s",
                        }
                    ],
                },
            }
        )
        docs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": {"name": name},
                "spec": {
                    "host": name,
                    "trafficPolicy": {"connectionPool": {"http": {"maxRetries": 3}}},
                    "subsets": [
                        {"name": v, "labels": {"version": v}}
                        for v in (("v1", "v2") if s == 0 else ("v1",))
                    ],
                },
            }
        )
    return docs


def _overlay(app: str, weight: int, label: str) -> dict[str, bytes]:
    kust = {
        "namespace": app,
        "namePrefix": f"{app}-",
        "labels": [{"pairs": {"tier": label}}],
        "resources": ["../../base"],
        "patches": [{"path": "weights.yaml"}],
    }
    patch = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "svc-00"},
        "spec": {"http": [{"route": _route("svc-00", "svc-00", weight), "timeout": "5s"}]},
    }
    return {
        f"apps/{app}/kustomization.yaml": yaml.safe_dump(kust).encode(),
        f"apps/{app}/weights.yaml": yaml.safe_dump(patch).encode(),
    }


def _rendered(app: str, base: list[dict], weight: int, label: str) -> list[dict]:
    """What `kustomize build apps/<app>` yields (namespace, prefix, label, patch)."""
    out = json.loads(json.dumps(base))
    for doc in out:
        doc["metadata"].update(
            name=f"{app}-{doc['metadata']['name']}", namespace=app, labels={"tier": label}
        )
    out[0]["spec"]["http"][0]["route"] = _route("svc-00", "svc-00", weight)
    return out


def generate(out: Path, apps: int, services: int, commits: int) -> None:
    rng = random.Random(7)
    names = [f"app-{a:03d}" for a in range(apps)]
    weights = dict.fromkeys(names, 0)
    label = "web"
    base = _base(services)
    history = History(rng, (1, 20))
    commit = history.commit

    commit(
        "base and ApplicationSet",
        "Platform Bot",
        {
            "base/kustomization.yaml": b"resources: [routes.yaml]\n",
            "base/routes.yaml": blob(base),
            "argocd/apps.yaml": APPSET.encode(),
            "CODEOWNERS": (
                "/base/ @acme/platform\n"
                + "".join(f"/apps/{app}/ @acme/team-{n % 20:02d}\n" for n, app in enumerate(names))
            ).encode(),
        },
    )
    for start in range(0, apps, 20):
        files: dict[str, bytes] = {}
        for app in names[start : start + 20]:
            files.update(_overlay(app, 0, label))
        commit(f"add apps {start}..{start + 19}", "Platform Bot", files)
    edits = commits - 1 - (apps + 19) // 20 - 1
    for n in range(edits):
        if n == edits // 2:
            label = "frontend"
            files = {}
            for app in names:
                files.update(_overlay(app, weights[app], label))
            commit("relabel every app", "Platform Bot", files)
        app = rng.choice(names)
        weights[app] = rng.choice([0, 10, 20, 50])
        commit(
            f"{app}: canary weight {weights[app]}",
            f"Dev {rng.randrange(30)}",
            _overlay(app, weights[app], label),
        )
    history.write(out / "gitops")

    items, rendered = [], {}
    for n, app in enumerate(names):
        docs = _rendered(app, base, weights[app], label)
        rendered[app] = json.loads(json.dumps(docs))
        for i, doc in enumerate(docs):
            if (n * len(docs) + i) % 100 == 1:  # drifted: a hand edit
                doc["spec"].setdefault("trafficPolicy", {})["loadBalancer"] = {"simple": "RANDOM"}
            doc["metadata"].update(uid=f"{app}-{i}", resourceVersion=str(1000 + i))
            items.append(doc)
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}})
        for s in range(services):
            items += workload(f"svc-{s:02d}", app, ("v1", "v2"))
    (out / "cluster.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    plain = out / "plain"
    subprocess.run(["git", "init", "-q", "-b", "main", str(plain)], check=True)
    for app, docs in rendered.items():
        (plain / f"{app}.yaml").write_bytes(blob(docs))
    subprocess.run(["git", "add", "."], cwd=plain, check=True)
    subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "rendered"],
        cwd=plain,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--services", type=int, default=25)
    parser.add_argument("--commits", type=int, default=1000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=False)
    generate(args.out, args.apps, args.services, args.commits)


if __name__ == "__main__":
    main()
