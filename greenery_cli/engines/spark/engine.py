"""greenery's engine operations on a Spark Connect server (the counterpart of `Warehouse`).

Every statement is written in DuckDB's dialect and rendered through `dialect.to_spark` here, so
callers (the question functions, the loader, the snapshot) send the same SQL to either engine.
Tables are Parquet tables in the server's catalogue, in databases named as DuckDB's schemas.
pyspark's errors become one-line greenery errors that never show the URL's parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.spark.dialect import to_spark
from greenery_cli.engines.url import EngineSpec
from greenery_cli.errors import DataError, GreeneryError, SourceError, WarehouseError

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl
    import pyarrow as pa

    from greenery_cli.rows import Rows

SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots")
STALE = "greenery_stale_folder"  # the table that clears a folder no table owns


class SparkEngine:
    """An open Spark Connect session: greenery's engine operations, in DuckDB's dialect."""

    kind = "spark"
    read_only = False

    def __init__(self, spec: EngineSpec, session: Any) -> None:
        self.spec = spec
        self.spark = session
        self.path = spec.shown  # what messages name where DuckDB's name the warehouse file
        self._temp_tables: dict[str, Any] = {}
        self._hidden: set[str] = set()  # more secrets no message shows (a source URL's password)

    # -- statements and rows -------------------------------------------------------------
    def _sql(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None, spark_sql: str | None = None
    ) -> Any:
        spark_sql = spark_sql or to_spark(sql)
        args: Any = dict(params) if isinstance(params, dict) else list(params or []) or None
        with self.errors():
            return self.spark.sql(spark_sql, args=args) if args else self.spark.sql(spark_sql)

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        frame = self._sql(sql, params)
        with self.errors():
            return frame.toArrow()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        frame = self._sql(sql, params)
        with self.errors():
            frame.collect()

    def rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        table = self.arrow(sql, params)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns, strict=True)) if columns else []

    def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Rows:
        """A small answer as plain rows, as Warehouse.fetch gives (types from the values)."""
        from greenery_cli.rows import Rows

        table = self.arrow(sql, params)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return Rows(table.column_names, list(zip(*columns, strict=True)) if columns else [])

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        found = self.rows(sql, params)
        return found[0][0] if found else None

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        import polars as pl

        frame = pl.from_arrow(self.arrow(sql, params))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def remembered(self, key: str, compute: Callable[[], Any]) -> Any:
        """compute(), every time: another session may change the data in between (as
        Warehouse.remembered on a writer)."""
        return compute()

    # -- the catalogue -------------------------------------------------------------------
    def table_exists(self, schema: str, table: str) -> bool:
        with self.errors():
            return bool(self.spark.catalog.tableExists(f"{schema}.{table}"))

    def relations(self) -> dict[str, str]:
        """Every table and view of greenery's databases and its run log's (`meta`):
        `schema.name` -> TABLE or VIEW."""
        found = {}
        with self.errors():
            databases = {d.name for d in self.spark.catalog.listDatabases()}
            for schema in (s for s in (*SCHEMAS, "meta") if s in databases):
                for table in self.spark.catalog.listTables(schema):
                    if not table.isTemporary:
                        kind = "VIEW" if table.tableType == "VIEW" else "TABLE"
                        found[f"{schema}.{table.name}"] = kind
        return found

    def column_names(self, schema: str, table: str) -> list[str]:
        """A table's or view's columns, in order (as Warehouse.column_names gives)."""
        with self.errors():
            return [c.name for c in self.spark.catalog.listColumns(f"{schema}.{table}")]

    def column_types(self, relation: str) -> dict[str, str]:
        """A table's or view's columns (a session's temporary view's too), in order, with their
        types as DuckDB names them."""
        with self.errors():
            fields = self.spark.table(relation).schema.fields
        return {f.name: duckdb_type(f.dataType.simpleString()) for f in fields}

    def ensure_schemas(self) -> None:
        for schema in SCHEMAS:
            self.execute(f"create schema if not exists {schema}")

    def kind_of(self, relation: str) -> str | None:
        """TABLE, VIEW, or None when there is no such relation (one catalogue call or two)."""
        with self.errors():
            if not self.spark.catalog.tableExists(relation):
                return None
            found = self.spark.catalog.getTable(relation)
        return "VIEW" if found.tableType == "VIEW" else "TABLE"

    def drop(self, relation: str) -> None:
        kind = self.kind_of(relation)
        if kind is not None:
            self.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {relation}")

    def create_table_as(
        self, relation: str, select: str, params: dict[str, Any] | None = None
    ) -> None:
        """Replace `relation` with a Parquet table of the SELECT's rows (built under a scratch
        name first, so a failing SELECT leaves the old table as it was)."""
        scratch = f"{relation}__greenery_new"
        self.drop(scratch)
        spark_sql = f"create table {scratch} using parquet as {to_spark(select, where=relation)}"
        args = dict(params) if params else None
        self._clearing_stale(scratch, lambda: self.spark.sql(spark_sql, args=args).collect())
        self.drop(relation)
        rename = f"alter table {scratch} rename to {relation}"
        self._clearing_stale(relation, lambda: self.spark.sql(rename).collect())

    def _clearing_stale(self, relation: str, step: Callable[[], Any]) -> None:
        """Run `step`; when it fails because a folder is left where `relation`'s data would go
        and no table owns it (a run killed while writing, a server restarted with an in-memory
        catalogue), delete that folder and run `step` once more."""
        import re

        from pyspark.errors import PySparkException

        with self.errors():
            try:
                step()
                return
            except PySparkException as exc:
                found = re.search(r"location '([^']+)' already exists", str(exc))
                stale = (exc.getCondition() or "") == "LOCATION_ALREADY_EXISTS"
                if not stale or found is None or self.kind_of(relation) is not None:
                    raise
                location = found.group(1)
            # a managed table moved onto the folder takes it along when dropped (an empty
            # table's own empty folder, STALE, stays for the next time)
            schema = relation.split(".")[0]
            holder = f"{schema}.{STALE}"
            self.drop(holder)
            self.spark.sql(f"create table {holder} (stale int) using parquet").collect()
            self.spark.sql(f"alter table {holder} set location '{location}'").collect()
            self.drop(holder)
            step()

    def create_temp_table(
        self, name: str, select: str, params: dict[str, Any] | None = None
    ) -> None:
        """The SELECT's rows, computed once, as the session's temporary view `name` (a local
        checkpoint: in this session only, nothing in the catalogue's databases, freed with the
        session). Not a view of the SELECT itself: Spark 4.3 fails to plan the rewind guard's
        joins over such views (INTERNAL_ERROR_ATTRIBUTE_NOT_FOUND)."""
        from pyspark.sql.connect.session import SparkSession

        frame = self._sql(select, params)
        # pyspark files the checkpoint's frame under the thread's active session, which is the
        # first one the process made (a test's own, say): this one, while it is made
        active = SparkSession._active_session
        before = getattr(active, "session", None)
        active.session = self.spark
        try:
            with self.errors():
                kept = frame.localCheckpoint()
                kept.createOrReplaceTempView(name)
        finally:
            active.session = before
        self._temp_tables[name] = kept  # the server frees a checkpoint whose frame is freed

    def create_view_as(self, relation: str, select: str) -> None:
        if self.kind_of(relation) == "TABLE":
            self.drop(relation)
        spark_sql = f"create or replace view {relation} as {to_spark(select, where=relation)}"
        with self.errors():
            self._sql("", None, spark_sql).collect()

    # -- a marker: a view whose existence says something to every client (engines/spark/lock.py)
    def create_marker(self, relation: str, properties: dict[str, str]) -> bool:
        """Create the view `relation` carrying `properties`, at once for every client of the
        server; False when it exists already (the catalogue refuses a second)."""
        from pyspark.errors import PySparkException

        props = ", ".join(f"'{k}' = '{v.replace(chr(39), '')}'" for k, v in properties.items())
        try:
            self.spark.sql(f"create view {relation} tblproperties ({props}) as select 1 as marker")
        except PySparkException as exc:
            condition = getattr(exc, "getCondition", lambda: None)() or ""
            if condition.startswith("TABLE_OR_VIEW_ALREADY_EXISTS"):
                return False
            raise _translate(exc, WarehouseError, self) from None
        return True

    def marker(self, relation: str) -> dict[str, str] | None:
        """The properties of the marker `relation`, or None when there is none."""
        from pyspark.errors import PySparkException

        with self.errors():
            if not self.spark.catalog.tableExists(relation):
                return None
        try:
            found = self.spark.sql(f"show tblproperties {relation}").collect()
        except PySparkException:
            return None  # dropped between the two calls
        return {str(row[0]): str(row[1]) for row in found}

    def drop_marker(self, relation: str) -> None:
        with self.errors():
            self.spark.sql(f"drop view if exists {relation}").collect()

    def list_files(self, url: str) -> list[str]:
        """Every file under the folder `url` (any file system the server reads: file://,
        s3a://, hdfs://...), as the server names them; names starting with . or _ are left out,
        as Spark leaves them out of every read. Raises SourceError when there is no such folder."""
        with self.errors(SourceError):
            frame = (
                self.spark.read.format("binaryFile")
                .option("recursiveFileLookup", True)
                .load(url)
                .select("path")
            )
            return sorted(str(row[0]) for row in frame.collect())

    def read_csv(self, path: str, name: str, glob: str | None = None) -> list[str]:
        """A CSV file with a header as the session's temporary view `name`, every column a
        string (the caller casts to the declared types); its column names. With `glob`, every
        file of the folder `path` that matches it, read as one.

        Read as DuckDB's file source reads one (RFC 4180): a quote inside a quoted field is
        doubled (Spark's default escape is a backslash), and a quoted field may hold a line
        break (Spark's default reads each line as a record)."""
        with self.errors(SourceError):
            reader = (
                self.spark.read.option("header", True)
                .option("inferSchema", False)
                .option("mode", "FAILFAST")
                .option("quote", '"')
                .option("escape", '"')
                .option("multiLine", True)
            )
            if glob:
                reader = reader.option("pathGlobFilter", glob)
            frame = reader.csv(path)
            frame.createOrReplaceTempView(name)
            return list(frame.columns)

    def send_csv(self, path: Path, name: str) -> list[str]:
        """A small CSV file of this machine (a seed) as the session's temporary view `name`,
        read here and sent to the server, every column a string and an empty field NULL, as
        `read_csv` reads one there; its column names."""
        import csv

        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                lines = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"{path}: cannot read as CSV: {exc}") from None
        if not lines:
            raise DataError(f"{path}: empty file, expected a header row")
        header, *records = lines
        for number, record in enumerate(records, start=1):
            if len(record) != len(header):
                raise DataError(
                    f"{path} data row {number}: expected {len(header)} fields, found {len(record)}"
                )
        schema = ", ".join(f"`{c.replace('`', '``')}` string" for c in header)
        rows = [[field or None for field in record] for record in records]
        with self.errors(SourceError):
            self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
        return header

    def send_arrow(self, table: pa.Table, name: str) -> None:
        """Rows read on this machine (a database source's table) as the session's temporary
        view `name`, sent to the server as Arrow, their types kept."""
        with self.errors(SourceError):
            self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def read_parquet(self, path: str, name: str, glob: str | None = None) -> dict[str, str]:
        """A Parquet file (or a folder's files matching `glob`) as the session's temporary view
        `name`; its columns and their types, named as DuckDB names them (so
        sources/values.py's rules apply as they are)."""
        with self.errors(DataError):
            reader = self.spark.read.option("pathGlobFilter", glob) if glob else self.spark.read
            frame = reader.parquet(path)
            frame.createOrReplaceTempView(name)
            return {f.name: duckdb_type(f.dataType.simpleString()) for f in frame.schema.fields}

    # -- errors --------------------------------------------------------------------------
    def hide(self, secret: str) -> None:
        """Keep `secret` (a source URL's password) out of every message from now on."""
        if secret:
            self._hidden.add(secret)

    def _scrub(self, text: str) -> str:
        """A message without any of the URL's parameter values (a token, say), nor anything
        hidden."""
        _, _, params = self.spec.url.partition(";")
        secrets = {part.partition("=")[2] for part in params.split(";")} | self._hidden
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    @contextmanager
    def errors(self, kind: type[GreeneryError] = WarehouseError) -> Iterator[None]:
        """pyspark's exceptions as one-line greenery errors (a bad value is DataError)."""
        from pyspark.errors import PySparkException

        try:
            yield
        except GreeneryError:
            raise
        except PySparkException as exc:
            raise _translate(exc, kind, self) from None
        except Exception as exc:  # gRPC's errors, on a server gone away
            if type(exc).__module__.startswith(("grpc", "pyspark")):
                raise _translate(exc, kind, self) from None
            raise


_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",  # Spark's timestamp is a moment
    "timestamp_ntz": "TIMESTAMP",
}


def duckdb_type(spark_type: str) -> str:
    """DuckDB's name for a Spark column type (`decimal(18,3)` -> DECIMAL(18,3)); a type DuckDB
    has no counterpart for is returned as Spark spells it, upper-cased."""
    return _DUCKDB_TYPES.get(spark_type, spark_type.upper())


def _translate(exc: BaseException, kind: type[GreeneryError], engine: SparkEngine) -> GreeneryError:
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    details = next((ln for ln in lines if ln.startswith("details = ")), "")
    condition = getattr(exc, "getCondition", lambda: None)() or ""
    if condition.startswith(("CAST_INVALID_INPUT", "MALFORMED_RECORD")):
        kind = DataError
    elif "StatusCode.UNAVAILABLE" in text or "RETRIES_EXCEEDED" in text:
        why = details.removeprefix("details = ").strip('"') or "unavailable"
        return SourceError(
            engine._scrub(f"cannot reach the Spark Connect server {engine.path}: {why[:200]}")
        )
    elif details:
        first = details.removeprefix("details = ").strip('"')
    return kind(engine._scrub(f"Spark: {first[:400]}"))


@contextmanager
def connect(spec: EngineSpec) -> Iterator[SparkEngine]:
    """A session on the server `spec` names; refused in one line when it cannot be reached."""
    from greenery_cli.engines.spark import require

    require(f"--engine {spec.shown}")
    _quiet()
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    engine = SparkEngine(spec, None)
    try:
        with engine.errors():
            engine.spark = SparkSession.builder.remote(spec.url).create()
            # the client's default retries an unreachable server for 10 minutes; greenery says
            # so within seconds (about 8 s of back-off: 0.05, 0.2, 0.8, 3.2, 4 s)
            engine.spark.client.set_retry_policies([DefaultPolicy(max_retries=5, max_backoff=4000)])
            engine.spark.conf.set("spark.sql.session.timeZone", "UTC")
            # Spark replaces ${name} in SQL text, even inside a string ('${x}' reads as ''):
            # DuckDB reads it as written
            engine.spark.conf.set("spark.sql.variable.substitute", "false")
        yield engine
    finally:
        # stopped even when the server could not be reached: create() made it the process's
        # default session, which a later session in the same process must not inherit
        if engine.spark is not None:
            try:
                engine.spark.stop()
            except Exception:  # noqa: BLE001 - the server may already be gone; nothing to keep
                pass


def _quiet() -> None:
    """pyspark's client logs every failed query as JSON on stderr; greenery reports it once."""
    import warnings

    for name in ("pyspark", "py4j", "grpc", "SQLQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module="pyspark")
