"""The run log on Spark (engines/spark/meta.py), checked without a JVM: its statements run on
DuckDB through a stand-in with the SparkEngine calls it makes, and each one is transpiled to
Spark SQL and parsed as such (the slow tests in test_spark_cli.py run them on Spark)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlglot", reason="the spark extra is not installed")

import duckdb  # noqa: E402
import sqlglot  # noqa: E402
from spark_stand_in import Markers  # noqa: E402

from greenery_cli.engines.spark.dialect import to_spark  # noqa: E402
from greenery_cli.engines.spark.meta import append, columns, ensure, recorded_run  # noqa: E402
from greenery_cli.errors import DataError  # noqa: E402


class DuckStandIn(Markers):
    """The SparkEngine calls meta.py makes, on an in-memory DuckDB; every statement is also
    transpiled and parsed as Spark SQL."""

    path = "stand-in"

    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:")
        self.spark_sql: list[str] = []

    def _check(self, sql: str) -> None:
        spark_sql = to_spark(sql)
        sqlglot.parse_one(spark_sql, read="spark")
        self.spark_sql.append(spark_sql)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._check(sql)
        self.con.execute(sql, params or None)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        self._check(sql)
        found = self.con.execute(sql, params or None).fetchone()
        return found[0] if found else None

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()[0]  # type: ignore[index]
        )

    def create_table_as(self, relation: str, select: str) -> None:
        self._check(select)
        self.con.execute(f"create table {relation} as {select}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'meta' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()


def test_the_tables_have_the_warehouses_columns_and_types(tmp_path: Path) -> None:
    from greenery_cli.runs import ensure_trust_tables
    from greenery_cli.warehouse import open_warehouse

    engine = DuckStandIn()
    tables = ("runs", "loads", "model_builds", "changes", "freshness_checks")
    ensure(engine, tables)  # type: ignore[arg-type]
    ensure(engine, tables)  # type: ignore[arg-type]  # a second time changes nothing
    with open_warehouse(tmp_path / "w.duckdb", write=True) as wh:
        ensure_trust_tables(wh)
        for table in tables:
            theirs = _columns(wh.con, table)
            assert _columns(engine.con, table) == theirs
            assert len(theirs) == len(columns()[table]) >= 6
    assert all("TIMESTAMP WITH TIME ZONE" not in sql for sql in engine.spark_sql)


def test_rows_are_appended_with_their_values() -> None:
    engine = DuckStandIn()
    ensure(engine, ("loads",))  # type: ignore[arg-type]
    moment = datetime(2024, 10, 10, 6, 0, 0, 123456, tzinfo=UTC)
    rows = [
        [1, "events", "files", "/x", 3553, moment, "loaded", 3553],
        [1, "promos", "files", "/x", 6, moment, None, None],
    ]
    append(engine, "loads", rows)  # type: ignore[arg-type]
    append(engine, "loads", [])  # type: ignore[arg-type]  # nothing to write: no statement
    found = engine.rows("select * from meta.loads order by rows desc")
    assert [list(r[:5]) + [r[5].astimezone(UTC)] + list(r[6:]) for r in found] == rows
    assert sum("INSERT INTO meta.loads" in sql for sql in engine.spark_sql) == 1


def _runs(engine: DuckStandIn) -> list[tuple[Any, ...]]:
    return engine.rows(
        "select run_id, command, args, status, rows_affected, message from meta.runs "
        "order by run_id"
    )


def test_a_run_is_one_row_written_when_it_ends_and_ids_follow_on() -> None:
    engine = DuckStandIn()
    with recorded_run(engine, "load", {"source": "/x"}) as (_log, run):  # type: ignore[arg-type]
        assert _runs(engine) == []  # nothing is written while the run is under way
        run.rows_affected = 5092
        run.message = "all loaded"
    with recorded_run(engine, "snapshot", {"replay": "/w"}) as (log, outer):  # type: ignore[arg-type]
        for week in (1, 2):
            state = log.new("snapshot", {"replayed": f"week{week}"})
            state.rows_affected = week
            log.finish(state)
        outer.rows_affected = 3
    assert _runs(engine) == [
        (1, "load", '{"source": "/x"}', "success", 5092, "all loaded"),
        (2, "snapshot", '{"replay": "/w"}', "success", 3, None),
        (3, "snapshot", '{"replayed": "week1"}', "success", 1, None),
        (4, "snapshot", '{"replayed": "week2"}', "success", 2, None),
    ]
    # a history with ids the log never saw: the next run comes after them
    with recorded_run(engine, "snapshot", {}, at_least=10) as (_log, run):  # type: ignore[arg-type]
        assert run.run_id == 10


def test_a_failed_run_is_logged_as_its_error_with_the_runs_it_finished() -> None:
    engine = DuckStandIn()
    with pytest.raises(DataError, match="week 2: bad"):
        with recorded_run(engine, "snapshot", {"replay": "/w"}) as (log, _outer):  # type: ignore[arg-type]
            first = log.new("snapshot", {"replayed": "week1"})
            log.finish(first)
            log.new("snapshot", {"replayed": "week2"})
            raise DataError("week 2: bad value")
    rows = _runs(engine)
    assert [(r[0], r[3], r[5]) for r in rows] == [
        (1, "error", "week 2: bad value"),
        (2, "success", None),
    ]
    assert json.loads(rows[0][2]) == {"replay": "/w"}
