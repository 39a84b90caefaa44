"""Errors that end a run, each with the documented exit code it maps to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    SOURCE = 3


class AuditError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = ExitCode.USAGE


class InputError(AuditError):
    """Bad usage, config or input file."""

    exit_code = ExitCode.USAGE


class SourceError(AuditError):
    """A cluster, repo or database that could not be read or written."""

    exit_code = ExitCode.SOURCE
