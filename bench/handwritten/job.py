"""The hand-written DuckDB contender: a small Python process that imports duckdb and runs the SQL
beside it, so its interpreter start-up and `import duckdb` are measured like greenery's.

    job.py load DB CONTRACT SOURCE          the seven raw tables, typed, into a new DB
    job.py query DB NAME [NAME ...]         hand-written questions (NAME.sql), rows as JSON
    job.py snapshot DB CONTRACT PRODUCTS AT the type-2 merge of a products file (snapshot_merge.sql)
    job.py funnel-from-files DB CONTRACT SOURCE   events into a new DB, then the funnel by step
    job.py sql DB SELECT                    any read-only SELECT, rows as JSON

CONTRACT is a JSON file {table: {column: type}} (the raw contract, written by the benchmark).
Values go in as bound parameters; file paths and types come from the benchmark, not from users.
Imports nothing but duckdb and the standard library.
"""

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
SCHEMAS = ("raw", "snapshots", "marts")
WINDOW_SECONDS = 86400
SNAPSHOT_DDL = """
create schema if not exists snapshots;
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


def statements(sql: str) -> list[str]:
    """A script's statements, its comment lines dropped (they may name parameters)."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s for s in code.split(";") if s.strip()]


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_file(folder: Path, table: str) -> Path:
    for ext in ("parquet", "csv"):
        if (folder / f"{table}.{ext}").is_file():
            return folder / f"{table}.{ext}"
    raise FileNotFoundError(f"{folder}: no {table}.csv or {table}.parquet")


def typed_reader(path: Path, columns: dict[str, str]) -> str:
    """A SELECT of one export with the contract's types: read_csv with the types given, or
    read_parquet with a cast per column."""
    if path.suffix == ".csv":
        struct = ", ".join(f"{literal(c)}: {literal(t)}" for c, t in columns.items())
        return (
            f"select * from read_csv({literal(str(path))}, header = true, columns = {{{struct}}})"
        )
    casts = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns.items())
    return f"select {casts} from read_parquet({literal(str(path))})"


def connect(db: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """In UTC, within the memory the benchmark gives every contender (env
    BENCH_DUCKDB_MEMORY_LIMIT; unset: DuckDB's default)."""
    con = duckdb.connect(db, read_only=read_only)
    limit = os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT")
    cap = f"; set memory_limit = {literal(limit)}" if limit else ""
    con.execute("set TimeZone = 'UTC'" + cap)
    return con


def emit(rows: object) -> None:
    sys.stdout.write(json.dumps(rows, default=str))
    sys.stdout.write("\n")


def load_raw(con: duckdb.DuckDBPyConnection, contract: dict, source: Path, tables: list) -> None:
    # as greenery's load: stored rows in no order, which spares the checkpoint rewriting the
    # threads' row groups (the limit should not pay for what greenery found it need not)
    con.execute("set preserve_insertion_order = false")
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for table in tables:
        reader = typed_reader(export_file(source, table), contract[table])
        con.execute(f"create table raw.{table} as {reader}")
    con.execute("reset preserve_insertion_order")


def load(db: str, contract_file: str, source: str) -> None:
    contract = json.loads(Path(contract_file).read_text())
    con = connect(db)
    con.execute("begin transaction")
    load_raw(con, contract, Path(source), list(contract))
    con.execute("commit")
    con.close()


def run_sql(con: duckdb.DuckDBPyConnection, name: str) -> list:
    sql = (HERE / f"{name}.sql").read_text()
    params = {"window_seconds": WINDOW_SECONDS} if "$window_seconds" in sql else None
    return con.execute(sql, params).fetchall()


def query(db: str, names: list) -> None:
    con = connect(db, read_only=True)
    emit({name: run_sql(con, name) for name in names})
    con.close()


def snapshot(db: str, contract_file: str, products: str, taken_at: str) -> None:
    columns = json.loads(Path(contract_file).read_text())["products"]
    con = connect(db)
    for statement in statements(SNAPSHOT_DDL):
        con.execute(statement)
    con.execute("begin transaction")
    run_id = con.execute(
        "select coalesce(max(snapshot_run_id), 0) + 1 from snapshots.snapshot_runs"
    ).fetchall()[0][0]
    con.execute(f"create temp table staged as {typed_reader(Path(products), columns)}")
    params = {"taken_at": datetime.fromisoformat(taken_at), "run_id": run_id}
    for statement in statements((HERE / "snapshot_merge.sql").read_text()):
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    con.execute("commit")
    con.close()


def funnel_from_files(db: str, contract_file: str, source: str) -> None:
    contract = json.loads(Path(contract_file).read_text())
    con = connect(db)
    con.execute("begin transaction")
    load_raw(con, contract, Path(source), ["events"])
    for statement in statements((HERE / "funnel_events_from_raw.sql").read_text()):
        con.execute(statement)
    con.execute("commit")
    emit({"funnel_by_step": run_sql(con, "funnel_by_step")})
    con.close()


def sql(db: str, select: str) -> None:
    con = connect(db, read_only=True)
    emit(con.execute(select).fetchall())
    con.close()


def main(argv: list) -> None:
    task, db, *rest = argv
    if task == "load":
        load(db, *rest)
    elif task == "query":
        query(db, rest)
    elif task == "snapshot":
        snapshot(db, *rest)
    elif task == "funnel-from-files":
        funnel_from_files(db, *rest)
    elif task == "sql":
        sql(db, *rest)
    else:
        raise SystemExit(f"unknown task {task}")


if __name__ == "__main__":
    main(sys.argv[1:])
