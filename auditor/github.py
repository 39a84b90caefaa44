"""GitHub issues as a ticket sink, over the REST API (token from GITHUB_TOKEN).

An issue is found again by the marker in its body (the ticket key), among the issues
labelled `mesh-audit`, so a second run updates it instead of opening a duplicate.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from auditor.errors import InputError, SourceError

API = "https://api.github.com"


class GitHub:
    def __init__(self, repo: str, token: str | None = None, api: str | None = None) -> None:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise InputError(f"--github expects OWNER/REPO, got {repo!r}")
        token = token or os.environ.get("GITHUB_TOKEN")
        if not token:
            raise InputError("--github needs a token in the GITHUB_TOKEN environment variable")
        self.repo = repo
        self._token = token
        self._api = (api or os.environ.get("GITHUB_API_URL") or API).rstrip("/")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self._api}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:200]
            raise SourceError(f"GitHub {method} {path}: HTTP {exc.code} {detail}") from None
        except urllib.error.URLError as exc:
            raise SourceError(f"cannot reach GitHub at {self._api}: {exc.reason}") from None

    def find(self, marker: str, label: str) -> dict[str, Any] | None:
        page = 1
        while True:
            issues = self._call(
                "GET",
                f"/repos/{self.repo}/issues?labels={quote(label)}&state=all&per_page=100&page={page}",
            )
            for issue in issues:
                if marker in (issue.get("body") or ""):
                    return issue
            if len(issues) < 100:
                return None
            page += 1

    def upsert(self, marker: str, title: str, body: str, labels: list[str], comment: str) -> str:
        """Create the issue, or update (and reopen) the one carrying the marker; its URL."""
        issue = self.find(marker, labels[0])
        if issue is None:
            created = self._call(
                "POST",
                f"/repos/{self.repo}/issues",
                {"title": title, "body": body, "labels": labels},
            )
            return created["html_url"]
        number = issue["number"]
        self._call(
            "PATCH",
            f"/repos/{self.repo}/issues/{number}",
            {"title": title, "body": body, "state": "open", "labels": labels},
        )
        self._call("POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": comment})
        return issue["html_url"]
