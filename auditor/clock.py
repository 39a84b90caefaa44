"""The time mesh-audit works at: now, or MESH_AUDIT_NOW (ISO timestamp) to replay a run
at a given time, as tests and "what did the report say last month" need; and the one
reading of the timestamps we store and Kubernetes serves."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from auditor.errors import InputError


def parse(value: str) -> datetime:
    """An ISO timestamp (`Z` or an offset; none means UTC) as an aware datetime, so any two
    compare and subtract. ValueError when it is not one."""
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def now() -> datetime:
    fixed = os.environ.get("MESH_AUDIT_NOW")
    if not fixed:
        return datetime.now(UTC)
    try:
        return parse(fixed)
    except ValueError:
        raise InputError(f"MESH_AUDIT_NOW: not an ISO timestamp: {fixed!r}") from None


def iso(when: datetime) -> str:
    """A moment as the database stores it (UTC, seconds, `Z`): such strings sort in time
    order, which the queries rely on."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp() -> str:
    """Now as stored in the database."""
    return iso(now())
