"""GitHub issues as a ticket sink, over the REST API (token from GITHUB_TOKEN).

An issue is found again by the marker in its body (the ticket key), among the issues
labelled `mesh-audit` (listed once per run), so a second run updates it instead of
opening a duplicate.

The token goes only to the API's own origin: a redirect elsewhere is refused before
anything is sent. Answers are bounded in time and size, and an error is summarized
(status and GitHub's `message`, shortened), never echoed.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from auditor.errors import InputError, SourceError

API = "https://api.github.com"
# Seconds for one whole request (connect, answer and body), and the largest body read.
TIMEOUT = 30.0
_MAX_BODY = 16 * 1024 * 1024
_MAX_MESSAGE = 120


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class _OwnOriginSession(requests.Session):
    """Follows redirects only within the origin the request went to."""

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        target = _origin(prepared_request.url)
        if target != _origin(response.request.url):
            scheme, host, port = target
            raise SourceError(
                f"GitHub API redirected to another origin ({scheme}://{host}:{port}); "
                "refused, the token is only sent to the API itself"
            )
        super().rebuild_auth(prepared_request, response)


def _summary(answer: Any) -> str:
    """GitHub's one-line `message` from an error answer, printable and short."""
    message = answer.get("message") if isinstance(answer, dict) else None
    if not isinstance(message, str):
        return ""
    text = " ".join("".join(c if c.isprintable() else " " for c in message).split())
    return f": {text[:_MAX_MESSAGE]}{'...' if len(text) > _MAX_MESSAGE else ''}"


def _field(obj: Any, key: str, kind: type, what: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SourceError(f"GitHub answer to {what} has no usable {key!r}")
    return value


class GitHub:
    def __init__(
        self,
        repo: str,
        token: str | None = None,
        api: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise InputError(f"--github expects OWNER/REPO, got {repo!r}")
        token = token or os.environ.get("GITHUB_TOKEN")
        if not token:
            raise InputError("--github needs a token in the GITHUB_TOKEN environment variable")
        self.repo = repo
        self._api = (api or os.environ.get("GITHUB_API_URL") or API).rstrip("/")
        if _origin(self._api)[0] not in ("http", "https"):
            raise InputError(f"GITHUB_API_URL must be an http(s) URL, got {self._api!r}")
        self._timeout = timeout
        self._listed: dict[str, list[Any]] = {}
        self._session = _OwnOriginSession()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            }
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        what = f"{method} {path.split('?')[0]}"
        deadline = time.monotonic() + self._timeout
        try:
            with self._session.request(
                method, f"{self._api}{path}", json=body, timeout=self._timeout, stream=True
            ) as response:
                data = bytearray()
                # read1 returns what has arrived, so a server trickling bytes meets the deadline.
                while block := response.raw.read1(65536, decode_content=True):
                    data += block
                    if time.monotonic() > deadline:
                        raise requests.Timeout
                    if len(data) > _MAX_BODY:
                        raise SourceError(f"GitHub {what}: answer larger than {_MAX_BODY} bytes")
                status = response.status_code
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise SourceError(
                f"GitHub {what}: no complete answer within {self._timeout:g}s"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            reason = type(exc).__name__
            raise SourceError(f"cannot reach GitHub at {self._api}: {reason}") from None
        try:
            answer = json.loads(data) if data.strip() else None
        except ValueError:
            problem = "" if status >= 400 else " answer is not JSON"
            raise SourceError(f"GitHub {what}: HTTP {status}{problem}") from None
        if status >= 400:
            raise SourceError(f"GitHub {what}: HTTP {status}{_summary(answer)}")
        return answer

    def _labelled(self, label: str) -> list[Any]:
        """Every issue carrying the label, listed once per run: a page per 100 issues."""
        if label not in self._listed:
            issues: list[Any] = []
            page = 1
            while True:
                found = self._call(
                    "GET",
                    f"/repos/{self.repo}/issues?labels={quote(label)}"
                    f"&state=all&per_page=100&page={page}",
                )
                if not isinstance(found, list):
                    raise SourceError("GitHub answer to the issue list is not a list")
                issues += found
                if len(found) < 100:
                    break
                page += 1
            self._listed[label] = issues
        return self._listed[label]

    def find(self, marker: str, label: str) -> dict[str, Any] | None:
        """The issue with the label whose body carries the marker."""
        for issue in self._labelled(label):
            body = issue.get("body") if isinstance(issue, dict) else None
            if isinstance(body, str) and marker in body:
                return issue
        return None

    def upsert(self, marker: str, title: str, body: str, labels: list[str], comment: str) -> str:
        """Create the issue, or update (and reopen) the one carrying the marker; its URL."""
        issue = self.find(marker, labels[0])
        if issue is None:
            created = self._call(
                "POST",
                f"/repos/{self.repo}/issues",
                {"title": title, "body": body, "labels": labels},
            )
            url = str(_field(created, "html_url", str, "the new issue"))
            self._labelled(labels[0]).append({**created, "body": body})
            return url
        number = _field(issue, "number", int, "the issue list")
        url = _field(issue, "html_url", str, "the issue list")
        self._call(
            "PATCH",
            f"/repos/{self.repo}/issues/{number}",
            {"title": title, "body": body, "state": "open", "labels": labels},
        )
        self._call("POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": comment})
        return str(url)
