"""The one order every report lists findings in: by owner, then most severe first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.model import Severity


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["owner"] or "\uffff",
        -Severity(row["severity"]).rank,
        row["kind"],
        row["namespace"],
        row["name"],
        row["rule"],
    )


def sort_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=_order)
