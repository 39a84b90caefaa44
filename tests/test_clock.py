"""The one reading and writing of timestamps, and the one resource label."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from auditor import clock
from auditor.errors import InputError
from auditor.model import ObjectKey, label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-10T06:00:00Z", datetime(2026, 11, 10, 6, tzinfo=UTC)),
        ("2026-11-10T08:00:00+02:00", datetime(2026, 11, 10, 6, tzinfo=UTC)),
        # Naive means UTC, so any two parsed values compare and subtract.
        ("2026-11-10T06:00:00", datetime(2026, 11, 10, 6, tzinfo=UTC)),
        ("2026-11-10", datetime(2026, 11, 10, tzinfo=UTC)),
    ],
)
def test_parse_gives_aware_datetimes(text: str, expected: datetime) -> None:
    parsed = clock.parse(text)
    assert parsed.tzinfo is not None
    assert parsed == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_parse_refuses_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        clock.parse(text)


def test_iso_is_the_stored_form_in_utc() -> None:
    when = datetime(2026, 11, 10, 8, 0, 30, 999, tzinfo=timezone(timedelta(hours=2)))
    assert clock.iso(when) == "2026-11-10T06:00:30Z"
    assert clock.parse(clock.iso(when)) == when.replace(microsecond=0)


def test_now_and_stamp_follow_mesh_audit_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_AUDIT_NOW", "2026-11-10T08:00:00+02:00")
    assert clock.now() == datetime(2026, 11, 10, 6, tzinfo=UTC)
    assert clock.stamp() == "2026-11-10T06:00:00Z"
    monkeypatch.setenv("MESH_AUDIT_NOW", "soon")
    with pytest.raises(InputError, match="MESH_AUDIT_NOW"):
        clock.now()


def test_label_names_resources_one_way() -> None:
    key = ObjectKey("networking.istio.io", "VirtualService", "shop", "reviews")
    assert label("VirtualService", "shop", "reviews") == "VirtualService shop/reviews"
    assert str(key) == label(key.kind, key.namespace, key.name)
