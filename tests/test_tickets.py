"""Tickets: one per owner per period, idempotent, to files, Jira CSV and GitHub issues."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from conftest import CART_VS, REMOTE_CART_VS, Scenario, dump, live, run, scan_json
from github_emulator import TOKEN, GitHubEmulator


def _scan(s: Scenario) -> dict:
    result, doc = scan_json(*s.args)
    assert result.exit_code == 0, result.output
    return doc


def _tickets(s: Scenario, *args: str | Path) -> tuple[int, dict]:
    result = run("tickets", "--db", s.db, "--period", "2026-11", "--format", "json", *args)
    return result.exit_code, (
        json.loads(result.stdout) if result.stdout.strip() else {"error": result.stderr}
    )


def test_files_and_idempotent_updates(scenario: Scenario, tmp_path: Path) -> None:
    _scan(scenario)
    out = tmp_path / "tickets"
    code, doc = _tickets(scenario, "--out", out, "--default-owner", "mesh-admins")
    assert code == 0
    by_owner = {t["owner"]: t for t in doc["tickets"]}
    # Owner-less findings (ghost, stray) go to the fallback owner, never dropped.
    assert sorted(by_owner) == ["cart-team", "mesh-admins", "sandbox-team"]
    assert len(by_owner["mesh-admins"]["fingerprints"]) == 4
    assert all(t["action"] == "create" for t in doc["tickets"])
    assert sorted(p.name for p in out.iterdir()) == [
        "2026-11-cart-team.md",
        "2026-11-mesh-admins.md",
        "2026-11-sandbox-team.md",
        "jira.csv",
        "tickets.json",
    ]
    body = (out / "2026-11-cart-team.md").read_text()
    assert "<!-- mesh-audit-ticket: 2026-11:cluster:cart-team -->" in body
    assert (
        "MA103 spec-drift" in body and "`apps/shop/routes.yaml:" in body and "Alice Example" in body
    )
    assert "Fix: commit the live change to the repo" in body
    rows = list(csv.DictReader(io.StringIO((out / "jira.csv").read_text())))
    assert [r["Summary"].split(" for ")[1] for r in rows] == [
        "cart-team",
        "mesh-admins",
        "sandbox-team",
    ]
    assert rows[0]["Component"] == "cart-team" and rows[0]["Priority"] == "High"
    # Findings are now ticketed, with the history kept.
    listed = json.loads(
        run("findings", "--db", scenario.db, "--status", "ticketed", "--format", "json").stdout
    )
    assert len(listed["findings"]) == 6
    # Nothing new: a second run tickets nothing.
    assert _tickets(scenario, "--out", out)[1]["tickets"] == []
    # A rescan keeps them ticketed; a new finding for the sandbox team updates its ticket.
    dump(
        scenario.dump,
        [
            *scenario.objects,
            live("VirtualService", "second", "sandbox", {**REMOTE_CART_VS, "hosts": ["s"]}),
        ],
    )
    _scan(scenario)
    code, doc = _tickets(scenario, "--out", out)
    (ticket,) = doc["tickets"]
    assert (ticket["owner"], ticket["action"]) == ("sandbox-team", "update")
    assert len(ticket["fingerprints"]) == 2 and len(ticket["new_fingerprints"]) == 1
    conn = sqlite3.connect(scenario.db)
    keys = conn.execute("SELECT key FROM tickets ORDER BY key").fetchall()
    events = conn.execute(
        "SELECT to_status, note FROM finding_events WHERE to_status = 'ticketed'"
    ).fetchall()
    conn.close()
    assert [k for (k,) in keys] == [
        "2026-11:cluster:cart-team",
        "2026-11:cluster:mesh-admins",
        "2026-11:cluster:sandbox-team",
    ]
    assert len(events) == 7


def test_dry_run_changes_nothing(scenario: Scenario) -> None:
    _scan(scenario)
    before = scenario.db.read_bytes()
    code, doc = _tickets(scenario, "--dry-run")
    assert code == 0 and doc["dry_run"] and len(doc["tickets"]) == 3
    assert scenario.db.read_bytes() == before


def test_github_issues_created_then_updated(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scan(scenario)
    with GitHubEmulator() as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        code, doc = _tickets(scenario, "--github", "acme/mesh")
        assert code == 0, doc
        assert len(gh.issues) == 3
        cart = next(i for i in gh.issues if "cart-team" in i["title"])
        assert {lb["name"] for lb in cart["labels"]} == {
            "mesh-audit",
            "cart-team",
            "cluster-cluster",
        }
        assert doc["tickets"][0]["url"].startswith("https://github.example/acme/mesh/issues/")
        dump(
            scenario.dump,
            [
                *scenario.objects,
                live(
                    "VirtualService",
                    "third",
                    "shop",
                    {**CART_VS, "hosts": ["t"]},
                    labels={"team": "cart-team"},
                ),
            ],
        )
        _scan(scenario)
        code, doc = _tickets(scenario, "--github", "acme/mesh")
        assert code == 0
        # The same issue is updated and commented on, no duplicate opened.
        assert len(gh.issues) == 3
        assert ("PATCH", f"/repos/acme/mesh/issues/{cart['number']}") in gh.requests
        assert "shop/third" in gh.comments[cart["number"]][0]
        assert "shop/third" in cart["body"]


def test_github_issues_are_listed_once_per_run_not_once_per_ticket(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 older labelled issues: two pages for the run, not two for each of its tickets."""
    _scan(scenario)
    with GitHubEmulator() as gh:
        gh.issues += [
            {
                "number": n,
                "title": f"old {n}",
                "body": f"closed long ago {n}",
                "state": "closed",
                "labels": [{"name": "mesh-audit"}],
                "html_url": f"https://github.example/acme/mesh/issues/{n}",
            }
            for n in range(1, 151)
        ]
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        code, doc = _tickets(scenario, "--github", "acme/mesh")
        assert code == 0, doc
        assert len(doc["tickets"]) == 3 and len(gh.issues) == 153
        assert gh.requests.count(("GET", "/repos/acme/mesh/issues")) == 2


