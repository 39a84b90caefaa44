"""Ticket bodies a team can act on, as Markdown (GitHub, files) and Jira wiki markup.

Both are rendered from one neutral outline (headings, paragraphs of inline pieces, tables,
lists, code blocks), so the two formats never say different things. Per resource, each
finding has its rule, severity, age and evidence in words, the link to the manifest line,
the command that fixes or retires it, and the annotation that waives it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from auditor import clock
from auditor.model import ISTIO_GROUP, Severity, label
from auditor.pipeline.waivers import ANNOTATION
from auditor.workflow.retire import DEFAULT_RULES as RETIRE_RULES
from auditor.workflow.weblink import blob_url

MARKER = "<!-- mesh-audit-ticket: {key} -->"
LABEL = "mesh-audit"
WAIVE_DAYS = 90
_PRIORITY = {
    Severity.CRITICAL: "Highest",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Lowest",
}

# The outline: a block is (kind, payload); inline pieces are plain strings or
# ("b" | "code", text) or ("link", text, url).
Inline = str | tuple[str, ...]
Block = tuple[str, Any]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "unowned"


def _days(since: str | None, today: date) -> int:
    if not since:
        return 0
    return (today - clock.parse(since).date()).days


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_value(v)}" for k, v in value.items()) or "none"
    return str(value)


def evidence_words(evidence: Mapping[str, Any]) -> str:
    """Evidence as a sentence: `attempts 5, max tries 6, worst case 10s`; drift as
    `spec.x: Git has A, live has B`."""
    parts = []
    for key, value in evidence.items():
        if key == "waiver" or (key.endswith("_s") and key[:-2] in evidence):
            continue
        if key == "differences" and isinstance(value, list):
            parts += [
                f"{d.get('path')}: Git has {_value(d.get('git'))}, live has {_value(d.get('live'))}"
                for d in value
                if isinstance(d, dict)
            ]
            continue
        words = key.removesuffix("_s").replace("_", " ")
        unit = "s" if key.endswith("_s") and isinstance(value, int | float) else ""
        parts.append(f"{words} {_value(value)}{unit}")
    return "; ".join(parts) or "none recorded"


class _Context:
    """A ticket's facts that every resource section needs."""

    def __init__(self, ticket: Any, fixes: Mapping[str, str], today: date) -> None:
        self.ticket = ticket
        self.fixes = fixes
        self.today = today
        self.waive_until = (today + timedelta(days=WAIVE_DAYS)).isoformat()

    def scan(self, cluster: str) -> Mapping[str, Any]:
        return self.ticket.scans.get(cluster, {})

    def link(self, row: dict[str, Any]) -> Inline:
        where = f"{row['source_path']}:{row['source_line']}"
        scan = self.scan(row["cluster"])
        url = blob_url(scan.get("repo"), scan.get("commit"), row["source_path"], row["source_line"])
        return ("link", where, url) if url else ("code", where)

    def kubectl(self, cluster: str, namespace: str) -> str:
        """kubectl for the cluster: with the kubeconfig context of its latest scan, or (a
        dump scan names none; a cluster name is not a context) the reader's current one."""
        context = self.scan(cluster).get("context")
        return f"kubectl {f'--context {context} ' if context else ''}-n {namespace}"


def _findings(ctx: _Context, rows: list[dict[str, Any]]) -> list[Block]:
    """The resource's findings: a table to scan, then each one in words."""
    table = []
    items: list[tuple[int, list[Inline]]] = []
    for r in rows:
        age = _days(r["first_seen"], ctx.today)
        since = "new this period" if ctx.ticket.new_this_period(r) else f"open {age} days"
        where = ctx.link(r) if r["source_path"] else ("code", r["locator"] or "live object")
        table.append([r["severity"], f"{r['rule']} {r['rule_name']}", since, where])
        rule = ("b", f"{r['rule']} {r['rule_name']}")
        items.append((1, [rule, f" ({r['severity']}): {r['message']}"]))
        items.append((2, ["Evidence: ", evidence_words(json.loads(r["evidence"] or "{}")), "."]))
        if ctx.fixes.get(r["rule"]):
            items.append((2, ["Fix: ", ctx.fixes[r["rule"]]]))
    return [("table", (["severity", "rule", "age", "where"], table)), ("ul", items)]


