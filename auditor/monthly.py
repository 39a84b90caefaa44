"""The monthly numbers: what was found, fixed and retired, and whether the mesh gets cleaner.

Everything is rebuilt from the status history (finding_events), so any past month can
be reported as it was at its end.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Any

from auditor import store

OPEN = ("open", "ticketed")


def _month_end(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    nxt = f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"
    return f"{nxt}-01T00:00:00Z"


def _months(first: str, last: str) -> list[str]:
    months, (year, mon) = [], (int(first[:4]), int(first[5:7]))
    while f"{year:04d}-{mon:02d}" <= last:
        months.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return months


def _days(start: str, end: str) -> float:
    parse = lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() / 86400


def _summary(row: dict[str, Any], end: str) -> dict[str, Any]:
    return {
        "rule": row["rule"],
        "severity": row["severity"],
        "resource": f"{row['kind']} {row['namespace']}/{row['name']}",
        "owner": row["owner"],
        "first_seen": row["first_seen"],
        "age_days": int(_days(row["first_seen"], end)),
        "message": row["message"],
    }


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    totals: dict[str, int]
    by_owner: dict[str, dict[str, int]]
    by_rule: dict[str, dict[str, int]]
    oldest_open: list[dict[str, Any]]
    # Each owner's findings still open at month end, oldest first.
    open_by_owner: dict[str, list[dict[str, Any]]]
    mean_days_to_resolve: float | None
    trend: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def build(db: Path, month: str) -> MonthlyReport:
    findings, events = store.history(db)
    rows = {f["fingerprint"]: f for f in findings}
    start, end = f"{month}-01T00:00:00Z", _month_end(month)

    def state_at(t: str) -> dict[str, str]:
        state: dict[str, str] = {}
        for e in events:
            if e["at"] >= t:
                break
            state[e["fingerprint"]] = e["to_status"]
        return state

    at_end = state_at(end)
    in_month = [e for e in events if start <= e["at"] < end]
    counts: dict[str, Counter[str]] = {
        k: Counter() for k in ("new", "resolved", "retired", "open", "waived")
    }
    for e in in_month:
        if e["from_status"] is None:
            counts["new"][e["fingerprint"]] = 1
        elif e["to_status"] in ("resolved", "retired"):
            counts[e["to_status"]][e["fingerprint"]] = 1
    for fp, status in at_end.items():
        if status in OPEN:
            counts["open"][fp] = 1
        elif status == "waived":
            counts["waived"][fp] = 1
    by_owner: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(counts, 0))
    by_rule: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(counts, 0))
    for kind, fps in counts.items():
        for fp in fps:
            row = rows[fp]
            by_owner[row["owner"] or "(no owner)"][kind] += 1
            by_rule[f"{row['rule']} {row['rule_name']}"][kind] += 1
    first_seen = {e["fingerprint"]: e["at"] for e in reversed(events) if e["from_status"] is None}
    durations = [
        _days(first_seen[e["fingerprint"]], e["at"])
        for e in in_month
        if e["to_status"] in ("resolved", "retired") and e["fingerprint"] in first_seen
    ]
    still_open = [
        _summary(r, end)
        for r in sorted(
            (rows[fp] for fp in counts["open"]),
            key=lambda r: (r["first_seen"], r["kind"], r["namespace"], r["name"], r["rule"]),
        )
    ]
    open_by_owner: dict[str, list[dict[str, Any]]] = {}
    for item in still_open:
        open_by_owner.setdefault(item["owner"] or "(no owner)", []).append(item)
    trend = []
    if events:
        for m in _months(events[0]["at"][:7], month):
            state = at_end if m == month else state_at(_month_end(m))
            trend.append({"month": m, "open": sum(s in OPEN for s in state.values())})
    return MonthlyReport(
        month=month,
        totals={k: len(v) for k, v in counts.items()},
        by_owner=dict(sorted(by_owner.items())),
        by_rule=dict(sorted(by_rule.items())),
        oldest_open=still_open[:10],
        open_by_owner=dict(sorted(open_by_owner.items())),
        mean_days_to_resolve=round(mean(durations), 1) if durations else None,
        trend=trend,
    )
