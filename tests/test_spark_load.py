"""`greenery --engine sc://... load` reads what a DuckDB load reads and refuses what it refuses.

The exports: per raw table a .csv or a .parquet file, or a folder of batch files of both kinds,
the contract's columns by name in any order, extra columns carried. Every value is checked by
sources/values.py's rules, written once and run on Spark through the dialect.

Fast: through the DuckDB stand-in engine of test_spark_build (the Spark load's calls answered by
DuckDB, every statement also translated and parsed as Spark SQL), against a DuckDB load of the
same files. Slow: on the test run's Spark Connect server, the value rules give DuckDB's verdict
(and the plain-Python reference of test_bad_input) on every token, and the real data exported as
Parquet and batch files is staged into exactly the rows DuckDB loads.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli
from spark_stand_in import STAND_IN
from test_bad_input import CSV_VALUES, edit_line, reference_value
from test_postgres import pg_server  # noqa: F401 - the PostgreSQL server fixture
from test_spark_build import rows

from greenery_cli.errors import ExitCode, SourceError

TABLES = ("addresses", "events", "order_items", "orders", "products", "promos", "users")


def _exports(loaded: Path, target: Path) -> Path:
    """The real raw tables as exports of every kind a load reads: Parquet files, products with
    its columns reversed and an extra column, and events as a folder of one CSV batch and one
    Parquet batch."""
    target.mkdir(parents=True)
    with duckdb.connect(str(loaded), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for table in ("addresses", "order_items", "orders", "promos", "users"):
            con.execute(f"copy raw.{table} to '{target / table}.parquet' (format parquet)")
        columns = [r[0] for r in con.execute("describe raw.products").fetchall()]
        reversed_columns = ", ".join(reversed(columns))
        con.execute(
            f"copy (select {reversed_columns}, 'Greenery Ltd' as supplier from raw.products) "
            f"to '{target}/products.parquet' (format parquet)"
        )
        (target / "events").mkdir()
        half = "created_at < (select median(created_at) from raw.events)"
        con.execute(
            f"copy (select * from raw.events where {half}) to '{target}/events/1.csv' (header)"
        )
        con.execute(
            f"copy (select * from raw.events where not ({half})) "
            f"to '{target}/events/2.parquet' (format parquet)"
        )
    return target


def _raw_rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    return rows(db, f"select * from raw.{table} order by all")


def test_a_spark_load_reads_parquet_batches_and_extra_columns_as_duckdb(
    tmp_path: Path, loaded_real_warehouse: Path, on_stand_in: dict[str, Path]
) -> None:
    exports = _exports(loaded_real_warehouse, tmp_path / "exports")
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    on_stand_in["db"] = spark
    on_duck = run_cli("--db", str(duck), "load", "--source", str(exports))
    on_spark = run_cli("--engine", STAND_IN, "load", "--source", str(exports))
    assert on_duck.exit_code == 0, on_duck.stderr
    assert on_spark.exit_code == 0, on_spark.stderr
    for table in TABLES:
        assert _raw_rows(spark, table) == _raw_rows(duck, table), table
    # the rows are the real ones, whatever form they came in
    for table in TABLES:
        original = rows(loaded_real_warehouse, f"select count(*) from raw.{table}")
        assert rows(spark, f"select count(*) from raw.{table}") == original, table
    products = [r[0] for r in rows(spark, "describe raw.products")]
    assert products[-1] == "supplier" and products == [
        r[0] for r in rows(duck, "describe raw.products")
    ]


@pytest.mark.parametrize(
    ("table", "line", "column", "value", "said"),
    CSV_VALUES,
    ids=[f"{t}.{c}={v}" for t, _, c, v, _ in CSV_VALUES],
)
def test_a_spark_load_refuses_a_value_as_duckdb_does(
    raw_copy: Path,
    tmp_path: Path,
    on_stand_in: dict[str, Path],
    table: str,
    line: int,
    column: str,
    value: str,
    said: str,
) -> None:
    path = raw_copy / f"{table}.csv"
    path.write_text("\n".join(edit_line(line, column, value)(path.read_text().splitlines())) + "\n")
    on_stand_in["db"] = tmp_path / "spark.duckdb"
    result = run_cli("--engine", STAND_IN, "load", "--source", str(raw_copy))
    assert result.exit_code == ExitCode.WORK_FAILED, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert str(path) in message and f"column {column}: {value!r} {said}" in message
    written = on_stand_in["db"]  # a first command that fails leaves no warehouse behind
    assert not written.exists() or not rows(written, "select * from raw.products limit 1")


def test_a_spark_load_refuses_a_parquet_column_of_the_wrong_type(
    raw_copy: Path, tmp_path: Path, on_stand_in: dict[str, Path]
) -> None:
    csv = raw_copy / "products.csv"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (inventory > 10 as inventory) from read_csv('{csv}')) "
            f"to '{raw_copy}/products.parquet' (format parquet)"
        )
    csv.unlink()
    on_stand_in["db"] = tmp_path / "spark.duckdb"
    result = run_cli("--engine", STAND_IN, "load", "--source", str(raw_copy))
    assert result.exit_code == ExitCode.WORK_FAILED, result.stderr
    assert result.stderr.strip().endswith(
        f"{raw_copy / 'products.parquet'}: wrong column type(s): inventory is BOOLEAN, "
        "the raw contract declares INTEGER"
    )


def test_a_spark_load_names_an_ambiguous_or_missing_export_as_duckdb(
    raw_copy: Path, tmp_path: Path, on_stand_in: dict[str, Path]
) -> None:
    on_stand_in["db"] = tmp_path / "spark.duckdb"
    (raw_copy / "promos").mkdir()
    shutil.copy(raw_copy / "promos.csv", raw_copy / "promos" / "1.csv")
    said = []
    for engine in (("--db", str(tmp_path / "duck.duckdb")), ("--engine", STAND_IN)):
        result = run_cli(*engine, "load", "--source", str(raw_copy))
        assert result.exit_code == ExitCode.TOOL_ERROR, result.stderr
        said.append(result.stderr.strip().splitlines()[-1])
    assert said[0] == said[1] and "promos.csv and promos/ all exist" in said[0]
    (raw_copy / "promos.csv").unlink()
    shutil.rmtree(raw_copy / "promos")
    result = run_cli("--engine", STAND_IN, "load", "--source", str(raw_copy))
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "missing raw table file(s) for promos" in result.stderr


# --- on a Spark Connect server --------------------------------------------------------------

TOKENS = {
    "INTEGER": [
        "7", " 7 ", "+3", "-2147483648", "2147483647", "2147483648", "12.5", "1e2", "0x1F",
        "1_000", "lots", "99999999999", "0", "-0", "007",
    ],
    "BIGINT": ["9223372036854775807", "9223372036854775808", "12.0", " -4", "1e3"],
    "DOUBLE": [
        "1.5", "3.", ".5", "1e-3", "-2E10", "nan", "inf", "-inf", "1e400", "1_0.5", "abc",
        "1.7976931348623157e308", "0x10", " 2.5 ",
    ],
    "TIMESTAMPTZ": [
        "2021-02-11 05:46:52+00", "2021-02-11T05:46:52Z", "2021-02-11 05:46:52.123456+00",
        "2021-02-17T23:30:34.1234567Z", "294246-01-01T00:00:00Z", "infinity", "yesterday",
        "1800-01-01T00:00:00Z", "1900-01-01 00:00:00+00", "2199-12-31 23:59:59+00",
        "2200-01-01 00:00:00+00",
    ],
    "DATE": ["2021-02-11", "1899-12-31", "2199-12-31", "2200-01-01", "2021-13-01", "soon"],
}  # fmt: skip


def _refused_on_duckdb(declared: str, source_type: str, tokens: list[Any]) -> list[bool]:
    from greenery_cli.sources import values

    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create table t (i integer, x {source_type})")
        con.executemany("insert into t values (?, ?)", list(enumerate(tokens)))
        return [
            bool(r[0])
            for r in con.execute(
                f"select {values.refused('x', declared, source_type)} from t order by i"
            ).fetchall()
        ]


@pytest.mark.slow
def test_the_contracts_value_rules_give_duckdbs_verdicts_on_spark(spark: Any) -> None:
    """Every token of every declared type, as text (a CSV field; an empty one is NULL before
    these rules see it) and as typed Parquet values:
    refused on Spark exactly when DuckDB refuses it, and for numbers as the plain-Python
    reference of the documented rules says."""
    from greenery_cli.engines.spark.dialect import to_spark
    from greenery_cli.sources import values

    cases: list[tuple[str, str, list[Any]]] = [(d, "VARCHAR", t) for d, t in TOKENS.items()]
    cases += [
        ("INTEGER", "DOUBLE", [12.0, 12.5, -3.0, 2147483648.0, 1e300, float("nan"), float("inf")]),
        ("BIGINT", "DOUBLE", [9.007199254740992e15, 1e19, -1.5]),
    ]
    spark_types = {"VARCHAR": "string", "DOUBLE": "double"}
    for declared, source_type, tokens in cases:
        frame = spark.createDataFrame(
            list(enumerate(tokens)), f"i int, x {spark_types[source_type]}"
        )
        frame.createOrReplaceTempView("greenery_tokens")
        predicate = values.refused("x", declared, source_type)
        on_spark = [
            bool(r[0])
            for r in spark.sql(
                to_spark(f"select {predicate} from greenery_tokens order by i")
            ).collect()
        ]
        on_duckdb = _refused_on_duckdb(declared, source_type, tokens)
        differ = [t for t, s, d in zip(tokens, on_spark, on_duckdb, strict=True) if s != d]
        assert not differ, (declared, source_type, differ)
        if declared in ("INTEGER", "DOUBLE") and source_type == "VARCHAR":
            expected = [not reference_value(t, declared)[0] for t in tokens]
            assert on_duckdb == expected, declared


@pytest.mark.slow
def test_parquet_and_batch_exports_stage_on_spark_as_duckdb_loads_them(
    spark_server: Any, loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    """Found on this machine, or by the server in a folder URL (file:// here, as s3a:// would
    be) whose raw/ subfolder holds them: the same files, staged into DuckDB's rows."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.load import _local_exports, _remote_exports, _stage_raw
    from greenery_cli.engines.url import parse_engine
    from greenery_cli.project import current
    from greenery_cli.sources.files import FileSource

    exports = _exports(loaded_real_warehouse, tmp_path / "data" / "raw")
    (tmp_path / "data" / "notes").mkdir()
    (tmp_path / "data" / "notes" / "events.csv").write_text("not,an,export\n")
    duck = tmp_path / "duck.duckdb"
    assert run_cli("--db", str(duck), "load", "--source", str(exports)).exit_code == 0
    tables = current().sources
    source = FileSource(exports)
    with connect(parse_engine(spark_server.url)) as engine:
        root, remote = _remote_exports(engine, f"file://{tmp_path / 'data'}/", tables)
        assert root == f"file://{exports}"
        assert [e.label for e in remote["events"]] == [
            f"file://{exports}/events/*.csv",
            f"file://{exports}/events/*.parquet",
        ]
        for table in tables:
            expected = Counter(_raw_rows(duck, table.name))
            for found in (_local_exports(source, table), remote[table.name]):
                staged = engine.rows(f"select * from ({_stage_raw(engine, found, table)}) as s")
                # aware datetimes are equal (and hash) by instant, whatever zone each engine gives
                assert Counter(staged) == expected, (table.name, found)
        with pytest.raises(SourceError, match="cannot list the folder"):
            _remote_exports(engine, f"file://{tmp_path}/nowhere", tables)


