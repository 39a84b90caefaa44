"""A local stand-in for the GitHub issues REST API, over real HTTP on 127.0.0.1.

Speaks the endpoints mesh-audit uses: list issues by label, create, update, comment.
"""

from __future__ import annotations

import json
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

            def _route(self) -> tuple[str, dict[str, list[str]]] | None:
                url = urlparse(self.path)
                gh.requests.append((self.command, url.path))
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
