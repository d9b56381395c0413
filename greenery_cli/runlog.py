"""The run log: every command that writes records what it did in meta.runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from greenery_cli import __version__
from greenery_cli.errors import GreeneryError
from greenery_cli.warehouse import Warehouse


@dataclass
class Run:
    run_id: int
    command: str
    started_at: datetime
    rows_affected: int | None = None
    status: str = "success"
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    clock: float = field(default_factory=time.perf_counter)
    written: bool = False

    def write_success(self, wh: Warehouse) -> None:
        """Write the success row now, inside the work's own transaction, so that a process
        killed just after the commit cannot leave the work done but unlogged."""
        _write(wh, self, self.args, time.perf_counter() - self.clock)
        self.written = True


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def recorded_run(wh: Warehouse, command: str, args: dict[str, Any]) -> Iterator[Run]:
    """Record the command in meta.runs, as success or as the error that stopped it.

    The row is written after the work's own transaction has committed or rolled back, so a
    failed command leaves its failure in the log and nothing else; work that must be exactly
    before-or-after under SIGKILL writes its success row inside its transaction instead
    (`run.write_success(wh)` just before the commit).
    """
    run = Run(
        run_id=int(wh.scalar("select nextval('meta.run_id_seq')")),
        command=command,
        started_at=_now(),
        args=args,
    )
    try:
        yield run
    except (GeneratorExit, KeyboardInterrupt):
        # closed unfinished, or a signal cut the command short: nothing to log, nothing changed
        # (a copy is thrown away; a write in place rolls back)
        raise
    except BaseException as exc:
        if run.written and _logged(wh, run.run_id):
            raise  # the work committed with its success row; what failed came after
        run.status = "error"
        run.message = str(exc) if isinstance(exc, GreeneryError) else f"{type(exc).__name__}: {exc}"
        _write(wh, run, args, time.perf_counter() - run.clock)
        raise
    if not run.written:
        _write(wh, run, args, time.perf_counter() - run.clock)


def _logged(wh: Warehouse, run_id: int) -> bool:
    return bool(wh.scalar("select count(*) from meta.runs where run_id = ?", [run_id]))


def row_values(run: Run, duration: float) -> list[Any]:
    """The run's meta.runs row, in the table's column order (finished now)."""
    return [
        run.run_id,
        run.command,
        json.dumps(run.args, default=str, sort_keys=True),
        run.started_at,
        _now(),
        duration,
        run.status,
        run.rows_affected,
        run.message,
        __version__,
    ]


def _write(wh: Warehouse, run: Run, args: dict[str, Any], duration: float) -> None:
    values = row_values(run, duration)
    values[2] = json.dumps(args, default=str, sort_keys=True)
    wh.execute("insert into meta.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
