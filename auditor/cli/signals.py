"""Signals: Ctrl-C and SIGTERM end a run with one line and leave no process behind.

The terminal sends Ctrl-C to the whole process group: parse workers ignore it and let
the main process stop them, instead of each printing a traceback. In the main process
Ctrl-C and SIGTERM (a CronJob's deadline, `kill`) raise an exception, so the run
unwinds (the worker pool is shut down, GitPython's `git cat-file` children closed) and
ends with one line. An exception raised at an arbitrary point can leave the worker
pool's internals waiting on each other, so a watchdog ends the process if unwinding
has not finished within GRACE seconds; workers die with their parent (PR_SET_PDEATHSIG),
and `git cat-file` children exit when their input closes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

GRACE = 5.0
_PR_SET_PDEATHSIG = 1


class Ending(NamedTuple):
    code: int
    message: str


INTERRUPTED = Ending(130, "interrupted; the database was left as it was")
TERMINATED = Ending(143, "terminated; the database was left as it was")
_ENDINGS: dict[int, Ending] = {signal.SIGINT: INTERRUPTED, signal.SIGTERM: TERMINATED}


class Terminated(BaseException):
    """SIGTERM arrived."""


# Set once the run has said why it ended, so the watchdog does not say it twice.
reported = threading.Event()
# The signal received during the run, if any: failures after it are its consequences
# (Ctrl-C also reaches the `git` children, whose death then breaks their pipes).
received: list[int] = []
# The process whose handlers raise: forked workers inherit the handlers, not the role.
_owner = os.getpid()


def quiet_worker() -> None:
    """Initializer of worker processes: ignore Ctrl-C, and die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _watchdog(signum: int) -> None:
    code, message = _ENDINGS[signum]
    if not reported.is_set():
        os.write(2, f"mesh-audit: error: {message}\n".encode())
    os._exit(code)


def _raise(signum: int, _frame: Any) -> None:
    if os.getpid() != _owner:  # a worker between fork and its initializer
        if signum == signal.SIGTERM:
            os._exit(TERMINATED.code)
        return
    received.append(signum)
    timer = threading.Timer(GRACE, _watchdog, (signum,))
    timer.daemon = True
    timer.start()
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt


def raise_if_received() -> None:
    """Raise again for a signal whose exception something swallowed (a fork callback, a
    destructor): called before the store commits, so an interrupted scan stores nothing."""
    if received:
        if received[-1] == signal.SIGTERM:
            raise Terminated
        raise KeyboardInterrupt


@contextmanager
def handled() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM raise, with the watchdog armed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _owner
    _owner = os.getpid()
    reported.clear()
    received.clear()
    previous = {s: signal.signal(s, _raise) for s in _ENDINGS}
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for s, handler in previous.items():
            signal.signal(s, handler)


def ending(exc: BaseException) -> Ending | None:
    """How a run that failed with exc ends when a signal caused it (directly or not)."""
    if isinstance(exc, Terminated):
        return TERMINATED
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    return _ENDINGS[received[0]] if received else None


def _quiet_unraisable(unraisable: Any) -> None:
    """Where Python cannot raise (a fork callback, a destructor), a signal's exception is
    dropped without a traceback: the watchdog still ends the run if it does not stop."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt | Terminated):
        sys.__unraisablehook__(unraisable)
