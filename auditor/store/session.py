"""One way in and out of the database: `session()` opens, recovers, migrates (when
writing), runs one transaction and turns every SQLite failure into one clear error."""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from auditor.errors import InputError, SourceError
from auditor.store.schema import migrate

DEFAULT_LOCK_TIMEOUT = 30.0


class DatabaseLocked(SourceError):
    """Another connection holds the lock longer than we were told to wait."""


def default_lock_timeout() -> float:
    """Seconds to wait for a database another run holds: MESH_AUDIT_LOCK_TIMEOUT, else 30.
    Read-only commands have no --lock-timeout of their own and wait this long."""
    value = os.environ.get("MESH_AUDIT_LOCK_TIMEOUT", "")
    try:
        seconds = float(value) if value else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        seconds = math.nan
    if not seconds >= 0:  # NaN fails this too
        raise InputError(f"MESH_AUDIT_LOCK_TIMEOUT must be seconds (0 or more), got {value!r}")
    return seconds


def _open(path: Path, write: bool, timeout: float) -> sqlite3.Connection:
    if not path.exists():
        if not write:
            raise SourceError(f"database not found: {path} (run `mesh-audit scan` first)")
        if not path.parent.is_dir():
            raise SourceError(f"cannot create database {path}: folder does not exist")
    # Never `mode=ro` when the file is writable: only a writable handle can roll back the
    # journal (or WAL frames) of a writer that was killed, so a read-only one fails instead.
    mode = "rwc" if write else "rw" if os.access(path, os.W_OK) else "ro"
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode={mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open database {path}: {exc}") from None
    return conn


def _locked(exc: sqlite3.Error) -> bool:
    """Whether SQLite says another connection holds the lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def _failure(path: Path, write: bool, timeout: float, exc: sqlite3.Error) -> SourceError:
    text = str(exc)
    if _locked(exc):
        return DatabaseLocked(
            f"database {path} is locked by another mesh-audit run "
            f"(waited {timeout:g}s); try again when it has finished"
        )
    if write:
        return SourceError(f"cannot write database {path}: {text}")
    return SourceError(f"database {path} is not readable: {text}")


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL. While another connection holds a file not yet in WAL (a
    first scan creating it), SQLite refuses at once, without waiting on its busy handler:
    wait here instead, as for any lock, up to the lock timeout."""
    end = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() >= end:
                raise
        time.sleep(0.01)


@contextmanager
def session(
    path: Path, *, write: bool = False, lock_timeout: float | None = None, schema: bool = True
) -> Iterator[Database]:
    """The one way to the database, so every command opens, recovers, waits and fails alike.

    A read session is query-only (and never creates or migrates the file). A write session
    switches the file to WAL, takes the write lock (`BEGIN IMMEDIATE`), migrates, and
    commits what its body did all together, or nothing when the body raises: the body's
    last steps (output files) run before the commit. Any SQLite failure, on open or in the
    body, is exit 3 with one line.
    """
    timeout = default_lock_timeout() if lock_timeout is None else lock_timeout
    conn = _open(path, write, timeout)
    db = Database(conn)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if write:
            _use_wal(conn, timeout)
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrate(db)
                yield db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            if schema and not db.table("findings").exists():
                raise SourceError(f"{path} is not a mesh-audit database")
            yield db
    except sqlite3.Error as exc:
        raise _failure(path, write, timeout, exc) from None
    finally:
        conn.close()


def check_readable(path: Path) -> None:
    """Fail before any slow read when --db names something that is not a database; a lock
    held by another run is fine here (the write waits for it later)."""
    if not path.exists():
        if not path.parent.is_dir():
            raise SourceError(f"cannot create database {path}: folder does not exist")
        return
    try:
        with session(path, lock_timeout=0, schema=False):
            pass
    except DatabaseLocked:
        return
