"""A small Kubernetes API emulator on 127.0.0.1 for the real `kubernetes` client.

It serves discovery (/apis and each Istio version's resource list), cluster-wide and
namespaced lists of the kinds mesh-audit reads, `limit`/`continue` paging, bearer-token
auth, and chosen faults: error answers (403, 404, 500) per resource, CRDs left out of
discovery, a body trickled a byte at a time, a continue token that never changes, a
redirect to another server. Every request is recorded so tests can check that
mesh-audit only reads.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from local_server import JsonHandler, LocalServer

ISTIO = "networking.istio.io"
TOKEN = "emulator-token-not-a-secret"
_PLURALS = {
    "VirtualService": "virtualservices",
    "DestinationRule": "destinationrules",
    "ServiceEntry": "serviceentries",
    "Gateway": "gateways",
    "Service": "services",
    "Pod": "pods",
    "Namespace": "namespaces",
    "Rollout": "rollouts",
    "Canary": "canaries",
}
# Progressive-delivery CRDs, served when the emulator is given such objects.
CONTROLLERS = {"argoproj.io": ("v1alpha1", "Rollout"), "flagger.app": ("v1beta1", "Canary")}


@dataclass
class Emulator(LocalServer):
    objects: list[dict[str, Any]]
    istio_versions: tuple[str, ...] = ("v1", "v1beta1", "v1alpha3")
    # plural -> HTTP status to answer instead of the list
    failures: dict[str, int] = field(default_factory=dict)
    max_page: int | None = None
    # plurals whose CRD is not installed: absent from discovery, and 404 on list
    not_installed: frozenset[str] = frozenset()
    # plural -> fault: "trickle" (one byte per tick, forever), "same-token" (the same
    # continue token on every page), "not-a-list" (items that are not a list), or a URL
    # to redirect the list to
    faults: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    # Set when a trickled answer has started: the test's synchronization point.
    trickling: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._serve(self._handler())

    def kubeconfig(self, path: Path, context: str = "emulator") -> Path:
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "emu", "cluster": {"server": self.url}}],
                    "users": [{"name": "emu-user", "user": {"token": TOKEN}}],
                    "contexts": [
                        {"name": context, "context": {"cluster": "emu", "user": "emu-user"}}
                    ],
                    "current-context": context,
                }
            )
        )
        return path

    def list_calls(self, plural: str) -> list[dict[str, list[str]]]:
        return [q for _, p, q in self.requests if p.rstrip("/").endswith("/" + plural)]

    # -- serving -------------------------------------------------------------

    def _discovery(self) -> dict[str, Any]:
        groups = []
        if self.istio_versions:
            versions = [{"groupVersion": f"{ISTIO}/{v}", "version": v} for v in self.istio_versions]
            groups.append({"name": ISTIO, "versions": versions, "preferredVersion": versions[0]})
        for group, (version, kind) in CONTROLLERS.items():
            if any(o["kind"] == kind for o in self.objects):
                gv = {"groupVersion": f"{group}/{version}", "version": version}
                groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        groups.append(
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        )
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resources(self, version: str) -> dict[str, Any]:
        resources = [
            {
                "name": p,
                "singularName": k.lower(),
                "namespaced": True,
                "kind": k,
                "verbs": ["get", "list"],
            }
            for k, p in _PLURALS.items()
            if k not in ("Service", "Pod", "Namespace", "Rollout", "Canary")
            and p not in self.not_installed
        ]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{ISTIO}/{version}",
            "resources": resources,
        }

    def _route(self, path: str) -> tuple[str, str | None, str] | None:
        """(plural, namespace, apiVersion) for a list path, None if unknown."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            rest, api_version = parts[2:], "v1"
        elif parts[:2] == ["apis", ISTIO] and len(parts) > 2 and parts[2] in self.istio_versions:
            rest, api_version = parts[3:], f"{ISTIO}/{parts[2]}"
        elif len(parts) > 2 and CONTROLLERS.get(parts[1], ("",))[0] == parts[2]:
            rest, api_version = parts[3:], f"{parts[1]}/{parts[2]}"
        else:
            return None
        if len(rest) == 1:
            return rest[0], None, api_version
        if len(rest) == 3 and rest[0] == "namespaces":
            return rest[2], rest[1], api_version
        return None

    def _items(self, plural: str, namespace: str | None, api_version: str) -> list[dict[str, Any]]:
        items = []
        for obj in self.objects:
            if _PLURALS.get(obj["kind"]) != plural:
                continue
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                continue
            item = json.loads(json.dumps(obj))
            meta = item["metadata"]
            # As the API server does: every object has a uid, and a resourceVersion that
            # any change to the object bumps (here: derived from its content).
            ident = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
            meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, ident)))
            content = json.dumps(obj, sort_keys=True).encode()
            meta.setdefault("resourceVersion", str(zlib.crc32(content)))
            if "/" in api_version:
                item["apiVersion"] = api_version
            else:
                # The real API server leaves kind/apiVersion out of built-in list items.
                item.pop("kind", None)
                item.pop("apiVersion", None)
            items.append(item)
        return items

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(JsonHandler):
            def _status(self, code: int, reason: str, message: str) -> None:
                self._send(
                    code,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "message": message,
                        "reason": reason,
                        "code": code,
                    },
                )

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                emulator.requests.append(("GET", url.path, query))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._status(401, "Unauthorized", "Unauthorized")
                    return
                if url.path.rstrip("/") == "/apis":
                    self._send(200, emulator._discovery())
                    return
                parts = url.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["apis", ISTIO]:
                    if parts[2] in emulator.istio_versions:
                        self._send(200, emulator._resources(parts[2]))
                    else:
                        self._status(
                            404, "NotFound", "the server could not find the requested resource"
                        )
                    return
                route = emulator._route(url.path)
                if route is None:
                    self._status(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                    return
                plural, namespace, api_version = route
                fault = emulator.faults.get(plural, "")
                if plural in emulator.not_installed:
                    self._status(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                    return
                if fault.startswith("http"):
                    self.send_response(302)
                    self.send_header("Location", fault + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault == "trickle":
                    self._trickle()
                    return
                if fault == "not-a-list":
                    self._send(200, {"kind": "List", "apiVersion": api_version, "items": "oops"})
                    return
                failure = emulator.failures.get(plural)
                if failure == 403:
                    self._status(
                        403,
                        "Forbidden",
                        f'{plural} is forbidden: User "system:serviceaccount:mesh:auditor" '
                        f'cannot list resource "{plural}"',
                    )
                    return
                if failure:
                    reason = "NotFound" if failure == 404 else "InternalError"
                    self._status(failure, reason, f"emulated {failure} for {plural}")
                    return
                items = emulator._items(plural, namespace, api_version)
                token = query.get("continue", [""])[0]
                start = int(base64.b64decode(token)) if token and fault != "same-token" else 0
                limit = int(query.get("limit", [0])[0]) or len(items)
                if emulator.max_page:
                    limit = min(limit, emulator.max_page)
                page = items[start : start + limit]
                meta: dict[str, Any] = {"resourceVersion": "1000"}
                if fault == "same-token":
                    meta["continue"] = "c2FtZQ=="
                elif start + limit < len(items):
                    meta["continue"] = base64.b64encode(str(start + limit).encode()).decode()
                kind = "List" if "/" in api_version else f"{plural.title()}List"
                self._send(
                    200, {"kind": kind, "apiVersion": api_version, "metadata": meta, "items": page}
                )

            def _trickle(self) -> None:
                """Headers, then one byte per tick of a body that never ends in time."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                emulator.trickling.set()
                try:
                    for _ in range(10**6):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        if emulator.stopped.wait(0.05):
                            return
                except OSError:
                    return  # the client gave up: what the test wants

            def _refuse(self) -> None:
                emulator.requests.append((self.command, urlparse(self.path).path, {}))
                self._status(405, "MethodNotAllowed", "the emulator is read-only")

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        return Handler