class _Listing:
    """An engine whose server lists the given files (as Spark names them)."""

    def __init__(self, *paths: str) -> None:
        self.paths = list(paths)

    def list_files(self, url: str) -> list[str]:
        return self.paths

    def hide(self, secret: str) -> None:
        self.hidden = secret


def test_a_remote_folder_is_chosen_from_by_duckdbs_rules() -> None:
    from greenery_cli.engines.spark.load import Export, _remote_exports
    from greenery_cli.project.sources import RawTable

    def table(name: str) -> RawTable:
        return RawTable(name, {"id": "VARCHAR"}, ("id",), freshness_column=None)

    tables = (table("events"), table("products"))
    listing = _Listing(
        "s3a://shop/exports/raw/events/2024-01.csv",
        "s3a://shop/exports/raw/events/2024-02.parquet",
        "s3a://shop/exports/raw/events/notes.txt",
        "s3a://shop/exports/raw/events/deeper/x.csv",
        "s3a://shop/exports/raw/products.parquet",
        "s3a://shop/exports/inventory-weeks/products-week-1.csv",
    )
    root, chosen = _remote_exports(listing, "s3a://shop/exports/", tables)  # type: ignore[arg-type]
    assert root == "s3a://shop/exports/raw"
    assert chosen == {
        "events": [
            Export("s3a://shop/exports/raw/events/*.csv", "csv", root + "/events", "*.csv"),
            Export(
                "s3a://shop/exports/raw/events/*.parquet", "parquet", root + "/events", "*.parquet"
            ),
        ],
        "products": [Export(root + "/products.parquet", "parquet", root + "/products.parquet")],
    }
    spaced = _Listing("file:/data/my%20exports/events.csv", "file:/data/my%20exports/products.csv")
    root, chosen = _remote_exports(spaced, "file:///data/my exports", tables)  # type: ignore[arg-type]
    assert [e.label for e in chosen["products"]] == ["file:///data/my exports/products.csv"]
    both = _Listing("s3a://b/x/events.csv", "s3a://b/x/events/1.csv", "s3a://b/x/products.csv")
    with pytest.raises(SourceError, match=r"events.csv and events/ all exist for raw table events"):
        _remote_exports(both, "s3a://b/x", tables)  # type: ignore[arg-type]
    with pytest.raises(SourceError, match=r"s3a://b/x: no products.csv, products.parquet or"):
        _remote_exports(_Listing("s3a://b/x/events.csv"), "s3a://b/x", tables)  # type: ignore[arg-type]


