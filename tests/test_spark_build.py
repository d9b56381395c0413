"""`greenery --engine sc://... build`: DuckDB's selection, order, output and run log, each model
rebuilt whole on Spark; a failing model stops the build with its previous table in place.

Fast: through a stand-in engine (a DuckDB warehouse answering the SparkEngine calls the build
makes, every statement also translated by the dialect and parsed as Spark SQL), against DuckDB's
own build of a copy of the same warehouse. Slow: the test run's real data loaded and replayed
on its Spark Connect server (conftest's real_replayed_spark), then builds through the CLI,
against DuckDB's on a copy of the same work for the same selection.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import REPO, copy_warehouse, run_cli
from spark_stand_in import STAND_IN
from tiny_project import make_project, make_warehouse

from greenery_cli.engines.spark.build import REBUILT
from greenery_cli.errors import ExitCode


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def last_run(db: Path) -> dict[str, Any]:
    run_id, command, args, status, rows_affected, message = rows(
        db,
        "select run_id, command, args, status, rows_affected, message from meta.runs "
        "order by run_id desc limit 1",
    )[0]
    builds = rows(
        db,
        "select model, layer, rows, materialized, action, reason, fingerprint "
        f"from meta.model_builds where run_id = {run_id} order by started_at",
    )
    changes = rows(
        db,
        "select relation, change, range_start, range_end, rows from meta.changes "
        f"where run_id = {run_id} order by relation",
    )
    return {
        "run": (run_id, command, json.loads(args), status, rows_affected, message),
        "builds": builds,
        "changes": changes,
    }


def without_durations(csv_text: str) -> list[list[str]]:
    lines = [line.split(",") for line in csv_text.splitlines()]
    at = lines[0].index("duration_s")
    return [line[:at] + line[at + 1 :] for line in lines]


def both(duck: Path, spark: Path, *args: str) -> tuple[Any, Any]:
    on_duck = run_cli("--db", str(duck), "build", *args, "--format", "csv")
    on_spark = run_cli("--engine", STAND_IN, "build", *args, "--format", "csv")
    return on_duck, on_spark


def test_build_on_spark_gives_duckdbs_output_and_run_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]
) -> None:
    project = make_project(tmp_path / "project", monkeypatch)
    duck = make_warehouse(tmp_path / "duck.duckdb", [("p1", "Fern", 3), ("p2", "Moss", 0)])
    spark = tmp_path / "spark.duckdb"
    shutil.copy(duck, spark)
    on_stand_in["db"] = spark

    # the first build, and a --full-refresh of a selection: the same output and log as DuckDB
    for args in ((), ("--select", "stg_products+", "--full-refresh")):
        on_duck, on_spark = both(duck, spark, *args)
        assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
        assert without_durations(on_spark.stdout) == without_durations(on_duck.stdout)
        assert on_spark.stderr == on_duck.stderr
        assert last_run(spark) == last_run(duck)
    assert "models: 3 built (run 2)" in on_spark.stderr
    assert [b[4:6] for b in last_run(spark)["builds"]] == [("built", "--full-refresh")] * 3

    # DuckDB skips what Spark rebuilds; a changed SQL is DuckDB's reason on both; the table
    # downstream is judged by DuckDB's rule from what this build rewrote (on Spark: both views)
    sql = project / "queries" / "intermediate" / "int_stock.sql"
    sql.write_text(sql.read_text() + "-- reworded\n")
    on_duck, on_spark = both(duck, spark, "--select", "+dim_stock")
    assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
    duck_log, spark_log = last_run(duck), last_run(spark)
    decided = {b[0]: (b[4], b[5]) for b in duck_log["builds"]}
    assert decided["stg_products"] == ("skipped", "up to date")
    assert decided["int_stock"][0] == decided["dim_stock"][0] == "built"
    assert [(b[0], b[4], b[5]) for b in spark_log["builds"]] == [
        ("stg_products", "built", REBUILT),
        ("int_stock", *decided["int_stock"]),
        ("dim_stock", "built", "intermediate.int_stock, staging.stg_products changed"),
    ]
    assert decided["dim_stock"][1] == "intermediate.int_stock changed"
    assert "models: 3 built (run 3)" in on_spark.stderr
    assert "models: 2 built, 1 skipped (run 3)" in on_duck.stderr
    assert spark_log["run"][1:] == (
        "build",
        {"select": ["+dim_stock"], "frequency": None, "business_line": None, "full_refresh": False},
        "success",
        1,
        "3 built",
    )
    assert rows(spark, "select * from marts.dim_stock") == rows(
        duck, "select * from marts.dim_stock"
    )


def test_selections_on_spark_are_duckdbs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]
) -> None:
    """Matrix cells, several selectors and state:modified (from Spark's own fingerprints) pick
    the models they pick on DuckDB, in the same order, with the same output."""
    project = make_project(tmp_path / "project", monkeypatch)
    duck = make_warehouse(tmp_path / "duck.duckdb", [("p1", "Fern", 3), ("p2", "Moss", 0)])
    spark = tmp_path / "spark.duckdb"
    shutil.copy(duck, spark)
    on_stand_in["db"] = spark
    assert all(r.exit_code == 0 for r in both(duck, spark))
    sql = project / "queries" / "staging" / "stg_promos.sql"
    sql.write_text(sql.read_text() + "-- reworded\n")
    for args in (
        ("--select", "state:modified"),
        ("--frequency", "daily", "--business-line", "Product", "--full-refresh"),
        ("--select", "+int_stock fct_promos", "--full-refresh"),
    ):
        on_duck, on_spark = both(duck, spark, *args)
        assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
        assert without_durations(on_spark.stdout) == without_durations(on_duck.stdout), args
        assert last_run(spark) == last_run(duck)
    assert [b[0] for b in last_run(spark)["builds"]] == ["stg_products", "int_stock", "fct_promos"]


def test_an_incremental_model_on_spark_is_built_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]
) -> None:
    """Built whole on every build (never appended to twice): the rows stay DuckDB's."""
    project = make_project(tmp_path / "project", monkeypatch)
    (project / "queries" / "marts" / "schema.toml").write_text(
        '[dim_stock]\nmaterialized = "incremental"\n\n[fct_promos]\nmaterialized = "table"\n'
    )
    duck = make_warehouse(tmp_path / "duck.duckdb", [("p1", "Fern", 3), ("p2", "Ivy", 2)])
    spark = tmp_path / "spark.duckdb"
    shutil.copy(duck, spark)
    on_stand_in["db"] = spark
    for _ in range(2):
        on_duck, on_spark = both(duck, spark, "--select", "+dim_stock")
        assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
        assert rows(spark, "select * from marts.dim_stock order by all") == [
            ("p1", 3), ("p2", 2)
        ]  # fmt: skip
    assert on_spark.stderr.endswith(
        "models: 3 built (run 2); marts.dim_stock: incremental built whole on Spark\n"
    )
    # its inputs were rebuilt before it: DuckDB's rule then builds it in full too
    assert rows(spark, "select model, materialized, action, rows, reason from meta.model_builds "
                "order by run_id desc, started_at desc limit 1") == [(
        "dim_stock", "incremental", "built", 2,
        "intermediate.int_stock, staging.stg_products changed throughout (not by event time): "
        "built in full",
    )]  # fmt: skip
    assert rows(duck, "select * from marts.dim_stock order by all") == [("p1", 3), ("p2", 2)]
    assert rows(spark, "select table_type from information_schema.tables "
                "where table_name = 'dim_stock'") == [("BASE TABLE",)]  # fmt: skip


def test_a_failing_model_on_spark_keeps_its_table_and_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]
) -> None:
    project = make_project(tmp_path / "project", monkeypatch)
    downstream = project / "queries" / "marts" / "fct_promo_totals.sql"
    downstream.write_text("-- promos\nselect count(*) as promos from {{ ref('fct_promos') }}\n")
    duck = make_warehouse(tmp_path / "duck.duckdb", [("p1", "Fern", 3), ("p2", "Moss", 0)])
    spark = tmp_path / "spark.duckdb"
    shutil.copy(duck, spark)
    on_stand_in["db"] = spark
    on_duck, on_spark = both(duck, spark)
    assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
    promos_before = rows(spark, "select * from marts.fct_promos")
    assert promos_before == rows(duck, "select * from marts.fct_promos") != []
    builds_before = rows(spark, "select count(*) from meta.model_builds")[0][0]

    (project / "queries" / "marts" / "fct_promos.sql").write_text(
        "-- broken\nselect no_such_column from {{ ref('stg_promos') }}\n"
    )
    on_duck, on_spark = both(duck, spark, "--select", "+fct_promo_totals")
    assert on_duck.exit_code == on_spark.exit_code == ExitCode.TOOL_ERROR
    assert on_spark.stdout == on_duck.stdout == ""
    for result in (on_duck, on_spark):
        assert "model fct_promos (fct_promos.sql) failed" in result.stderr
        assert "no_such_column" in result.stderr and "Traceback" not in result.stderr
        said = [ln for ln in result.stderr.splitlines() if "using project" not in ln]
        assert len(said) == 1, result.stderr  # the error, in one line
    assert (
        "Spark has no transaction: the 1 model(s) before it were rebuilt, it keeps its previous "
        "relation, the 1 after it were not built" in on_spark.stderr
    )
    # its previous table is whole, no scratch table is left, downstream was not built
    assert rows(spark, "select * from marts.fct_promos") == promos_before
    assert not any(
        "__greenery_new" in r for r in rows(spark, "select table_name from duckdb_tables()")
    )
    log = last_run(spark)
    assert log["run"][3] == "error" and "fct_promos" in log["run"][5]
    assert [b[0] for b in log["builds"]] == ["stg_promos"]  # what was rebuilt is logged
    assert [c[0] for c in log["changes"]] == ["staging.stg_promos"]
    assert rows(spark, "select count(*) from meta.model_builds")[0][0] == builds_before + 1
    assert last_run(duck)["run"][3] == "error" and last_run(duck)["builds"] == []


