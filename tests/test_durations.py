"""Go/protobuf durations as Istio writes them (`timeout`, `perTryTimeout`), in seconds."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.mesh.retries import seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1s", 1.0),
        ("1.5s", 1.5),
        ("300ms", 0.3),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("1h1m1s", 3661.0),
        ("250us", 250e-6),
        ("250µs", 250e-6),
        ("10ns", 10e-9),
        ("0s", 0.0),
    ],
)
def test_valid_durations(value: str, expected: float) -> None:
    assert seconds(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value",
    [None, "", 5, 1.5, "5", "s", "1x", "1s ", " 1s", "1s2", "-1s", "1.s", "1e3s", "1 s", "1d"],
)
def test_unset_or_invalid_durations_are_none(value: Any) -> None:
    assert seconds(value) is None


def test_a_duration_too_large_for_a_float_is_none() -> None:
    assert seconds("9" * 400 + "h") is None