def _to_fix(rows: list[dict[str, Any]], kubectl: str, resource: str) -> list[Block]:
    first, cluster = rows[0], rows[0]["cluster"]
    todo: list[tuple[int, list[Inline]]] = []
    if first["source_path"]:
        at = ", ".join(str(n) for n in sorted({r["source_line"] for r in rows}))
        todo.append((1, ["Edit ", ("code", first["source_path"]), f" (line {at}) and merge."]))
    else:
        delete = ("code", f"{kubectl} delete {resource}")
        todo.append((1, ["Delete it if nobody needs it: ", delete]))
        todo.append((1, ["Or commit it to the GitOps repo so it is managed."]))
    if any(r["rule"] in RETIRE_RULES for r in rows):
        plan = ("code", f"mesh-audit retire plan --cluster {cluster}")
        apply = ("code", f"mesh-audit retire apply --cluster {cluster} --repo PATH-TO-CHECKOUT")
        todo.append((1, ["Or let mesh-audit retire it: ", plan, " then ", apply]))
    return [("p", [("b", "To fix:")]), ("ul", todo)]


def _to_waive(
    ctx: _Context, rows: list[dict[str, Any]], kubectl: str, resource: str
) -> list[Block]:
    """The `mesh-audit.io/waive` value, one line per rule, ready to paste."""
    until = f"expires={ctx.waive_until};ticket={ctx.ticket.key}"
    lines = [f"{r['rule']}=accepted for now, see ticket;{until}" for r in rows]
    accept = [("b", "To waive"), " (accept until the expiry), "]
    if rows[0]["source_path"]:
        value = "\n".join(f"  {line}" for line in lines)
        return [
            ("p", [*accept, "add to the manifest's metadata.annotations:"]),
            ("code", ("yaml", f"{ANNOTATION}: |\n{value}")),
        ]
    value = "\n".join(lines)
    return [
        ("p", [*accept, "annotate the live object:"]),
        ("code", ("sh", f"{kubectl} annotate {resource} {ANNOTATION}='{value}'")),
    ]


def _resource_blocks(ctx: _Context, rows: list[dict[str, Any]]) -> list[Block]:
    first = rows[0]
    kind, ns, name = first["kind"], first["namespace"], first["name"]
    kubectl = ctx.kubectl(first["cluster"], ns)
    resource = f"{kind.lower()}.{ISTIO_GROUP} {name}"
    if first["source_path"]:
        author = f" by {first['source_author']}" if first.get("source_author") else ""
        commit = (first["source_commit"] or "")[:10]
        where = [
            "Manifest: ",
            ("code", first["source_path"]),
            f" (last changed in {commit}{author}).",
        ]
    else:
        where = ["Live only: no manifest in the GitOps repo."]
    return [
        ("h3", label(kind, ns, name)),
        ("p", where),
        *_findings(ctx, rows),
        *_to_fix(rows, kubectl, resource),
        *_to_waive(ctx, rows, kubectl, resource),
    ]


def outline(ticket: Any, fixes: Mapping[str, str], today: date) -> list[Block]:
    """The ticket as blocks: summary, then per cluster, per resource (most severe first)."""
    ctx = _Context(ticket, fixes, today)
    new = sum(ticket.new_this_period(r) for r in ticket.rows)
    oldest = max((_days(r["first_seen"], today) for r in ticket.rows), default=0)
    blocks: list[Block] = [
        ("h1", ticket.title),
        (
            "p",
            [
                "Owner: ",
                ("b", ticket.owner),
                f". Period: {ticket.period}. Cluster(s): ",
                ", ".join(ticket.clusters),
                f". {len(ticket.rows)} active finding(s): {new} new "
                f"this period, {len(ticket.rows) - new} carried over (the oldest open {oldest} "
                "days). mesh-audit updates this ticket on each run; close it when every item "
                "below is fixed or waived.",
            ],
        ),
    ]
    by_cluster: dict[str, dict[tuple[str, str, str], list[dict[str, Any]]]] = {}
    for r in ticket.rows:
        by_cluster.setdefault(r["cluster"], {}).setdefault(
            (r["kind"], r["namespace"], r["name"]), []
        ).append(r)
    for cluster, resources in by_cluster.items():
        blocks.append(("h2", f"Cluster {cluster}"))
        ordered = sorted(
            resources.values(),
            key=lambda rs: (
                -max(Severity(r["severity"]).rank for r in rs),
                rs[0]["kind"],
                rs[0]["namespace"],
                rs[0]["name"],
            ),
        )
        for rows in ordered:
            rows.sort(key=lambda r: (-Severity(r["severity"]).rank, r["rule"], r["locator"]))
            blocks += _resource_blocks(ctx, rows)
    return blocks


