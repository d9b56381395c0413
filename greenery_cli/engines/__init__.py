"""Where greenery's SQL runs.

DuckDB (the warehouse file) is the engine every command uses today. `engines.spark` holds what
running the same project on Apache Spark through Spark Connect needs: the DuckDB-to-Spark SQL
dialect (`engines.spark.dialect`) and a local Spark Connect server (`engines.spark.server`).
Both import sqlglot/pyspark at module level, so import them only on the Spark path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from greenery_cli.engines.url import EngineSpec


@contextmanager
def open_engine(
    db: str | Path | None, engine: EngineSpec, *, write: bool = False, wait: float = 30.0
) -> Iterator[Any]:
    """The engine's operations: a DuckDB `Warehouse` on the --db file, or a `SparkEngine`
    session on the Spark Connect server (which has no writer lock: the server serialises)."""
    if engine.is_spark:
        from greenery_cli.engines.spark.engine import connect

        with connect(engine) as spark:
            yield spark
        return
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, write=write, wait=wait) as wh:
        yield wh