def test_batch_files_whose_extra_columns_differ_are_refused_as_duckdb(
    raw_copy: Path, tmp_path: Path, on_stand_in: dict[str, Path]
) -> None:
    lines = (raw_copy / "promos.csv").read_text().splitlines()
    (raw_copy / "promos").mkdir()
    (raw_copy / "promos" / "1.csv").write_text("\n".join(lines[:3]) + "\n")
    with_extra = [lines[0] + ",note"] + [line + ",x" for line in lines[3:]]
    (raw_copy / "promos" / "2.csv").write_text("\n".join(with_extra) + "\n")
    (raw_copy / "promos.csv").unlink()
    on_stand_in["db"] = tmp_path / "spark.duckdb"
    said = []
    for engine in (("--db", str(tmp_path / "duck.duckdb")), ("--engine", STAND_IN)):
        result = run_cli(*engine, "load", "--source", str(raw_copy))
        assert result.exit_code == ExitCode.WORK_FAILED, result.stderr
        said.append(result.stderr.strip().splitlines()[-1])
    assert said[0] == said[1]
    assert said[0].endswith(
        f"{raw_copy}/promos/2.csv: extra column(s) note differ from 1.csv's (none); every file "
        "of raw table promos needs the same columns"
    )


@pytest.mark.slow
def test_a_snapshot_source_on_spark_is_staged_as_a_load_reads_it(
    spark_server: Any, loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    """`snapshot --source` on Spark: products as Parquet with an extra column, here or at a
    folder URL; the staged rows are the contract's columns of DuckDB's products."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.snapshot import STAGED, source_stage
    from greenery_cli.engines.url import parse_engine

    exports = _exports(loaded_real_warehouse, tmp_path / "exports")
    expected = Counter(rows(loaded_real_warehouse, "select * from raw.products"))
    with connect(parse_engine(spark_server.url)) as engine:
        for source in (str(exports), f"file://{exports}"):
            count, where = source_stage(engine, source)()
            assert (count, where) == (len(expected.keys()), source.rstrip("/")), source
            staged = engine.rows(
                f"select product_id, name, price, inventory from {STAGED} order by source_position"
            )
            assert Counter(staged) == expected


def test_a_folder_urls_password_is_never_shown() -> None:
    from greenery_cli.engines.spark.engine import SparkEngine
    from greenery_cli.engines.spark.load import _remote_exports
    from greenery_cli.engines.url import parse_engine
    from greenery_cli.project import current
    from greenery_cli.sources import redact_location, url_password

    url = "s3a://AKIA:s3cr3t@shop/exports"
    assert redact_location(url) == "s3a://AKIA:***@shop/exports"
    assert url_password(url) == "s3cr3t" and url_password("s3a://shop/exports") is None
    assert redact_location("/data/exports") == "/data/exports"
    assert "pw" not in (redact_location("postgresql://me:pw@db/shop") or "")
    products = next(t for t in current().sources if t.name == "products")
    listing = _Listing(url + "/products.csv")
    root, chosen = _remote_exports(listing, url, (products,))  # type: ignore[arg-type]
    assert root == "s3a://AKIA:***@shop/exports" and listing.hidden == "s3cr3t"
    assert chosen["products"][0].label == root + "/products.csv"
    assert chosen["products"][0].path == url + "/products.csv"  # the server reads the real one
    engine = SparkEngine(parse_engine("sc://h:1/;token=t0k"), session=None)
    engine.hide("s3cr3t")
    said = engine._scrub(f"Path does not exist: {url}/x.csv (token t0k)")
    assert "s3cr3t" not in said and "t0k" not in said and "AKIA:***@shop" in said


def test_a_spark_load_from_a_folder_url_is_a_load_from_the_folder(
    tmp_path: Path, loaded_real_warehouse: Path, on_stand_in: dict[str, Path]
) -> None:
    """Through the CLI: the same rows as DuckDB's load of the folder, and the run log names
    the URL."""
    import json

    exports = _exports(loaded_real_warehouse, tmp_path / "data" / "raw")
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    on_stand_in["db"] = spark
    assert run_cli("--db", str(duck), "load", "--source", str(exports)).exit_code == 0
    url = f"file://{tmp_path / 'data'}"
    result = run_cli("--engine", STAND_IN, "load", "--source", url)
    assert result.exit_code == 0, result.stderr
    assert f"from file://{exports} (run 1)" in result.stderr
    for table in TABLES:
        assert _raw_rows(spark, table) == _raw_rows(duck, table), table
    args = json.loads(rows(spark, "select args from meta.runs where run_id = 1")[0][0])
    assert args["source"] == url


def _load_log(db: Path) -> dict[str, Any]:
    """The newest run's row, its loads (without the time) and, from last_run, its builds and
    changes."""
    from test_spark_build import last_run

    logged = last_run(db)
    run_id = logged["run"][0]
    logged["loads"] = rows(
        db,
        "select table_name, source_kind, location, rows, action, rows_added from meta.loads "
        f"where run_id = {run_id} order by table_name",
    )
    return logged


def test_a_spark_load_with_select_loads_what_duckdbs_loads(
    raw_copy: Path, tmp_path: Path, on_stand_in: dict[str, Path]
) -> None:
    """`load --select`: the chosen models and the raw tables and seeds they read, as DuckDB's
    load chooses them, with DuckDB's run log; a model whose input was never built is refused
    before anything is written, in DuckDB's words."""
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    on_stand_in["db"] = spark

    def both(*select: str) -> tuple[Any, Any]:
        args = ("load", "--source", str(raw_copy), "--select", *select)
        return run_cli("--db", str(duck), *args), run_cli("--engine", STAND_IN, *args)

    def loaded(db: Path) -> list[str]:
        present = rows(db, "select schema_name || '.' || table_name from duckdb_tables()")
        return sorted(r for (r,) in present if r.startswith(("raw.", "seeds.")))

    # int_addresses_geo reads stg_addresses (raw.addresses) and the us_states seed
    on_duck, on_spark = both("+int_addresses_geo")
    assert on_duck.exit_code == 0, on_duck.stderr
    assert on_spark.exit_code == 0, on_spark.stderr
    assert loaded(spark) == loaded(duck) == ["raw.addresses", "seeds.us_states"]
    assert "loaded 1 raw tables (" in on_spark.stderr
    assert "and 1 seeds, built 2 models" in on_spark.stderr
    assert _load_log(spark) == _load_log(duck)
    assert _load_log(spark)["run"][2]["select"] == ["+int_addresses_geo"]
    assert _raw_rows(spark, "addresses") == _raw_rows(duck, "addresses")
    geo = "select * from intermediate.int_addresses_geo order by all"
    assert rows(spark, geo) == rows(duck, geo)

    # dim_products reads stg_order_items, never built: refused on both, nothing loaded
    on_duck, on_spark = both("dim_products")
    assert on_duck.exit_code == on_spark.exit_code == ExitCode.TOOL_ERROR, on_spark.stderr
    said = on_duck.stderr.strip().splitlines()[-1]
    assert "reads model stg_order_items, which has never been built" in said
    assert on_spark.stderr.strip().splitlines()[-1] == said
    assert loaded(spark) == ["raw.addresses", "seeds.us_states"]
    assert _load_log(spark)["run"] == _load_log(duck)["run"]  # logged as the error it was


@pytest.mark.slow
def test_a_spark_load_with_select_on_the_server_loads_only_what_it_reads(
    real_replayed_spark: str,
    real_replayed_duckdb: Path,
    real_data: Path,
    spark: Any,
    tmp_path: Path,
) -> None:
    """On the test run's server (its shared real load): `load --select +int_addresses_geo`
    rewrites raw.addresses, the us_states seed and the two models, and nothing else, into
    DuckDB's rows (its load of a copy, choosing the same tables)."""
    from conftest import copy_warehouse
    from test_spark_build import _contents, _next_run_id, _spark_log

    from greenery_cli.engines.spark.load import REBUILT

    duck = copy_warehouse(real_replayed_duckdb, tmp_path / "duck.duckdb")
    run_id = _next_run_id(spark)
    args = ("load", "--source", str(real_data / "raw"), "--select", "+int_addresses_geo")
    on_spark = run_cli("--engine", real_replayed_spark, *args)
    on_duck = run_cli("--db", str(duck), *args)
    assert on_spark.exit_code == on_duck.exit_code == 0, on_spark.stderr
    assert "loaded 1 raw tables (" in on_spark.stderr
    assert f"and 1 seeds, built 2 models on {real_replayed_spark} " in on_spark.stderr
    logged = _spark_log(spark, run_id)
    assert logged["run"][1:4] == (
        "load",
        {"source": str(real_data / "raw"), "select": ["+int_addresses_geo"], "full_refresh": False},
        "success",
    )
    assert [(b[0], b[4], b[5]) for b in logged["builds"]] == [
        ("stg_addresses", "built", REBUILT),
        ("int_addresses_geo", "built", REBUILT),
    ]
    assert [c[0] for c in logged["changes"]] == [
        "intermediate.int_addresses_geo", "raw.addresses", "seeds.us_states",
        "staging.stg_addresses",
    ]  # fmt: skip
    duck_loads = rows(
        duck, "select table_name from meta.loads where run_id = (select max(run_id) from meta.runs)"
    )
    assert duck_loads == [("addresses",)]
    for relation in ("raw.addresses", "intermediate.int_addresses_geo"):
        spark_rows = _contents(("--engine", real_replayed_spark), relation)
        assert spark_rows == _contents(("--db", str(duck)), relation), relation


@pytest.mark.slow
def test_a_spark_load_from_postgres_on_the_server_sends_duckdbs_rows(
    real_replayed_spark: str,
    real_replayed_duckdb: Path,
    pg_server: Any,  # noqa: F811 - test_postgres's fixture, imported above
    spark: Any,
) -> None:
    """On the test run's server: the real tables read from PostgreSQL here and sent as Arrow
    (products: integers and doubles; events: moments) hold the rows DuckDB loaded from the
    exports; the run log names the database without its password."""
    from test_postgres import PASSWORD

    from greenery_cli.sources.postgres import redact

    url = pg_server.url()
    result = run_cli(
        "--engine", real_replayed_spark, "load", "--source", url,
        "--select", "stg_products stg_events",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "loaded 2 raw tables (" in result.stderr and PASSWORD not in result.stderr
    from test_spark_build import _contents

    for relation in ("raw.products", "raw.events"):
        spark_rows = _contents(("--engine", real_replayed_spark), relation)
        assert spark_rows == _contents(("--db", str(real_replayed_duckdb)), relation), relation
    spark.catalog.refreshTable("meta.loads")
    spark.catalog.refreshTable("meta.runs")
    run_id = spark.sql("select max(run_id) from meta.runs").collect()[0][0]
    loads = spark.sql(
        f"select table_name, source_kind, location from meta.loads where run_id = {run_id} "
        "order by table_name"
    ).collect()
    assert [tuple(r) for r in loads] == [
        (table, "postgres", redact(url)) for table in ("events", "products")
    ]
    texts = spark.sql("select concat(args, coalesce(message, '')) from meta.runs").collect()
    assert not [t for (t,) in texts if PASSWORD in t]
