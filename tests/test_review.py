"""The monthly review on two clusters, played through September to November: `findings`
lists what is active, tickets are per owner with every still-active finding grouped by
cluster, and the previous month's HTML report holds up in a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from auditor.workflow.ticketing import Ticket
from auditor.workflow.weblink import blob_url
from conftest import CART_VS, dump, live, run, scan_json
from reports import tickets as ticket_reports
from test_retire import _world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MEASURE = """<script>
const charts = [...document.querySelectorAll("svg.chart")].map(svg => ({
  x: (svg.querySelector(".x-label") || {}).textContent || "",
  y: (svg.querySelector(".y-label") || {}).textContent || "",
  ticks: svg.querySelectorAll(".tick").length,
}));
const out = document.createElement("pre");
out.id = "measure";
out.textContent = JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  charts: charts,
  details: document.querySelectorAll("details").length,
});
document.body.appendChild(out);
</script>"""


# A hand-made canary in staging that retries 10 times: a high-severity finding (MA401).
CANARY = {
    **CART_VS,
    "hosts": ["canary"],
    "http": [{**CART_VS["http"][0], "retries": {"attempts": 10, "perTryTimeout": "100ms"}}],
}


def _fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Scans of prod and staging in September and October; returns (db, out folder)."""
    repo, prod, objects = _world(tmp_path)
    staging = dump(
        tmp_path / "staging.yaml",
        [*objects, live("VirtualService", "canary", "shop", CANARY)],
    )
    db = tmp_path / "audit.db"

    def scan(cluster: str, path: Path) -> None:
        args = ("--repo", repo.path, "--cluster-dump", path, "--cluster-name", cluster)
        result, _ = scan_json(*args, "--db", db)
        assert result.exit_code == 0, result.output

    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-09-03T06:00:00Z")
    scan("prod", prod)
    scan("staging", staging)
    # October: prod's stray is deleted (resolved), staging gets a hand-made hotfix.
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-10-07T06:00:00Z")
    dump(prod, [o for o in objects if o["metadata"]["name"] != "stray"])
    scan("prod", prod)
    dump(
        staging,
        [
            *objects,
            live("VirtualService", "canary", "shop", CANARY),
            live("VirtualService", "hotfix", "shop", {**CART_VS, "hosts": ["hotfix"]}),
        ],
    )
    scan("staging", staging)
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-11-01T06:00:00Z")
    return db, tmp_path / "tickets"


def test_findings_lists_active_with_filters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = _fleet(tmp_path, monkeypatch)

    def listed(*args: str) -> list[dict]:
        return json.loads(run("findings", "--db", db, "--format", "json", *args).stdout)["findings"]

    active = listed()
    assert {f["cluster"] for f in active} == {"prod", "staging"}
    assert all(f["status"] == "open" for f in active)
    # Ticketed findings stay listed: active means open or ticketed.
    assert run("tickets", "--db", db, "--out", out, "--period", "2026-11").exit_code == 0
    after = listed()
    assert len(after) == len(active) and {f["status"] for f in after} == {"ticketed"}
    assert listed("--status", "open") == []
    resolved = listed("--status", "resolved")
    assert [(f["cluster"], f["name"]) for f in resolved] == [("prod", "stray")]
    assert {f["cluster"] for f in listed("--cluster", "staging")} == {"staging"}
    assert {f["name"] for f in listed("--cluster", "staging", "--rule", "MA101")} == {
        "stray",
        "canary",
        "hotfix",
    }
    assert {f["rule"] for f in listed("--rule", "unmanaged", "--rule", "MA102")} == {
        "MA101",
        "MA102",
    }
    assert {f["severity"] for f in listed("--severity", "high")} == {"high"}
    assert {f["severity"] for f in listed("--min-severity", "medium")} == {"medium", "high"}
    both = run("findings", "--db", db, "--severity", "low", "--min-severity", "high")
    assert both.exit_code == 2
    assert {f["kind"] for f in listed("--kind", "DestinationRule")} == {"DestinationRule"}
    # As kubectl takes them: any case, plural, short name.
    for alias in ("destinationrule", "destinationrules", "dr", "DESTINATIONRULE"):
        assert listed("--kind", alias) == listed("--kind", "DestinationRule"), alias
    unknown = run("findings", "--db", db, "--kind", "Sidecar")
    assert unknown.exit_code == 2 and "unknown kind 'Sidecar'" in unknown.stderr
    assert listed("-n", "elsewhere") == []
    bad = run("findings", "--db", db, "--rule", "MA999")
    assert bad.exit_code == 2 and "unknown rule 'MA999'" in bad.stderr


