"""Progress on stderr: a Rich bar on a terminal, nothing on a pipe or under cron."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from greenery_cli.output import stderr_console


class Progress(Protocol):
    def advance(self, description: str) -> None: ...


class _Silent:
    def advance(self, description: str) -> None:
        pass


class _Bar:
    def __init__(self, bar: object, task: object) -> None:
        self._bar = bar
        self._task = task

    def advance(self, description: str) -> None:
        self._bar.update(self._task, advance=1, description=description)  # type: ignore[attr-defined]


@contextmanager
def progress(total: int, description: str) -> Iterator[Progress]:
    if not sys.stderr.isatty():
        yield _Silent()
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield _Bar(bar, task)