def test_load_on_spark_builds_and_logs_every_model_as_duckdb(
    tmp_path: Path, real_data: Path, on_stand_in: dict[str, Path]
) -> None:
    """The Spark load's models (built by the code `build` shares) and their log rows are a
    DuckDB load's, then a Spark build of them says it rebuilt them."""
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    on_stand_in["db"] = spark
    on_duck = run_cli("--db", str(duck), "load", "--source", str(real_data / "raw"))
    on_spark = run_cli("--engine", STAND_IN, "load", "--source", str(real_data / "raw"))
    assert on_duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.stderr
    assert "built 17 models" in on_spark.stderr and "(run 1)" in on_spark.stderr
    spark_log, duck_log = last_run(spark), last_run(duck)
    assert len(spark_log["builds"]) == 17
    assert spark_log["builds"] == duck_log["builds"]  # never built, the same rows, fingerprints
    models = [c for c in spark_log["changes"] if not c[0].startswith(("raw.", "seeds."))]
    assert models == [c for c in duck_log["changes"] if c in models] and len(models) == 17
    rebuilt = run_cli("--engine", STAND_IN, "build", "--select", "dim_products", "--format", "csv")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert without_durations(rebuilt.stdout)[1] == [
        "dim_products", "marts", "table", "built", "30", REBUILT
    ]  # fmt: skip


