"""`greenery query`: ad-hoc, read-only SQL against the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl


def run_query(db: str | Path | None, sql: str, *, wait: float = 10.0) -> pl.DataFrame:
    import duckdb

    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, wait=wait) as wh:
        try:
            return wh.frame(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