def test_tickets_per_owner_grouped_by_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = _fleet(tmp_path, monkeypatch)
    result = run("tickets", "--db", db, "--out", out, "--period", "2026-11", "--format", "json")
    assert result.exit_code == 0, result.output
    (shop,) = [t for t in json.loads(result.stdout)["tickets"] if t["owner"] == "shop"]
    assert shop["key"] == "2026-11:prod+staging:shop"
    assert shop["clusters"] == ["prod", "staging"] and "[prod, staging]" in shop["title"]
    body = (out / "2026-11-shop.md").read_text()
    assert body.index("## Cluster prod") < body.index("## Cluster staging")
    # Carried over from September, with its age; the October hotfix is not new in November.
    assert "open 59 days" in body and "| new this period |" not in body
    assert "### DestinationRule shop/old-dr" in body
    assert "apps/shop/old.yaml:" in body and "mesh-audit retire plan --cluster prod" in body
    assert (
        "mesh-audit.io/waive: |" in body
        and "expires=2027-01-30;ticket=2026-11:prod+staging:shop" in body
    )
    # Jira: repeated Labels columns, Priority from severity, wiki markup, the key as external ID.
    lines = list(csv.reader(io.StringIO((out / "jira.csv").read_text())))
    header = lines[0]
    assert header[:3] == ["Summary", "Issue Type", "Priority"]
    assert header.count("Labels") == 4 and header[-1] == "External issue ID"
    row = dict(zip(header, lines[1], strict=True))  # the last Labels column wins in a dict
    assert lines[1][3:7] == ["mesh-audit", "shop", "cluster-prod", "cluster-staging"]
    assert row["Priority"] == "High" and row["Component"] == "shop"
    assert row["External issue ID"] == "2026-11:prod+staging:shop"
    assert (
        row["Description"].startswith("h1. ")
        and "||severity||rule||age||where||" in row["Description"]
    )
    assert not re.search(r"\*\*\S|```", row["Description"])  # no Markdown bold or fences
    assert "\n** Evidence: " in row["Description"]  # a nested Jira bullet
    # A ticket for one cluster only is another ticket, named for it.
    one = run(
        "tickets",
        "--db",
        db,
        "--period",
        "2026-11",
        "--cluster",
        "staging",
        "--dry-run",
        "--format",
        "json",
    )
    assert [t["key"] for t in json.loads(one.stdout)["tickets"]] == ["2026-11:staging:shop"]
    # Nothing changed: a second run updates nothing.
    again = run("tickets", "--db", db, "--out", out, "--period", "2026-11", "--format", "json")
    assert json.loads(again.stdout)["tickets"] == []


