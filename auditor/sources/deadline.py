"""One deadline for the whole read of the live side (`--timeout`).

Per-request timeouts bound a silent server, not one that trickles a byte at a time, nor
an exec credential plugin or a FIFO that never answers. The deadline is enforced with a
real-time timer (SIGALRM) that interrupts whatever blocks, and names what was running.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from auditor.errors import SourceError

DEFAULT_TIMEOUT = 300.0
# Per-request bounds below the deadline: connecting, and each wait for bytes.
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0


class Stalled(BaseException):
    """Raised by the timer. A BaseException, so that libraries' `except Exception`
    (the kubernetes client's exec plugin loader) cannot swallow it."""


def _kill_awaited(tb: TracebackType | None) -> None:
    """Kill the child process the interrupted code was waiting for (an exec credential
    plugin run by the kubernetes client), so a hung plugin does not outlive the run."""
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, subprocess.Popen) and value.poll() is None:
                value.kill()
                value.wait()
        tb = tb.tb_next


class Deadline:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds if seconds is not None else DEFAULT_TIMEOUT
        self._at = time.monotonic() + self.seconds
        self.doing = "reading the live side"

    def left(self) -> float:
        return self._at - time.monotonic()

    def step(self, doing: str) -> None:
        """Say what runs now (for the error line); fail if no time is left."""
        self.doing = doing
        if self.left() <= 0:
            raise self.error()

    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts of one request, never beyond the deadline."""
        left = max(self.left(), 0.001)
        return min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left)

    def error(self) -> SourceError:
        return SourceError(f"timed out after {self.seconds:g}s (--timeout) while {self.doing}")

    @contextmanager
    def enforced(self) -> Iterator[Deadline]:
        """Interrupt the block when the deadline passes (main thread only; elsewhere
        only the per-request timeouts and `step` checks apply)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def expire(_signum: int, _frame: Any) -> None:
            raise Stalled

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(self.left(), 0.001))
        try:
            yield self
        except Stalled as exc:
            _kill_awaited(exc.__traceback__)
            raise self.error() from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
