"""Month arithmetic of the monthly numbers: the month reported, its end, the trend's months."""

from __future__ import annotations

import pytest

from auditor.workflow.numbers import _month_end, _months, previous_month


@pytest.mark.parametrize(
    ("today", "month"),
    [
        ("2026-03-01", "2026-02"),
        ("2026-01-01T06:00:00Z", "2025-12"),
        ("2026-12-31", "2026-11"),
        ("2000-02", "2000-01"),
    ],
)
def test_previous_month(today: str, month: str) -> None:
    assert previous_month(today) == month


@pytest.mark.parametrize(
    ("month", "end"),
    [
        ("2026-02", "2026-03-01T00:00:00Z"),
        ("2026-11", "2026-12-01T00:00:00Z"),
        ("2026-12", "2027-01-01T00:00:00Z"),
    ],
)
def test_month_end_is_the_first_instant_of_the_next_month(month: str, end: str) -> None:
    assert _month_end(month) == end


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        ("2026-03", "2026-03", ["2026-03"]),
        ("2025-11", "2026-02", ["2025-11", "2025-12", "2026-01", "2026-02"]),
        ("2026-04", "2026-03", []),
    ],
)
def test_months_are_inclusive_and_cross_years(first: str, last: str, months: list[str]) -> None:
    assert _months(first, last) == months
