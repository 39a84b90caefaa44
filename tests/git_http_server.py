"""`git http-backend` behind HTTP basic auth on 127.0.0.1: a private Git host for tests.

Each request runs the real `git http-backend` CGI program; a request without the right
user and password (or `?access_token=`) gets 401, as GitHub or GitLab would answer.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlparse

from local_server import LocalServer


@dataclass
class GitHttpServer(LocalServer):
    root: Path
    user: str
    password: str
    token: str = ""
    # (path, query, authorization header sent) of every request
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._serve(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _authorized(self, query: str) -> bool:
                expected = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
                if self.headers.get("Authorization") == f"Basic {expected}":
                    return True
                return bool(server.token) and f"access_token={server.token}" in query.split("&")

            def _backend(self) -> None:
                url = urlparse(self.path)
                server.requests.append((url.path, url.query, self.headers.get("Authorization", "")))
                if not self._authorized(url.query):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                env = {
                    "PATH": os.environ["PATH"],
                    "GIT_PROJECT_ROOT": str(server.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": url.path,
                    "QUERY_STRING": url.query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(length),
                    "REMOTE_USER": server.user,
                    "REMOTE_ADDR": "127.0.0.1",
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_CONFIG_GLOBAL": os.devnull,
                    "GIT_CONFIG_NOSYSTEM": "1",
                }
                body = self.rfile.read(length) if length else b""
                out = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
                ).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
                status = next((int(v.split()[0]) for k, v in headers if k == "Status"), 200)
                self.send_response(status)
                for key, value in headers:
                    if key != "Status":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _backend

        return Handler
