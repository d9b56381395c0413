"""`greenery query`: ad-hoc, read-only SQL against the warehouse (or the Spark engine, where the
SQL goes through the dialect: engines/spark/query.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    from greenery_cli.rows import Rows


def run_query(
    db: str | Path | None, sql: str, *, wait: float = 10.0, engine: EngineSpec = DUCKDB
) -> Rows:
    if engine.is_spark:
        from greenery_cli.engines.spark import require

        require(f"--engine {engine.shown}")
        from greenery_cli.engines.spark.query import run_on_spark

        return run_on_spark(engine, sql)
    import duckdb

    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, wait=wait) as wh:
        try:
            return wh.fetch(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