def _md_inline(pieces: Sequence[Inline]) -> str:
    out = []
    for p in pieces:
        if isinstance(p, str):
            out.append(p)
        elif p[0] == "b":
            out.append(f"**{p[1]}**")
        elif p[0] == "code":
            out.append(f"`{p[1]}`")
        else:
            out.append(f"[{p[1]}]({p[2]})")
    return "".join(out)


def _md_cell(piece: Inline) -> str:
    """A table cell: a `|` in its text would end the cell."""
    return _md_inline([piece.replace("|", "\\|") if isinstance(piece, str) else piece])


def _jira_escape(text: str) -> str:
    """Escape what Jira would read as markup: brackets and pipes always; the effect marks
    (`*bold*`, `-strike-`, ...) only where they could open or close one, so `team-02`
    stays as it is."""
    return re.sub(r"[{}\[\]|]|(?<!\w)[*_+^~-]|[*_+^~-](?!\w)", lambda m: "\\" + m[0], text)


def _jira_inline(pieces: Sequence[Inline]) -> str:
    out = []
    for p in pieces:
        if isinstance(p, str):
            out.append(_jira_escape(p))
        elif p[0] == "b":
            out.append(f"*{_jira_escape(p[1])}*")
        elif p[0] == "code":
            out.append("{{" + p[1].replace("}", "\\}") + "}}")
        else:
            out.append(f"[{_jira_escape(p[1])}|{p[2]}]")
    return "".join(out)


def _render(blocks: Sequence[Block], inline: Callable[[Sequence[Inline]], str], jira: bool) -> str:
    lines: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            level = int(kind[1])
            text = inline([payload])
            lines += [f"h{level}. {text}" if jira else f"{'#' * level} {text}", ""]
        elif kind == "p":
            lines += [inline(payload), ""]
        elif kind == "ul":
            bullet = (lambda d: "*" * d + " ") if jira else (lambda d: "  " * (d - 1) + "- ")
            lines += [bullet(depth) + inline(item) for depth, item in payload] + [""]
        elif kind == "code":
            lang, text = payload
            fence = ["{noformat}", text, "{noformat}"] if jira else [f"```{lang}", text, "```"]
            lines += [*fence, ""]
        elif kind == "table":
            head, rows = payload
            if jira:
                lines.append("||" + "||".join(head) + "||")
                lines += ["|" + "|".join(inline([v]) for v in row) + "|" for row in rows]
            else:
                lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def markdown(ticket: Any, fixes: Mapping[str, str], today: date) -> str:
    """The ticket body for GitHub issues and files, with the marker that finds it again."""
    return (
        MARKER.format(key=ticket.key)
        + "\n"
        + _render(outline(ticket, fixes, today), _md_inline, False)
    )


def jira_wiki(ticket: Any, fixes: Mapping[str, str], today: date) -> str:
    return _render(outline(ticket, fixes, today), _jira_inline, True)


def priority(ticket: Any) -> str:
    worst = max((Severity(r["severity"]) for r in ticket.rows), key=lambda s: s.rank)
    return _PRIORITY[worst]


def labels(ticket: Any) -> list[str]:
    return [LABEL, slug(ticket.owner), *(f"cluster-{slug(c)}" for c in ticket.clusters)]


def jira_csv(tickets: Sequence[Any], fixes: Mapping[str, str], today: date) -> str:
    """Jira's CSV importer shape: one `Labels` column per label (the header repeated), the
    owner as Component, Priority from the worst severity, the description in Jira wiki
    markup, and the ticket key as External issue ID so a re-import updates the issue."""
    width = max((len(labels(t)) for t in tickets), default=1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Summary",
            "Issue Type",
            "Priority",
            *["Labels"] * width,
            "Component",
            "Description",
            "External issue ID",
        ]
    )
    for t in tickets:
        names = labels(t)
        writer.writerow(
            [
                t.title,
                "Task",
                priority(t),
                *names,
                *[""] * (width - len(names)),
                t.owner,
                jira_wiki(t, fixes, today),
                t.key,
            ]
        )
    return out.getvalue()


def summary(t: Any, bodies: Mapping[str, str]) -> dict[str, Any]:
    return {
        "key": t.key,
        "owner": t.owner,
        "period": t.period,
        "clusters": list(t.clusters),
        "title": t.title,
        "action": "update" if t.existing else "create",
        "priority": priority(t),
        "fingerprints": [r["fingerprint"] for r in t.rows],
        "new_fingerprints": list(t.new),
        "new_this_period": [r["fingerprint"] for r in t.rows if t.new_this_period(r)],
        "labels": labels(t),
        "body": bodies[t.key],
    }
