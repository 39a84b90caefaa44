"""The monthly numbers: what was found, fixed and retired, and whether the mesh gets cleaner.

Everything is rebuilt from the status history (finding_events), so any past month can
be reported as it was at its end: for the fleet and for each cluster. "Open" in these
numbers means active: open or ticketed (still to be fixed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean, median
from typing import Any

from auditor import clock, store
from auditor.model import NO_OWNER, Severity, Status, label
from auditor.workflow.weblink import blob_url

OPEN = store.TO_FIX
DONE = (Status.RESOLVED.value, Status.RETIRED.value)
TREND_MONTHS = 12


def _shift(month: str, step: int) -> str:
    """The month (YYYY-MM) `step` months after the one `month` (YYYY-MM...) is in."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + step
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(today: str) -> str:
    """The month before the one `today` (YYYY-MM...) is in: what a run on the 1st reports."""
    return _shift(today, -1)


def _month_end(month: str) -> str:
    return f"{_shift(month, 1)}-01T00:00:00Z"


def _months(first: str, last: str) -> list[str]:
    months, current = [], _shift(first, 0)
    while current <= last:
        months.append(current)
        current = _shift(current, 1)
    return months


def _days(start: str, end: str) -> float:
    return (clock.parse(end) - clock.parse(start)).total_seconds() / 86400


@dataclass(frozen=True)
class Section:
    """The numbers of one cluster, or of the fleet."""

    totals: dict[str, int]
    by_owner: dict[str, dict[str, int]]
    by_rule: dict[str, dict[str, int]]
    oldest_open: list[dict[str, Any]]
    # Each owner's findings still open at month end, oldest first.
    open_by_owner: dict[str, list[dict[str, Any]]]
    mean_days_to_resolve: float | None
    median_days_to_resolve: float | None
    trend: list[dict[str, Any]]
    # Active findings at each month's end, by severity.
    trend_by_severity: list[dict[str, Any]]
    # Findings first seen and resolved (or retired) within each month.
    flow: list[dict[str, Any]]
    # Owners ranked by active findings at month end, with the change since last month.
    teams: list[dict[str, Any]]


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    generated_at: str
    clusters: list[str]
    fleet: Section
    sections: dict[str, Section]

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "generated_at": self.generated_at,
            "clusters": self.clusters,
            **asdict(self.fleet),
            "sections": {c: asdict(s) for c, s in self.sections.items()},
        }


class _Timeline:
    """Each finding's status at the end of every month, from one pass over the events."""

    def __init__(self, events: Sequence[dict[str, Any]], months: Sequence[str]) -> None:
        ends = [_month_end(m) for m in months]
        self.at_end: dict[str, dict[str, str]] = {}
        state: dict[str, str] = {}
        i = 0
        for month, end in zip(months, ends, strict=True):
            while i < len(events) and events[i]["at"] < end:
                state[events[i]["fingerprint"]] = events[i]["to_status"]
                i += 1
            self.at_end[month] = dict(state)


def _item(row: dict[str, Any], end: str, scans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    scan = scans.get(row["cluster"], {})
    where = f"{row['source_path']}:{row['source_line']}" if row["source_path"] else None
    return {
        "rule": row["rule"],
        "severity": row["severity"],
        "cluster": row["cluster"],
        "resource": label(row["kind"], row["namespace"], row["name"]),
        "owner": row["owner"],
        "first_seen": row["first_seen"],
        "age_days": int(_days(row["first_seen"], end)),
        "message": row["message"],
        "where": where,
        "link": blob_url(
            scan.get("repo"), scan.get("commit"), row["source_path"], row["source_line"]
        )
        if where
        else None,
    }


def _within(events: Sequence[dict[str, Any]], month: str) -> list[dict[str, Any]]:
    start, end = f"{month}-01T00:00:00Z", _month_end(month)
    return [e for e in events if start <= e["at"] < end]


def _counts(in_month: list[dict[str, Any]], at_end: dict[str, str]) -> dict[str, set[str]]:
    """Fingerprints new, resolved and retired during the month; open and waived at its end."""
    counts: dict[str, set[str]] = {
        k: set() for k in ("new", "resolved", "retired", "open", "waived")
    }
    for e in in_month:
        if e["from_status"] is None:
            counts["new"].add(e["fingerprint"])
        elif e["to_status"] in DONE:
            counts[e["to_status"]].add(e["fingerprint"])
    for fp, status in at_end.items():
        if status in OPEN:
            counts["open"].add(fp)
        elif status == Status.WAIVED:
            counts["waived"].add(fp)
    return counts


def _tally(
    rows: dict[str, dict[str, Any]],
    counts: dict[str, set[str]],
    key: Callable[[dict[str, Any]], str],
) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(counts, 0))
    for kind, fps in counts.items():
        for fp in fps:
            table[key(rows[fp])][kind] += 1
    return dict(sorted(table.items()))


