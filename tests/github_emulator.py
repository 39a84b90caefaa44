"""A local stand-in for the GitHub issues REST API, over real HTTP on 127.0.0.1.

Speaks the endpoints mesh-audit uses: list issues by label, create, update, comment.
Records every request's headers; can redirect every request to another server
(`redirect_to`), answer from a script of raw replies (`script`), or hold the answer
until the test releases it (`stall`, or `trickle` after the first byte).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from local_server import JsonHandler, LocalServer

TOKEN = "gh-test-token"


@dataclass
class GitHubEmulator(LocalServer):
    repo: str = "acme/mesh"
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    redirect_to: str | None = None
    # Raw replies (status, content type, body bytes) given in order instead of the API's.
    script: list[tuple[int, str, bytes]] = field(default_factory=list)
    stall: threading.Event | None = None
    # Send the status, headers and one byte of the body, then hold the rest until set.
    trickle: threading.Event | None = None

    def __post_init__(self) -> None:
        self._serve(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gh = self
        base = f"/repos/{gh.repo}/issues"

        class Handler(JsonHandler):
            def _body(self) -> dict[str, Any]:
                return json.loads(
                    self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"
                )

            def _raw(self, status: int, kind: str, data: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _route(self) -> tuple[str, dict[str, list[str]]] | None:
                url = urlparse(self.path)
                gh.requests.append((self.command, url.path))
                gh.headers.append(dict(self.headers))
                if gh.stall is not None:
                    gh.stall.wait()
                if gh.trickle is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b"[")
                    self.wfile.flush()
                    gh.trickle.wait()
                    return None
                if gh.redirect_to is not None or gh.script:
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if gh.redirect_to is not None:
                    self._raw(307, "text/plain", b"", Location=gh.redirect_to + self.path)
                    return None
                if gh.script:
                    self._raw(*gh.script.pop(0))
                    return None
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"message": "Bad credentials"})
                    return None
                return url.path, parse_qs(url.query)

            def do_GET(self) -> None:
                route = self._route()
                if route is None:
                    return
                path, query = route
                label = query.get("labels", [""])[0]
                page = int(query.get("page", ["1"])[0])
                found = [i for i in gh.issues if label in [lb["name"] for lb in i["labels"]]]
                self._send(200, found[(page - 1) * 100 : page * 100] if path == base else [])

            def do_POST(self) -> None:
                route = self._route()
                if route is None:
                    return
                path, _ = route
                body = self._body()
                if path == base:
                    number = len(gh.issues) + 1
                    issue = {
                        "number": number,
                        "title": body["title"],
                        "body": body["body"],
                        "state": "open",
                        "labels": [{"name": n} for n in body.get("labels", [])],
                        "html_url": f"https://github.example/{gh.repo}/issues/{number}",
                    }
                    gh.issues.append(issue)
                    self._send(201, issue)
                else:
                    number = int(path.split("/")[-2])
                    gh.comments.setdefault(number, []).append(body["body"])
                    self._send(201, {"id": len(gh.comments[number])})

            def do_PATCH(self) -> None:
                route = self._route()
                if route is None:
                    return
                path, _ = route
                issue = gh.issues[int(path.rsplit("/", 1)[1]) - 1]
                body = self._body()
                issue.update({k: v for k, v in body.items() if k != "labels"})
                issue["labels"] = [{"name": n} for n in body.get("labels", [])]
                self._send(200, issue)

        return Handler
