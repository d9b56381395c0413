"""The run log on Spark: greenery's `meta.*` tables as Parquet tables in a `meta` database.

The tables have exactly the columns the DuckDB warehouse declares (read from its own DDL, so
the two never drift), and are only ever appended to: Spark cannot UPDATE a Parquet table, so a
run's row is written once, when the run ends (success, fail or error), as DuckDB's run log
writes it. Run ids come from the log itself (one past the newest run; Spark has no sequence),
and a command's runs (a replay's outer run and each state's) take consecutive ids, handed out
under the server's writer lock (engines/spark/lock.py), so two writers never take the same one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from greenery_cli.engines.spark.engine import SparkEngine
from greenery_cli.engines.spark.lock import DEFAULT_WAIT, writer_lock
from greenery_cli.errors import GreeneryError
from greenery_cli.runlog import Run, row_values

SCHEMA = "meta"


@cache
def columns() -> dict[str, dict[str, str]]:
    """Every meta table's columns and types, as DuckDB's warehouse DDL declares them."""
    import duckdb

    from greenery_cli.sql import render
    from greenery_cli.warehouse import _META_DDL

    con = duckdb.connect(":memory:")
    try:
        con.execute("create schema meta")
        for ddl in (_META_DDL, render("meta/trust_tables.sql")):
            con.execute(ddl)
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'meta' order by table_name, ordinal_position"
        ).fetchall():
            kind = "timestamptz" if kind == "TIMESTAMP WITH TIME ZONE" else kind.lower()
            found.setdefault(table, {})[column] = kind
        return found
    finally:
        con.close()


def ensure(engine: SparkEngine, tables: Sequence[str]) -> None:
    """Create the `meta` database and any of `tables` missing from it (empty)."""
    from greenery_cli.sql import render

    engine.execute(f"create schema if not exists {SCHEMA}")
    for table in tables:
        if not engine.table_exists(SCHEMA, table):
            engine.create_table_as(
                f"{SCHEMA}.{table}", render("meta/empty_table.sql", columns=columns()[table])
            )


def append(engine: SparkEngine, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Append rows (values in the table's column order) in one INSERT."""
    from greenery_cli.sql import render

    if not rows:
        return
    names = list(columns()[table])
    params = {f"v{i}_{j}": value for i, row in enumerate(rows) for j, value in enumerate(row)}
    engine.execute(render("meta/append.sql", table=table, columns=names, rows=len(rows)), params)


@dataclass
class RunLog:
    """One command's runs on Spark: ids handed out in order, rows written when it ends."""

    engine: SparkEngine
    next_id: int
    finished: list[list[Any]] = field(default_factory=list)

    def new(self, command: str, args: dict[str, Any]) -> Run:
        run = Run(self.next_id, command, datetime.now(UTC), args=args)
        self.next_id += 1
        return run

    def finish(self, run: Run) -> None:
        self.finished.append(row_values(run, time.perf_counter() - run.clock))

    def write(self) -> None:
        append(self.engine, "runs", self.finished)
        self.finished = []


@contextmanager
def recorded_run(
    engine: SparkEngine,
    command: str,
    args: dict[str, Any],
    at_least: int = 1,
    wait: float = DEFAULT_WAIT,
) -> Iterator[tuple[RunLog, Run]]:
    """The command's run (and any runs it starts from the log) in meta.runs, as success or as
    the error that stopped it; as runlog.recorded_run does on DuckDB, under the server's writer
    lock (engines/spark/lock.py; waiting up to `wait` seconds for another writer). No id below
    `at_least` (a snapshot history older than the run log has ids of its own)."""
    with writer_lock(engine, wait):
        with _recorded(engine, command, args, at_least) as recorded:
            yield recorded


@contextmanager
def _recorded(
    engine: SparkEngine, command: str, args: dict[str, Any], at_least: int
) -> Iterator[tuple[RunLog, Run]]:
    from greenery_cli.sql import render

    ensure(engine, ("runs",))
    log = RunLog(engine, max(int(engine.scalar(render("meta/next_run_id.sql"))), at_least))
    run = log.new(command, args)
    try:
        yield log, run
    except (GeneratorExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        run.status = "error"
        run.message = str(exc) if isinstance(exc, GreeneryError) else f"{type(exc).__name__}: {exc}"
        log.finish(run)
        try:
            log.write()
        except GreeneryError:
            pass  # the server that failed the work may be gone: the work's own error is the news
        raise
    log.finish(run)
    log.write()
