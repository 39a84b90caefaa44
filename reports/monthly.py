"""The monthly report as Markdown or one self-contained HTML file (inline SVG, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

COLUMNS = ("new", "resolved", "retired", "open", "waived")


def _table_md(title: str, rows: dict[str, dict[str, int]]) -> list[str]:
    lines = [
        f"## {title}",
        "",
        f"| {title.split()[-1]} | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    lines += [f"| {k} | " + " | ".join(str(v[c]) for c in COLUMNS) + " |" for k, v in rows.items()]
    return [*lines, ""]


def markdown(r: Any) -> str:
    t = r.totals
    mttr = f"{r.mean_days_to_resolve} days" if r.mean_days_to_resolve is not None else "n/a"
    lines = [
        f"# mesh-audit monthly report {r.month}",
        "",
        f"New {t['new']}, resolved {t['resolved']}, retired {t['retired']}; "
        f"still open at month end {t['open']} (waived {t['waived']}). "
        f"Mean time to resolve: {mttr}.",
        "",
        "## Open findings by month",
        "",
        "| month | open |",
        "|---|---|",
        *[f"| {p['month']} | {p['open']} |" for p in r.trend],
        "",
        *_table_md("By owner", r.by_owner),
        *_table_md("By rule", r.by_rule),
        "## Oldest open findings",
        "",
        "| age (days) | rule | severity | resource | owner |",
        "|---|---|---|---|---|",
        *[
            f"| {o['age_days']} | {o['rule']} | {o['severity']} | {o['resource']} "
            f"| {o['owner'] or ''} |"
            for o in r.oldest_open
        ],
    ]
    return "\n".join(lines) + "\n"


def _chart(trend: list[dict[str, Any]]) -> str:
    """A line chart of open findings per month, as inline SVG."""
    width, height, pad = 640, 220, 40
    if not trend:
        return "<p>No scans yet.</p>"
    top = max(p["open"] for p in trend) or 1
    step = (width - 2 * pad) / max(len(trend) - 1, 1)
    points = [
        (pad + i * step, height - pad - (p["open"] / top) * (height - 2 * pad))
        for i, p in enumerate(trend)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    labels = "".join(
        f'<text x="{x:.1f}" y="{height - pad + 16}" font-size="11" text-anchor="middle">'
        f"{escape(p['month'])}</text>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>'
        f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="11" '
        f'text-anchor="middle">{p["open"]}</text>'
        for (x, y), p in zip(points, trend, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="open findings per month">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        f'stroke="#999"/>'
        f'<polyline fill="none" stroke="#c0392b" stroke-width="2" points="{path}"/>{labels}</svg>'
    )


def _table_html(title: str, rows: dict[str, dict[str, int]]) -> str:
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = "".join(
        f"<tr><td>{escape(k)}</td>" + "".join(f"<td>{v[c]}</td>" for c in COLUMNS) + "</tr>"
        for k, v in rows.items()
    )
    return f"<h2>{escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"


def _findings_html(items: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{o['age_days']}</td><td>{escape(o['rule'])}</td><td>{escape(o['severity'])}</td>"
        f"<td>{escape(o['resource'])}</td><td>{escape(o['owner'] or '')}</td>"
        f"<td>{escape(o['message'])}</td></tr>"
        for o in items
    )
    head = "<tr><th>age (days)</th><th>rule</th><th>severity</th><th>resource</th><th>owner</th>"
    return f"<table>{head}<th>message</th></tr>{rows}</table>"


def html(r: Any) -> str:
    t = r.totals
    mttr = f"{r.mean_days_to_resolve} days" if r.mean_days_to_resolve is not None else "n/a"
    oldest = _findings_html(r.oldest_open)
    owners = "".join(
        f"<h3>{escape(owner)} ({len(items)} open)</h3>{_findings_html(items)}"
        for owner, items in r.open_by_owner.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mesh-audit {escape(r.month)}</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style>
</head><body>
<h1>mesh-audit monthly report {escape(r.month)}</h1>
<p>New {t["new"]}, resolved {t["resolved"]}, retired {t["retired"]}; still open at month end
{t["open"]} (waived {t["waived"]}). Mean time to resolve: {mttr}.</p>
<h2>Open findings by month</h2>
{_chart(r.trend)}
{_table_html("By owner", r.by_owner)}
{_table_html("By rule", r.by_rule)}
<h2>Oldest open findings</h2>
{oldest}
<h2>Open findings per owner</h2>
{owners}
</body></html>
"""