def test_github_errors_are_one_line(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    _scan(scenario)
    before = scenario.db.read_bytes()
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = run("tickets", "--db", scenario.db, "--github", "acme/mesh")
    assert result.exit_code == 2 and "GITHUB_TOKEN" in result.stderr
    with GitHubEmulator() as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "wrong")
        result = run("tickets", "--db", scenario.db, "--github", "acme/mesh")
    assert result.exit_code == 3 and "HTTP 401" in result.stderr
    assert scenario.db.read_bytes() == before
    assert run("tickets", "--db", scenario.db).exit_code == 2
    assert run("tickets", "--db", scenario.db, "--period", "2026-13", "--dry-run").exit_code == 2


def _github_failure(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, gh: GitHubEmulator):
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    before = scenario.db.read_bytes()
    result = run("tickets", "--db", scenario.db, "--github", "acme/mesh")
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("mesh-audit: error: ")
    assert TOKEN not in result.output
    assert scenario.db.read_bytes() == before
    return result.stderr


def test_the_token_never_follows_a_redirect_to_another_origin(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scan(scenario)
    with GitHubEmulator() as elsewhere, GitHubEmulator() as gh:
        gh.redirect_to = elsewhere.url
        error = _github_failure(scenario, monkeypatch, gh)
    assert "redirected to another origin" in error
    assert gh.headers[0]["Authorization"] == f"Bearer {TOKEN}"
    # Another port is another origin: nothing at all reached it, the token least of all.
    assert elsewhere.headers == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # An error body is summarized: status and GitHub's message, one line, shortened.
        (
            (
                500,
                "application/json",
                json.dumps({"message": "boom\n" + "x" * 500, "token": TOKEN}).encode(),
            ),
            "HTTP 500: boom " + "x" * 115 + "...",
        ),
        (
            (502, "text/html", b"<html><body>Bad gateway " + TOKEN.encode() + b"</body></html>"),
            "HTTP 502",
        ),
        ((200, "text/html", b"<html>a captive portal</html>"), "HTTP 200 answer is not JSON"),
        ((200, "application/json", b'{"issues": []}'), "the issue list is not a list"),
    ],
)
def test_github_answers_are_summarized_and_checked(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch, reply: tuple, expected: str
) -> None:
    _scan(scenario)
    with GitHubEmulator(script=[reply]) as gh:
        error = _github_failure(scenario, monkeypatch, gh)
    assert expected in error and "<html>" not in error and len(error) < 300


def test_missing_fields_in_a_github_answer(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scan(scenario)
    listing = (200, "application/json", b"[]")
    created = (201, "application/json", b'{"number": 1}')
    with GitHubEmulator(script=[listing, created]) as gh:
        error = _github_failure(scenario, monkeypatch, gh)
    assert "GitHub answer to the new issue has no usable 'html_url'" in error


@pytest.mark.parametrize("where", ["stall", "trickle"])
def test_a_github_that_does_not_answer_times_out(where: str) -> None:
    from auditor.errors import SourceError
    from auditor.workflow.github import GitHub

    release = threading.Event()
    with GitHubEmulator(**{where: release}) as gh:
        client = GitHub("acme/mesh", TOKEN, gh.url, timeout=0.2)
        try:
            with pytest.raises(SourceError, match=r"no complete answer within 0.2s"):
                client.find("marker", "mesh-audit")
        finally:
            release.set()
