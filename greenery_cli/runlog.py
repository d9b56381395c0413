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


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def recorded_run(wh: Warehouse, command: str, args: dict[str, Any]) -> Iterator[Run]:
    """Record the command in meta.runs, as success or as the error that stopped it.

    The row is written after the work's own transaction has committed or rolled back, so a
    failed command leaves its failure in the log and nothing else.
    """
    run = Run(
        run_id=int(wh.scalar("select nextval('meta.run_id_seq')")),
        command=command,
        started_at=_now(),
    )
    clock = time.perf_counter()
    try:
        yield run
    except BaseException as exc:
        run.status = "error"
        run.message = str(exc) if isinstance(exc, GreeneryError) else f"{type(exc).__name__}: {exc}"
        _write(wh, run, args, time.perf_counter() - clock)
        raise
    _write(wh, run, args, time.perf_counter() - clock)


def _write(wh: Warehouse, run: Run, args: dict[str, Any], duration: float) -> None:
    wh.execute(
        "insert into meta.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id,
            run.command,
            json.dumps(args, default=str, sort_keys=True),
            run.started_at,
            _now(),
            duration,
            run.status,
            run.rows_affected,
            run.message,
            __version__,
        ],
    )