def _durations(in_month: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[float]:
    """Days from first seen to resolved (or retired), for each finding done in the month."""
    first_seen = {e["fingerprint"]: e["at"] for e in reversed(events) if e["from_status"] is None}
    return [
        _days(first_seen[e["fingerprint"]], e["at"])
        for e in in_month
        if e["to_status"] in DONE and e["fingerprint"] in first_seen
    ]


def _still_open(
    rows: dict[str, dict[str, Any]],
    fingerprints: set[str],
    end: str,
    scans: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The findings active at month end, oldest first, and the same grouped by owner."""
    items = [
        _item(r, end, scans)
        for r in sorted(
            (rows[fp] for fp in fingerprints),
            key=lambda r: (r["first_seen"], r["kind"], r["namespace"], r["name"], r["rule"]),
        )
    ]
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_owner.setdefault(item["owner"] or NO_OWNER, []).append(item)
    return items, dict(sorted(by_owner.items()))


def _trends(
    rows: dict[str, dict[str, Any]], events: list[dict[str, Any]], timeline: _Timeline
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Per month shown: active findings at its end, in all and by severity; new and
    resolved within it."""
    by_severity: list[dict[str, Any]] = []
    flow: list[dict[str, Any]] = []
    for m in list(timeline.at_end)[-TREND_MONTHS:]:
        active = Counter(rows[fp]["severity"] for fp, s in timeline.at_end[m].items() if s in OPEN)
        by_severity.append({"month": m, **{s.value: active[s.value] for s in Severity}})
        moved = _within(events, m)
        flow.append(
            {
                "month": m,
                "new": len({e["fingerprint"] for e in moved if e["from_status"] is None}),
                "resolved": len({e["fingerprint"] for e in moved if e["to_status"] in DONE}),
            }
        )
    trend = [{"month": t["month"], "open": sum(t[s.value] for s in Severity)} for t in by_severity]
    return trend, by_severity, flow


def _teams(
    rows: dict[str, dict[str, Any]],
    before: dict[str, str],
    open_by_owner: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Owners ranked by active findings, with last month's count and the worst severity."""
    now = Counter({owner: len(items) for owner, items in open_by_owner.items()})
    then = Counter(rows[fp]["owner"] or NO_OWNER for fp, s in before.items() if s in OPEN)
    return [
        {
            "owner": owner,
            "active": now[owner],
            "previous": then[owner],
            "change": now[owner] - then[owner],
            "worst": max(
                (i["severity"] for i in open_by_owner.get(owner, [])),
                key=lambda s: Severity(s).rank,
                default=None,
            ),
        }
        for owner in sorted(set(now) | set(then), key=lambda o: (-now[o], o))
    ]


def _section(
    rows: dict[str, dict[str, Any]],
    events: list[dict[str, Any]],
    month: str,
    scans: dict[str, dict[str, Any]],
) -> Section:
    """One section from its findings (`rows` by fingerprint) and their status events, in
    time order. The timeline starts at the first event (or `month`) so that trends and
    "last month" read each finding's status at every month end."""
    first = events[0]["at"][:7] if events else month
    months = _months(min(first, month), month)
    timeline = _Timeline(events, months)
    in_month = _within(events, month)
    counts = _counts(in_month, timeline.at_end[month])
    durations = _durations(in_month, events)
    still_open, open_by_owner = _still_open(rows, counts["open"], _month_end(month), scans)
    trend, by_severity, flow = _trends(rows, events, timeline)
    before = timeline.at_end[months[-2]] if len(months) > 1 else {}
    return Section(
        totals={k: len(v) for k, v in counts.items()},
        by_owner=_tally(rows, counts, lambda r: r["owner"] or NO_OWNER),
        by_rule=_tally(rows, counts, lambda r: f"{r['rule']} {r['rule_name']}"),
        oldest_open=still_open[:10],
        open_by_owner=open_by_owner,
        mean_days_to_resolve=round(mean(durations), 1) if durations else None,
        median_days_to_resolve=round(median(durations), 1) if durations else None,
        trend=trend,
        trend_by_severity=by_severity,
        flow=flow,
        teams=_teams(rows, before, open_by_owner),
    )


def build(db: Path, month: str, clusters: Sequence[str] = ()) -> MonthlyReport:
    """The report for `month` (YYYY-MM) over the given clusters (default all): the fleet,
    and one section per cluster.

    Statuses come from the status history alone (`finding_events`, in time order), never
    from the current ones, so a past month reads as it was at its end; a finding's
    attributes (owner, severity, location) are its current ones. "Open" means active
    (open or ticketed); resolved and retired count in the month their event falls in.
    Only reads the database (SourceError, exit 3, when it cannot)."""
    findings, events, scans = store.history(db)
    rows = {f["fingerprint"]: f for f in findings if not clusters or f["cluster"] in clusters}
    events = [e for e in events if e["fingerprint"] in rows]
    names = sorted({r["cluster"] for r in rows.values()})
    sections = {}
    for name in names:
        mine = {fp: r for fp, r in rows.items() if r["cluster"] == name}
        sections[name] = _section(
            mine, [e for e in events if e["fingerprint"] in mine], month, scans
        )
    return MonthlyReport(
        month=month,
        generated_at=clock.stamp(),
        clusters=names,
        fleet=_section(rows, events, month, scans),
        sections=sections,
    )