def test_build_on_spark_refuses_missing_inputs_before_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]
) -> None:
    make_project(tmp_path / "project", monkeypatch)
    on_stand_in["db"] = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    result = run_cli("--engine", STAND_IN, "build", "--select", "int_stock")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "stg_products" in result.stderr and "never been built" in result.stderr
    result = run_cli("--engine", STAND_IN, "build", "--select", "nope+")
    assert result.exit_code == ExitCode.TOOL_ERROR and "no model named nope" in result.stderr


# -- slow: the real data on the test run's Spark Connect server ---------------------------------


def _spark_log(spark: Any, run_id: int) -> dict[str, Any]:
    """last_run's shape, read from Spark's meta tables."""
    for table in ("runs", "model_builds", "changes"):
        # this session caches a table's files; the CLI's sessions appended new ones since
        spark.catalog.refreshTable(f"meta.{table}")
    run = spark.sql(
        "select run_id, command, args, status, rows_affected, message from meta.runs "
        f"where run_id = {run_id}"
    ).collect()
    builds = spark.sql(
        "select model, layer, rows, materialized, action, reason, fingerprint "
        f"from meta.model_builds where run_id = {run_id} order by started_at"
    ).collect()
    changes = spark.sql(
        "select relation, change, range_start, range_end, rows from meta.changes "
        f"where run_id = {run_id} order by relation"
    ).collect()
    (found,) = [tuple(r) for r in run]
    return {
        "run": (*found[:2], json.loads(found[2]), *found[3:]),
        "builds": [tuple(r) for r in builds],
        "changes": [tuple(r) for r in changes],
    }


