"""The same work as each greenery command, written by hand in DuckDB and run in-process.

Each function opens its own DuckDB connection (a file, like greenery), does the work and closes
it, so the connection, the checkpoint on close and the result fetch are all inside the timing.
The rendered SQL of greenery's models is prepared before timing (`LoadPlan`): the load baseline
executes the same model SELECTs, without greenery's orchestration, checks and bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten"
SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots", "meta")
PRODUCT_TYPES = {
    "product_id": "VARCHAR",
    "name": "VARCHAR",
    "price": "DOUBLE",
    "inventory": "INTEGER",
}
SNAPSHOT_DDL = """
create table if not exists snapshots.products_snapshot (
    snapshot_row_id bigint, product_id varchar, name varchar, price double,
    inventory integer, valid_from timestamptz not null, valid_to timestamptz,
    is_deleted boolean not null, opened_by_run bigint not null, closed_by_run bigint
);
create table if not exists snapshots.snapshot_runs (
    snapshot_run_id bigint, taken_at timestamptz, rows_opened bigint, rows_closed bigint,
    rows_deleted bigint, source varchar, check_columns varchar, missing_policy varchar
)
"""


def sql_file(name: str) -> str:
    return (HANDWRITTEN / f"{name}.sql").read_text()


def statements(sql: str) -> list[str]:
    """A script's statements, its comment lines dropped (they may name parameters)."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s for s in code.split(";") if s.strip()]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in columns.items()) + "}"


def typed_reader(path: Path, columns: dict[str, str]) -> str:
    """A SELECT reading one export with declared types: read_csv with the column types given,
    or read_parquet with a cast per column."""
    if path.suffix == ".csv":
        return (
            f"select * from read_csv({_literal(str(path))}, header = true, "
            f"columns = {_struct(columns)})"
        )
    casts = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns.items())
    return f"select {casts} from read_parquet({_literal(str(path))})"


def export_file(folder: Path, table: str) -> Path:
    for ext in ("parquet", "csv"):
        if (folder / f"{table}.{ext}").is_file():
            return folder / f"{table}.{ext}"
    raise FileNotFoundError(f"{folder}: no {table}.csv or {table}.parquet")


@dataclass(frozen=True)
class LoadPlan:
    raw: dict[str, dict[str, str]]  # raw table -> column types (the raw contract)
    seeds: list[tuple[str, Path, dict[str, str]]]  # seed name, csv, column types
    models: list[tuple[str, str]]  # relation, rendered SELECT, in build order


def load_plan() -> LoadPlan:
    from greenery_cli.project import builtin_root, read_project

    raw_tables = read_project(builtin_root()).sources
    from greenery_cli.models import build_order, discover
    from greenery_cli.seeds import declared_seeds

    return LoadPlan(
        raw={t.name: t.columns for t in raw_tables},
        seeds=[(s.name, s.path, s.columns) for s in declared_seeds()],
        models=[(m.relation, m.sql) for m in build_order(discover())],
    )


def load(db: Path, source: Path, plan: LoadPlan) -> None:
    """The raw tables read with their declared types, the seeds, then every model, in one
    transaction into a new DuckDB file."""
    con = duckdb.connect(str(db))
    con.execute("set TimeZone = 'UTC'")
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute("begin transaction")
    for table, columns in plan.raw.items():
        reader = typed_reader(export_file(source, table), columns)
        con.execute(f"create table raw.{table} as {reader}")
    for name, path, columns in plan.seeds:
        con.execute(f"create table seeds.{name} as {typed_reader(path, columns)}")
    for relation, select in plan.models:
        con.execute(f"create table {relation} as {select}")
    con.execute("commit")
    con.close()


def snapshot(db: Path, products: Path, taken_at: datetime, run_id: int | None = None) -> None:
    """Stage the products file, then close changed/vanished versions and insert new versions
    and tombstones, in one transaction (bench/handwritten/snapshot_merge.sql)."""
    con = duckdb.connect(str(db))
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema if not exists snapshots")
    for statement in statements(SNAPSHOT_DDL):
        con.execute(statement)
    con.execute("begin transaction")
    if run_id is None:
        run_id = int(
            con.execute(
                "select coalesce(max(snapshot_run_id), 0) + 1 from snapshots.snapshot_runs"
            ).fetchall()[0][0]
        )
    con.execute(f"create temp table staged as {typed_reader(products, PRODUCT_TYPES)}")
    params = {"taken_at": taken_at, "run_id": run_id}
    for statement in statements(sql_file("snapshot_merge")):
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    con.execute("commit")
    con.close()


def query(db: Path, names: tuple[str, ...], window_seconds: int = 86400) -> None:
    """Run hand-written report queries read-only and fetch every row."""
    con = duckdb.connect(str(db), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    for name in names:
        sql = sql_file(name)
        params = {"window_seconds": window_seconds} if "$window_seconds" in sql else None
        con.execute(sql, params).fetchall()
    con.close()


def floor_tables(source: Path) -> tuple[duckdb.DuckDBPyConnection, list[Path]]:
    """The generated files read into an in-memory DuckDB (untimed set-up of `write_floor`)."""
    files = sorted(p for p in source.rglob("*") if p.suffix in (".csv", ".parquet"))
    con = duckdb.connect()
    for i, path in enumerate(files):
        reader = "read_csv" if path.suffix == ".csv" else "read_parquet"
        con.execute(f"create table t{i} as select * from {reader}({_literal(str(path))})")
    return con, files


def write_floor(con: duckdb.DuckDBPyConnection, files: list[Path], out: Path) -> None:
    """COPY the generated tables (already in memory) to files of the same format: the cost of
    writing the generator's output, a floor rather than a generator."""
    out.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(files):
        options = "(format csv, header true)" if path.suffix == ".csv" else "(format parquet)"
        con.execute(f"copy t{i} to {_literal(str(out / f't{i}{path.suffix}'))} {options}")
