"""`greenery query` on a Spark Connect engine: the user's DuckDB SQL, read-only, as plain rows.

DuckDB's `query` opens the warehouse read-only, so a write fails there; a Spark session has no
read-only mode, so only a query (SELECT, WITH, a set operation) is sent, and anything else is
refused before it reaches the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from greenery_cli.engines.spark.dialect import to_spark
from greenery_cli.engines.url import EngineSpec
from greenery_cli.errors import DataError, UsageError, WarehouseError

if TYPE_CHECKING:
    from greenery_cli.rows import Rows


def check_read_only(sql: str) -> None:
    """Refuse, in one line, a statement that is not a query (the dialect reads it first, so a
    construct Spark cannot express or a second statement is refused by `to_spark` as ever)."""
    to_spark(sql, where="query")  # NotPortable / one statement, named as the dialect names them
    tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Query) or tree.args.get("into") is not None:
        kind = "SELECT INTO" if isinstance(tree, exp.Query) else tree.key.upper()
        raise UsageError(
            "query failed: greenery query only reads: on the Spark engine it runs a SELECT "
            f"(or WITH, UNION, ...), not {kind}"
        )


def run_on_spark(spec: EngineSpec, sql: str) -> Rows:
    """The query's rows; the server's error, or a value that does not cast, as one line (exit 2,
    as DuckDB's `query` reports its errors)."""
    from greenery_cli.engines.spark.engine import connect

    check_read_only(sql)
    with connect(spec) as engine:
        try:
            return engine.fetch(sql)
        except (WarehouseError, DataError) as exc:
            raise UsageError(f"query failed: {exc}") from None
