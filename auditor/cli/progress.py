"""Progress for long reads, on stderr only and only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[str, int], None]


def _ignore(label: str, n: int) -> None:
    """Cron jobs and pipes get no progress: nothing to draw on."""


@contextmanager
def counter() -> Iterator[Advance]:
    """Yield `advance(label, n)`: one spinner line per label, counting items read.

    rich is imported only when stderr is a terminal: a piped or cron scan skips its
    import time."""
    if not sys.stderr.isatty():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def advance(label: str, n: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=None)
        progress.advance(tasks[label], n)

    with progress:
        yield advance
