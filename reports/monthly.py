"""The monthly report as Markdown or one self-contained, styled HTML page.

The page is rendered with Jinja2 (autoescaped) from `templates/monthly.html.j2`; its
charts are inline SVG (reports/charts.py) and it loads nothing from the network.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from auditor.model import NO_OWNER, Severity
from reports.charts import Series, bar_chart

COLUMNS = ("new", "resolved", "retired", "open", "waived")
SEVERITY_COLORS = {
    Severity.CRITICAL: "#8e1b1b",
    Severity.HIGH: "#d64545",
    Severity.MEDIUM: "#f0b429",
    Severity.LOW: "#4098d7",
    Severity.INFO: "#9aa5b1",
}
_ENV = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _breakable(text: str) -> Markup:
    """Identifiers (paths, namespace/name) may wrap after a `/`, never mid-word."""
    return Markup(str(escape(text)).replace("/", "/<wbr>"))


_ENV.filters["breakable"] = _breakable
_ENV.globals["NO_OWNER"] = NO_OWNER


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _table_md(title: str, rows: dict[str, dict[str, int]]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        f"| {title.split()[-1]} | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    lines += [f"| {k} | " + " | ".join(str(v[c]) for c in COLUMNS) + " |" for k, v in rows.items()]
    return [*lines, ""]


def _section_md(title: str, s: Any) -> list[str]:
    t = s.totals
    return [
        f"## {title}",
        "",
        f"Active at month end (open or ticketed): {t['open']}. New {t['new']}, resolved "
        f"{t['resolved']}, retired {t['retired']}, waived {t['waived']}. Days to resolve: "
        f"mean {_days(s.mean_days_to_resolve)}, median {_days(s.median_days_to_resolve)}.",
        "",
        "### Active findings by month",
        "",
        "| month | " + " | ".join(sev.value for sev in reversed(Severity)) + " | new | resolved |",
        "|---|" + "---|" * (len(Severity) + 2),
        *[
            f"| {p['month']} | "
            + " | ".join(str(p[sev.value]) for sev in reversed(Severity))
            + f" | {f['new']} | {f['resolved']} |"
            for p, f in zip(s.trend_by_severity, s.flow, strict=True)
        ],
        "",
        "### Teams",
        "",
        "| team | active | change since last month |",
        "|---|---|---|",
        *[f"| {x['owner']} | {x['active']} | {x['change']:+d} |" for x in s.teams],
        "",
        *_table_md("By owner", s.by_owner),
        *_table_md("By rule", s.by_rule),
        "### Oldest active findings",
        "",
        "| age (days) | rule | severity | resource | owner | where |",
        "|---|---|---|---|---|---|",
        *[
            f"| {o['age_days']} | {o['rule']} | {o['severity']} | {o['resource']} "
            f"| {o['owner'] or NO_OWNER} | {_where_md(o)} |"
            for o in s.oldest_open
        ],
        "",
    ]


def _where_md(item: dict[str, Any]) -> str:
    if item["link"]:
        return f"[{item['where']}]({item['link']})"
    return f"`{item['where']}`" if item["where"] else "live only"


def markdown(r: Any) -> str:
    lines = [
        f"# mesh-audit monthly report {r.month}",
        "",
        f"Cluster(s): {', '.join(r.clusters) or 'none'}. Generated {r.generated_at}.",
        "",
        *_section_md("Fleet", r.fleet),
    ]
    if len(r.sections) > 1:
        for name, section in r.sections.items():
            lines += _section_md(f"Cluster {name}", section)
    return "\n".join(lines).rstrip("\n") + "\n"


def html(r: Any) -> str:
    fleet = r.fleet
    months = [p["month"] for p in fleet.trend_by_severity]
    trend = bar_chart(
        "Active findings by severity at each month's end",
        months,
        [
            Series(
                sev.value,
                SEVERITY_COLORS[sev],
                [p[sev.value] for p in fleet.trend_by_severity],
            )
            for sev in reversed(Severity)
        ],
        x_label="Month",
        y_label="Active findings",
        stacked=True,
    )
    flow = bar_chart(
        "New vs resolved findings per month",
        months,
        [
            Series("new", "#d64545", [f["new"] for f in fleet.flow]),
            Series("resolved", "#3ebd93", [f["resolved"] for f in fleet.flow]),
        ],
        x_label="Month",
        y_label="Findings",
        stacked=False,
    )
    return _ENV.get_template("monthly.html.j2").render(
        r=r,
        trend_chart=trend,
        flow_chart=flow,
        columns=COLUMNS,
        days=_days,
        multi=len(r.clusters) > 1,
    )
