"""Checks shared by every part of the config: one error names the key and the entry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.errors import InputError


def check_keys(where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Unknown keys are errors that name the key and what is allowed."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise InputError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(allowed)})"
        )


def check_strings(at: str, entry: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Each of these keys, when the entry sets it, holds a string."""
    for key in keys:
        if key in entry and not isinstance(entry[key], str):
            raise InputError(f"{at}.{key}: expected a string")


def entries(
    raw: Any, where: str, allowed: tuple[str, ...], what: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each mapping of a config list with its place (`where[i]`), keys checked; anything
    else is an InputError naming the entry. Nothing for an absent list."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise InputError(f"{where}: expected a list of {what}")
    for i, entry in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{at}: expected a mapping ({', '.join(allowed)})")
        check_keys(at, entry, allowed)
        yield at, entry
