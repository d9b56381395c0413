"""A stand-in for the Spark engine: the SparkEngine calls greenery's Spark commands make,
answered by a DuckDB warehouse, every statement also translated by the dialect and parsed as
Spark SQL. Fast tests run a Spark command through it (the `on_stand_in` fixture of conftest.py)
and compare with DuckDB's own command on a copy of the same warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

STAND_IN = "sc://127.0.0.1:1"  # never reached: `connect` answers with the stand-in


@contextmanager
def _as_spark_errors() -> Iterator[None]:
    """A failing statement as SparkEngine reports it: one WarehouseError line."""
    from greenery_cli.errors import WarehouseError

    try:
        yield
    except duckdb.Error as exc:
        raise WarehouseError(f"Spark: {str(exc).splitlines()[0]}") from None


class Markers:
    """The writer lock's markers (engines/spark/lock.py) as DuckDB tables, for a stand-in over
    a DuckDB connection (`self.con`, or its warehouse's `self.wh.con`)."""

    def _duck(self) -> duckdb.DuckDBPyConnection:
        return self.con if hasattr(self, "con") else self.wh.con  # type: ignore[attr-defined]

    def create_marker(self, relation: str, properties: dict[str, str]) -> bool:
        # as SparkEngine's: a second CREATE of the same name is refused by the catalogue
        con = self._duck()
        con.execute("create schema if not exists " + relation.split(".")[0])
        try:
            con.execute(f"create table {relation} (name varchar, value varchar)")
        except duckdb.CatalogException:
            return False
        con.executemany(f"insert into {relation} values (?, ?)", list(properties.items()))
        return True

    def marker(self, relation: str) -> dict[str, str] | None:
        try:
            found = self._duck().execute(f"select name, value from {relation}").fetchall()
        except duckdb.CatalogException:
            return None
        return {str(n): str(v) for n, v in found}

    def drop_marker(self, relation: str) -> None:
        self._duck().execute(f"drop table if exists {relation}")


class BuildingStandIn(Markers):
    """The SparkEngine calls the Spark commands make, on a DuckDB warehouse; each statement is also
    translated by the dialect and parsed as Spark SQL."""

    path = STAND_IN

    def __init__(self, wh: Any) -> None:
        self.wh = wh
        self.sent: list[str] = []

    def _spark(self, sql: str, where: str | None = None) -> None:
        import sqlglot

        from greenery_cli.engines.spark.dialect import to_spark

        sqlglot.parse_one(spark_sql := to_spark(sql, where=where), read="spark")
        self.sent.append(spark_sql)

    def execute(self, sql: str, params: Any = None) -> None:
        self._spark(sql)
        self.wh.execute(sql, params)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self._spark(sql)
        return self.wh.rows(sql, params)

    def scalar(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        return self.wh.scalar(sql, params)

    def relations(self) -> dict[str, str]:
        return dict(self.wh.relations())

    def table_exists(self, schema: str, table: str) -> bool:
        return f"{schema}.{table}" in self.wh.relations()

    def column_types(self, relation: str) -> dict[str, str]:
        return {str(row[0]): str(row[1]) for row in self.wh.rows(f"describe {relation}")}

    def kind_of(self, relation: str) -> str | None:
        return self.relations().get(relation)

    def drop(self, relation: str) -> None:
        kind = self.kind_of(relation)
        if kind is not None:
            self.wh.execute(f"drop {kind.lower()} {relation}")

    def create_table_as(self, relation: str, select: str, params: Any = None) -> None:
        # as SparkEngine does: a scratch table, renamed over the old one once it is whole
        self._spark(select, where=relation)
        scratch = f"{relation}__greenery_new"
        self.drop(scratch)
        with _as_spark_errors():
            self.wh.execute(f"create table {scratch} as {select}", params)
        self.drop(relation)
        self.wh.execute(f"alter table {scratch} rename to {relation.split('.')[1]}")

    def ensure_schemas(self) -> None:
        from greenery_cli.engines.spark.engine import SCHEMAS

        for schema in SCHEMAS:
            self.execute(f"create schema if not exists {schema}")

    @staticmethod
    def _local(path: str, glob: str | None) -> str:
        """A file:// URL's path on this machine (the stand-in reads only those), with the glob."""
        local = path.removeprefix("file://")
        return f"{local}/{glob}" if glob else local

    def read_csv(self, path: str, name: str, glob: str | None = None) -> list[str]:
        # as SparkEngine reads an export: every column a string, the header's names
        self.wh.execute(
            f"create or replace temp view {name} as select * from "
            f"read_csv('{self._local(path, glob)}', header = true, all_varchar = true)"
        )
        return [row[0] for row in self.wh.rows(f"describe {name}")]

    def send_csv(self, path: Any, name: str) -> list[str]:
        return self.read_csv(str(path), name)

    def send_arrow(self, table: Any, name: str) -> None:
        self.wh.con.register(name, table)

    def read_parquet(self, path: str, name: str, glob: str | None = None) -> dict[str, str]:
        # as SparkEngine reads one: its columns and their types, DuckDB's names
        self.wh.execute(
            f"create or replace temp view {name} as select * from "
            f"read_parquet('{self._local(path, glob)}')"
        )
        return {str(row[0]): str(row[1]) for row in self.wh.rows(f"describe {name}")}

    def list_files(self, url: str) -> list[str]:
        # as the server lists a file:// folder: every file below it, named file:/..., without
        # names starting with . or _
        from pathlib import Path

        from greenery_cli.errors import SourceError

        root = Path(url.removeprefix("file://"))
        if not root.is_dir():
            raise SourceError(f"Spark: [PATH_NOT_FOUND] Path does not exist: file:{root}")
        return sorted(
            f"file:{p}"
            for p in root.rglob("*")
            if p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
        )

    def hide(self, secret: str) -> None:
        pass

    def create_view_as(self, relation: str, select: str) -> None:
        self._spark(select, where=relation)
        if self.kind_of(relation) == "TABLE":
            self.drop(relation)
        with _as_spark_errors():
            self.wh.execute(f"create or replace view {relation} as {select}")


class SnapshotStandIn(BuildingStandIn):
    """The SparkEngine calls the snapshot's runs, guards and dry run make, on a DuckDB
    warehouse; each statement is also translated by the dialect and parsed as Spark SQL."""

    def frame(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        return self.wh.frame(sql, params)

    def create_temp_table(self, name: str, select: str, params: Any = None) -> None:
        self._spark(select)
        self.wh.execute(f"create or replace temp table {name} as {select}", params)