def test_ticket_links_to_the_manifest_line_on_the_web_host() -> None:
    row = {
        "fingerprint": "f1",
        "rule": "MA401",
        "rule_name": "excessive-retries",
        "severity": "high",
        "cluster": "prod",
        "kind": "VirtualService",
        "namespace": "shop",
        "name": "cart",
        "locator": "spec.http[0].retries",
        "message": "retries 5 times",
        "evidence": json.dumps({"attempts": 5, "worst_case_s": 10.0, "worst_case": "10s"}),
        "first_seen": "2026-11-02T06:00:00Z",
        "source_path": "apps/shop/routes.yaml",
        "source_line": 22,
        "source_commit": "abc",
        "source_author": "Alice",
    }
    scans = {
        "prod": {"repo": "git@github.com:acme/gitops.git", "commit": "c0ffee", "context": "prod-eu"}
    }
    ticket = Ticket(
        "2026-11:prod:shop", "shop", "2026-11", ("prod",), (row,), ("f1",), False, scans=scans
    )
    body = ticket_reports.markdown(ticket, {"MA401": "lower attempts"}, date(2026, 11, 20))
    assert (
        "[apps/shop/routes.yaml:22](https://github.com/acme/gitops/blob/c0ffee/apps/shop/routes.yaml#L22)"
        in body
    )
    assert "Evidence: attempts 5; worst case 10s." in body and "new this period" in body
    wiki = ticket_reports.jira_wiki(ticket, {}, date(2026, 11, 20))
    assert (
        "[apps/shop/routes.yaml:22|https://github.com/acme/gitops/blob/c0ffee/apps/shop/routes.yaml#L22]"
        in wiki
    )
    live_only = {**row, "source_path": None, "source_line": None}
    body = ticket_reports.markdown(
        Ticket("k", "shop", "2026-11", ("prod",), (live_only,), (), False, scans=scans),
        {},
        date(2026, 11, 20),
    )
    assert (
        "kubectl --context prod-eu -n shop delete virtualservice.networking.istio.io cart" in body
    )
    # A dump scan names no context, and a cluster name is not one: the reader's current.
    dumped = {"prod": {**scans["prod"], "context": None}}
    body = ticket_reports.markdown(
        Ticket("k", "shop", "2026-11", ("prod",), (live_only,), (), False, scans=dumped),
        {},
        date(2026, 11, 20),
    )
    assert "kubectl -n shop delete virtualservice.networking.istio.io cart" in body
    assert "--context" not in body
    assert (
        blob_url("https://gitlab.com/g/sub/r.git", "c1", "a b.yaml", 3)
        == "https://gitlab.com/g/sub/r/-/blob/c1/a%20b.yaml#L3"
    )
    assert (
        blob_url("https://bitbucket.org/t/r", "c1", "x.yaml", 3)
        == "https://bitbucket.org/t/r/src/c1/x.yaml#lines-3"
    )
    assert blob_url("/srv/gitops", "c1", "x.yaml", 3) is None


def test_previous_month_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = _fleet(tmp_path, monkeypatch)
    doc = json.loads(
        run("report", "monthly", "--db", db, "--month", "previous", "--format", "json").stdout
    )
    assert doc["month"] == "2026-10" and doc["clusters"] == ["prod", "staging"]
    assert set(doc["sections"]) == {"prod", "staging"}
    assert doc["sections"]["prod"]["totals"]["resolved"] == 1
    assert doc["sections"]["staging"]["totals"]["new"] == 1  # the hotfix (MA101)
    assert doc["totals"]["open"] == sum(s["totals"]["open"] for s in doc["sections"].values())
    assert [p["month"] for p in doc["trend_by_severity"]] == ["2026-09", "2026-10"]
    assert doc["flow"][1] == {"month": "2026-10", "new": 1, "resolved": 1}
    # One found (the hotfix), one resolved (the stray): no change for the shop team.
    assert doc["teams"][0]["owner"] == "shop" and doc["teams"][0]["change"] == 0
    assert doc["median_days_to_resolve"] == 34.0
    only = json.loads(
        run(
            "report",
            "monthly",
            "--db",
            db,
            "--month",
            "2026-10",
            "--cluster",
            "prod",
            "--format",
            "json",
        ).stdout
    )
    assert only["clusters"] == ["prod"] and only["totals"]["new"] == 0
    markdown = run("report", "monthly", "--db", db, "--month", "previous").stdout
    assert "## Cluster prod" in markdown and "## Cluster staging" in markdown
    bad = run("report", "monthly", "--db", db, "--month", "last")
    assert bad.exit_code == 2


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_html_report_in_headless_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = _fleet(tmp_path, monkeypatch)
    html = run("report", "monthly", "--db", db, "--format", "html").stdout
    assert "<script" not in html and not re.search(
        r"""(src|href)=["']?(https?:)?//""", html.split("<main>")[0]
    )
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"))
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1280,900",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    measured = json.loads(
        re.search(r'<pre id="measure">(.*?)</pre>', dom, re.S)[1].replace("&quot;", '"')
    )
    assert measured["scrollWidth"] <= 1280
    assert len(measured["charts"]) == 2
    for chart in measured["charts"]:
        assert chart["x"] == "Month" and chart["y"] in ("Active findings", "Findings")
        assert chart["ticks"] >= 4
    assert measured["details"] >= 3
