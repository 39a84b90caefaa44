"""Spec normalization and diff, so that only real drift counts.

Live objects read back differently from their manifests: zero, null and empty
values are dropped by the API server and by proto3 (`weight: 0`, `gateways: null`,
`[]`), key order differs, and apiVersion may differ. Only `spec` is compared, so
server metadata and the tracking labels of kubectl, Argo CD and Flux never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.model import Difference

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _empty(value: Any) -> bool:
    return (
        value is None
        or value is False
        or value == ""
        or value == []
        or value == {}
        or (isinstance(value, int | float) and value == 0)
    )


def normalize(value: Any) -> Any:
    """Drop empty/zero values from mappings recursively; list positions are kept."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            norm = normalize(item)
            if not _empty(norm):
                out[key] = norm
        return out
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f'{path}["{key}"]'


def _walk(git: Any, live: Any, path: str) -> Iterator[Difference]:
    if isinstance(git, dict) and isinstance(live, dict):
        for key in sorted(git.keys() | live.keys(), key=str):
            yield from _walk(git.get(key), live.get(key), _child(path, str(key)))
    elif isinstance(git, list) and isinstance(live, list):
        for i in range(max(len(git), len(live))):
            yield from _walk(
                git[i] if i < len(git) else None, live[i] if i < len(live) else None, f"{path}[{i}]"
            )
    elif git != live:
        yield Difference(path, git, live)


def spec_diff(git_obj: dict[str, Any], live_obj: dict[str, Any]) -> tuple[Difference, ...]:
    """Each differing leaf path of the normalized specs, with both values."""
    git_spec, live_spec = git_obj.get("spec") or {}, live_obj.get("spec") or {}
    if git_spec == live_spec:
        return ()
    git, live = normalize(git_spec), normalize(live_spec)
    if git == live:
        return ()
    return tuple(_walk(git, live, "spec"))