def _contents(engine: tuple[str, ...], relation: str) -> list[str]:
    result = run_cli(*engine, "query", f"select * from {relation}", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return sorted(json.dumps(row, sort_keys=True) for row in json.loads(result.stdout))


def _broken_project(root: Path) -> Path:
    """A copy of the shop's project whose dim_products fails while it runs (a name cast to an
    integer), with a model downstream of it."""
    root.mkdir()
    shutil.copy(REPO / "greenery.toml", root / "greenery.toml")
    shutil.copytree(REPO / "queries", root / "queries")
    shutil.copytree(REPO / "seeds", root / "seeds")
    marts = root / "queries" / "marts"
    (marts / "dim_products.sql").write_text(
        "-- broken on purpose\nselect product_id, cast(product_name as integer) as broken\n"
        "from {{ ref('stg_products') }}\n"
    )
    (marts / "dim_products_sold.sql").write_text(
        "-- the products sold\nselect product_id from {{ ref('dim_products') }} "
        "where units_sold > 0\n"
    )
    return root


def _next_run_id(spark: Any) -> int:
    spark.catalog.refreshTable("meta.runs")
    return int(spark.sql("select max(run_id) from meta.runs").collect()[0][0]) + 1


@pytest.mark.slow
def test_build_on_spark_matches_duckdb_and_survives_a_failing_model(
    real_replayed_spark: str, real_replayed_duckdb: Path, spark: Any, tmp_path: Path
) -> None:
    """The real exports loaded and replayed on Spark (the test run's shared warehouse) and on
    DuckDB (a copy); `build --select stg_products+ --full-refresh` builds the same models with
    the same rows, output and run log on both; a project whose dim_products fails stops the
    build (exit 2 on both), the old table intact, the model downstream not built, what was
    rebuilt before it logged under the failed run. The CLI tests before this one added runs to
    Spark's log (conftest.SHARED_SPARK_USERS), so each engine's run ids are its own log's next."""
    spark_cli = ("--engine", real_replayed_spark)
    duck = copy_warehouse(real_replayed_duckdb, tmp_path / "duck.duckdb")
    duck_cli = ("--db", str(duck))
    spark_run, duck_run = _next_run_id(spark), last_run(duck)["run"][0] + 1
    args = ("build", "--select", "stg_products+", "--full-refresh", "--format", "csv")
    on_spark, on_duck = run_cli(*spark_cli, *args), run_cli(*duck_cli, *args)
    assert on_spark.exit_code == on_duck.exit_code == 0, on_spark.stderr
    assert without_durations(on_spark.stdout) == without_durations(on_duck.stdout)
    assert on_spark.stderr == f"models: 3 built (run {spark_run})\n"
    assert on_duck.stderr == f"models: 3 built (run {duck_run})\n"
    spark_log, duck_log = _spark_log(spark, spark_run), last_run(duck)
    assert [b[0] for b in spark_log["builds"]] == [
        "stg_products", "int_order_items_priced", "dim_products"
    ]  # fmt: skip
    assert (spark_log["run"][0], duck_log["run"][0]) == (spark_run, duck_run)
    assert {**spark_log, "run": spark_log["run"][1:]} == {**duck_log, "run": duck_log["run"][1:]}
    for relation in ("staging.stg_products", "intermediate.int_order_items_priced"):
        assert _contents(spark_cli, relation) == _contents(duck_cli, relation)
    products = _contents(spark_cli, "marts.dim_products")
    assert products == _contents(duck_cli, "marts.dim_products") and len(products) == 30

    project = ("--project-dir", str(_broken_project(tmp_path / "broken")))
    args = ("build", "--select", "+dim_products_sold")
    on_spark = run_cli(*project, *spark_cli, *args)
    on_duck = run_cli(*project, *duck_cli, *args)
    assert on_spark.exit_code == on_duck.exit_code == ExitCode.TOOL_ERROR, on_spark.stderr
    assert on_spark.stdout == on_duck.stdout == ""
    for result in (on_spark, on_duck):
        assert "model dim_products (dim_products.sql) failed" in result.stderr
        assert "Traceback" not in result.stderr
    assert (
        # upstream of the broken dim_products: stg_products (it no longer reads order items)
        "the 1 model(s) before it were rebuilt, it keeps its previous relation, the 1 after "
        "it were not built" in on_spark.stderr
    )
    assert _contents(spark_cli, "marts.dim_products") == products
    marts = {t.name for t in spark.catalog.listTables("marts")}
    assert "dim_products" in marts and "dim_products_sold" not in marts
    assert not [name for name in marts if "__greenery_new" in name]
    failed = _spark_log(spark, spark_run + 1)
    assert failed["run"][1] == "build" and failed["run"][3] == "error"
    assert "dim_products" in failed["run"][5]
    assert [b[0] for b in failed["builds"]] == ["stg_products"]
    assert last_run(duck)["run"][3] == "error" and last_run(duck)["builds"] == []
