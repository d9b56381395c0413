"""`greenery query`: ad-hoc, read-only SQL against the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    from greenery_cli.rows import Rows


def run_query(db: str | Path | None, sql: str, *, wait: float = 10.0) -> Rows:
    import duckdb

    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, wait=wait) as wh:
        try:
            return wh.fetch(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).splitlines()[0]}") from None
