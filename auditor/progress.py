"""Progress for long reads, on stderr only and only on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def counter(console: Console) -> Iterator[Callable[[str, int], None]]:
    """Yield `advance(label, n)`: one spinner line per label, counting items read."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    tasks: dict[str, int] = {}

    def advance(label: str, n: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(f"reading {label}", total=None)
        progress.advance(tasks[label], n)

    with progress:
        yield advance
