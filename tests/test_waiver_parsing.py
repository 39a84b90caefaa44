"""The `mesh-audit.io/waive` annotation on its own: valid waivers and one message per bad line."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from auditor.model import Waiver
from auditor.pipeline.waivers import parse_annotation, parse_date

RULE_IDS = {"MA306": "MA306", "retry-storm": "MA306", "MA101": "MA101"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-01-31", date(2027, 1, 31)),
        (" 2027-01-31 ", date(2027, 1, 31)),
        ("2027-01-31T10:00:00Z", date(2027, 1, 31)),
        (date(2027, 1, 31), date(2027, 1, 31)),
        (datetime(2027, 1, 31, 23, 59), date(2027, 1, 31)),
        ("2027-02-30", None),
        ("tomorrow", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "waivers"),
    [
        (
            "MA306=canary paused;expires=2027-01-31;ticket=OPS-1",
            [Waiver("MA306", "canary paused", date(2027, 1, 31), "annotation", ticket="OPS-1")],
        ),
        (
            "retry-storm = frozen = until spring ; expires=2027-01-31",
            [Waiver("MA306", "frozen = until spring", date(2027, 1, 31), "annotation")],
        ),
        (
            "MA306=a;expires=2027-01-31\n\nMA101=b;expires=2027-02-01;ticket=",
            [
                Waiver("MA306", "a", date(2027, 1, 31), "annotation"),
                Waiver("MA101", "b", date(2027, 2, 1), "annotation"),
            ],
        ),
        ("", []),
    ],
)
def test_valid_annotations(value: str, waivers: list[Waiver]) -> None:
    assert parse_annotation(value, RULE_IDS) == (waivers, [])


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("MA999=why;expires=2027-01-31", "unknown rule 'MA999'"),
        (
            "MA306;expires=2027-01-31",
            "MA306: a waiver needs a reason (RULE=reason;expires=YYYY-MM-DD)",
        ),
        (
            "MA306=  ;expires=2027-01-31",
            "MA306: a waiver needs a reason (RULE=reason;expires=YYYY-MM-DD)",
        ),
        ("MA306=why", "MA306: a waiver needs expires=YYYY-MM-DD"),
        ("MA306=why;expires=soon", "MA306: a waiver needs expires=YYYY-MM-DD"),
    ],
)
def test_each_invalid_line_is_one_message(value: str, error: str) -> None:
    good = "MA101=kept;expires=2027-01-31"
    waivers, errors = parse_annotation(f"{value}\n{good}", RULE_IDS)
    assert errors == [error]
    assert waivers == [Waiver("MA101", "kept", date(2027, 1, 31), "annotation")]
