"""The time mesh-audit works at: now, or MESH_AUDIT_NOW (ISO timestamp) to replay a run
at a given time, as tests and "what did the report say last month" need."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from auditor.errors import InputError


def now() -> datetime:
    fixed = os.environ.get("MESH_AUDIT_NOW")
    if not fixed:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"MESH_AUDIT_NOW: not an ISO timestamp: {fixed!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def stamp() -> str:
    """Now as stored in the database: UTC, seconds, `Z`."""
    return now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
