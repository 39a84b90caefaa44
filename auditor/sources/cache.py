"""A best-effort on-disk cache: a read-only or full disk never fails a scan."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    if os.environ.get("MESH_AUDIT_CACHE"):
        return Path(os.environ["MESH_AUDIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mesh-audit"


# Bump when the shape of cached data changes: old entries are then simply not found.
FORMAT = "9"


def slot(*parts: str) -> Path:
    """A cache folder for one repo (or URL), named by a hash of its identity and FORMAT."""
    digest = hashlib.sha256("\0".join((FORMAT, *parts)).encode()).hexdigest()[:16]
    return cache_root() / digest


def load(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def save(path: Path, data: Any) -> None:
    """Write atomically (temp file + rename) so a killed run leaves no half file."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # dumps() is the C encoder; dump() to a file falls back to pure Python.
                fh.write(json.dumps(data, separators=(",", ":"), default=str))
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
