"""`greenery test` on the Spark engine gives DuckDB's results: always through a stand-in engine
(every statement transpiled and parsed as Spark SQL, then run on a DuckDB copy), and (slow) on
the test run's Spark Connect server, after one load of the real exports broken on purpose."""

from __future__ import annotations

import csv
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import REAL_DATA, REPO, copy_warehouse, run_cli
from spark_stand_in import Markers

pytest.importorskip("sqlglot", reason="the spark extra is not installed: pip install -e '.[spark]'")

FORMATS = ("json", "csv", "markdown", "table")


def _rewrite(path: Path, change: Any) -> None:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    change(rows[0], rows)
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def broken_copy(real_data: Path, target: Path) -> dict[str, Any]:
    """The real exports with three faults no load refuses (the contract does not cover them),
    and what each test must find, worked out from the files themselves."""
    shutil.copytree(real_data / "raw", target)
    found: dict[str, Any] = {}

    def promos(header: list[str], rows: list[list[str]]) -> None:
        rows[1][header.index("status")] = "expired"  # one promo outside active/inactive

    def users(header: list[str], rows: list[list[str]]) -> None:
        email = header.index("email")
        rows[2][email] = found["email"] = rows[1][email]  # two users share an email

    def products(header: list[str], rows: list[list[str]]) -> None:
        rows[1][header.index("name")] = ""  # a product without a name
        found["product_id"] = rows[1][header.index("product_id")]

    _rewrite(target / "promos.csv", promos)
    _rewrite(target / "users.csv", users)
    _rewrite(target / "products.csv", products)
    return found


def assert_known_failures(rows: list[dict[str, Any]], found: dict[str, Any]) -> None:
    """The three faults, each one failing row, and nothing else failing."""
    by_name = {r["test"]: r for r in rows}
    promo = by_name["accepted_values_stg_promos_promo_status"]
    assert (promo["status"], promo["failures"]) == ("fail", 1)
    assert promo["examples"] == [{"value": "expired", "occurrences": 1}]
    email = by_name["unique_stg_users_email"]
    assert (email["status"], email["failures"]) == ("fail", 1)
    assert email["examples"] == [{"value": found["email"], "occurrences": 2}]
    name = by_name["not_null_stg_products_product_name"]
    assert (name["status"], name["failures"]) == ("fail", 1)
    assert [e["product_id"] for e in name["examples"]] == [found["product_id"]]
    assert name["examples"][0]["product_name"] is None
    assert sorted(r["test"] for r in rows if r["status"] == "fail") == sorted(
        [promo["test"], email["test"], name["test"]]
    )


def without_durations(fmt: str, text: str) -> str:
    """The output with each test's run time blanked (the only thing that may differ)."""
    if fmt == "json":
        rows = json.loads(text)
        for row in rows:
            row.pop("duration_s")
        return json.dumps(rows)
    if fmt == "csv":
        return "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines())
    if fmt == "markdown":
        return re.sub(r"\| [0-9.e-]+ \|$", "| - |", text, flags=re.MULTILINE)
    return text  # the table view shows no durations


def _meta_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def stored_results(db: Path) -> list[tuple[Any, ...]]:
    return _meta_rows(
        db,
        "select run_id, test_name, kind, target, column_name, severity, status, failures, "
        "examples, reason, message from meta.test_results order by run_id, test_name",
    )


def logged_runs(db: Path) -> list[tuple[Any, ...]]:
    return _meta_rows(
        db,
        "select run_id, command, args, status, rows_affected, message from meta.runs "
        "order by run_id",
    )


# -- always: the Spark path through a stand-in engine ------------------------------------------


class SparkStandIn(Markers):
    """The SparkEngine calls `test` makes, on a writable DuckDB warehouse, after each statement
    was translated by the dialect and parsed as Spark SQL (no JVM). `test` sends several at
    once on Spark; one DuckDB connection takes one at a time, so the stand-in queues them."""

    path = "sc://stand-in"

    def __init__(self, wh: Any, hidden: set[str]) -> None:
        self.wh = wh
        self.hidden = hidden  # relations a fresh server would not have
        self.sent: list[str] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def _spark(self, sql: str) -> None:
        import sqlglot

        from greenery_cli.engines.spark.dialect import to_spark

        sqlglot.parse_one(spark_sql := to_spark(sql), read="spark")
        self.sent.append(spark_sql)
        self.threads.add(threading.current_thread().name)

    def execute(self, sql: str, params: Any = None) -> None:
        self._spark(sql)
        with self.lock:
            self.wh.execute(sql, params)

    def scalar(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        with self.lock:
            return self.wh.scalar(sql, params)

    def fetch(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        with self.lock:
            return self.wh.fetch(sql, params)

    def create_table_as(self, relation: str, select: str, params: Any = None) -> None:
        self._spark(select)
        with self.lock:
            self.wh.execute(f"create table {relation} as {select}", params)

    # the catalogue: the warehouse's own look-ups, as Spark's are the catalogue's
    def table_exists(self, schema: str, table: str) -> bool:
        return f"{schema}.{table}" not in self.hidden and bool(self.wh.table_exists(schema, table))

    def relations(self) -> dict[str, str]:
        return {k: v for k, v in self.wh.relations().items() if k not in self.hidden}

    def column_names(self, schema: str, table: str) -> list[str]:
        return list(self.wh.column_names(schema, table))


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`--engine sc://...` answered by the stand-in over `state["db"]`; what it was sent."""
    from greenery_cli.engines.spark import engine as spark_engine
    from greenery_cli.warehouse import open_warehouse

    state: dict[str, Any] = {"sent": [], "hidden": set(), "threads": set()}

    @contextmanager
    def connect(_spec: Any) -> Iterator[SparkStandIn]:
        with open_warehouse(state["db"], write=True) as wh:
            engine = SparkStandIn(wh, state["hidden"])
            try:
                yield engine
            finally:
                state["sent"].append(engine.sent)
                state["threads"] |= engine.threads

    monkeypatch.setattr(spark_engine, "connect", connect)
    yield state


@pytest.fixture(scope="module")
def broken_warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A DuckDB warehouse loaded from the broken exports, and what the faults are."""
    if not (REAL_DATA / "raw" / "events.csv").is_file():
        pytest.skip(f"the real greenery dataset is not at {REAL_DATA}")
    folder = tmp_path_factory.mktemp("broken")
    found = broken_copy(REAL_DATA, folder / "raw")
    db = folder / "loaded.duckdb"
    loaded = run_cli("--db", str(db), "load", "--source", str(folder / "raw"))
    assert loaded.exit_code == 0, loaded.stderr
    return db, found


def test_test_on_spark_gives_duckdbs_output_and_records(
    stand_in: dict[str, Any], broken_warehouses: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Every format, all tests and a selection: the Spark path prints what DuckDB prints, exits
    as it does, and records the same results and runs, each run's results in one INSERT."""
    loaded, found = broken_warehouses
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    shutil.copy(loaded, duck)
    shutil.copy(loaded, spark)
    stand_in["db"] = spark
    for select in ((), ("--select", "stg_promos")):
        for fmt in FORMATS:
            on_duck = run_cli("--db", str(duck), "test", *select, "--format", fmt)
            on_spark = run_cli("--engine", "sc://127.0.0.1:1", "test", *select, "--format", fmt)
            assert on_duck.exit_code == on_spark.exit_code == 1, on_spark.stderr
            assert on_spark.stderr == on_duck.stderr
            assert without_durations(fmt, on_spark.stdout) == without_durations(fmt, on_duck.stdout)
            if fmt == "json":
                rows = json.loads(on_spark.stdout)
                if select:
                    assert {r["test"] for r in rows} == {
                        "unique_stg_promos_promo_id",
                        "not_null_stg_promos_promo_id",
                        "accepted_values_stg_promos_promo_status",
                        "relationships_stg_orders_promo_id__stg_promos",
                        "order_totals_add_up",
                    }
                else:
                    assert_known_failures(rows, found)
                    assert len(rows) == 72 and sum(r["status"] == "skip" for r in rows) == 3
    assert stored_results(spark) == stored_results(duck)
    assert logged_runs(spark) == logged_runs(duck)
    assert [r[:5] for r in logged_runs(spark)[1:]] == [
        (run, "test", '{"select": []}', "fail", 72) for run in range(2, 6)
    ] + [(run, "test", '{"select": ["stg_promos"]}', "fail", 5) for run in range(6, 10)]
    assert len([t for t in stand_in["threads"] if t.startswith("greenery-test")]) > 1  # at once
    for sent in stand_in["sent"]:
        assert sum("INSERT INTO meta.test_results" in s for s in sent) == 1
        assert not any("information_schema" in s.lower() for s in sent)


def test_test_on_spark_refuses_in_one_line_as_duckdb(
    stand_in: dict[str, Any], broken_warehouses: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    loaded, _found = broken_warehouses
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    shutil.copy(loaded, duck)
    shutil.copy(loaded, spark)
    stand_in["db"] = spark
    # a selection naming nothing: exit 2, one line, logged as the run's error on both
    on_duck = run_cli("--db", str(duck), "test", "--select", "stg_trees")
    on_spark = run_cli("--engine", "sc://127.0.0.1:1", "test", "--select", "stg_trees")
    assert on_spark.exit_code == on_duck.exit_code == 2
    assert on_spark.stderr == on_duck.stderr and on_spark.stderr.count("\n") == 1
    assert "--select stg_trees" in on_spark.stderr
    assert logged_runs(spark)[-1][1:4] == logged_runs(duck)[-1][1:4] == (
        "test", '{"select": ["stg_trees"]}', "error",
    )  # fmt: skip
    # nothing loaded on the server: one line, exit 2, before anything is written
    stand_in["hidden"].add("meta.loads")
    before = logged_runs(spark)
    nothing = run_cli("--engine", "sc://127.0.0.1:1", "test")
    assert nothing.exit_code == 2 and nothing.stdout == ""
    assert nothing.stderr == (
        "error: nothing loaded on sc://127.0.0.1:1: run `greenery load --source DIR` first\n"
    )
    assert logged_runs(spark) == before


def test_a_test_spark_cannot_run_is_that_tests_error(
    stand_in: dict[str, Any],
    broken_warehouses: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A singular test in SQL the dialect refuses is `error` on Spark (exit 1), not the run's
    end; the other tests still run."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "queries", project / "queries")
    shutil.copy(REPO / "greenery.toml", project / "greenery.toml")
    (project / "queries" / "tests" / "orders_match_the_export.sql").write_text(
        "-- Every order is in the export.\n"
        "select order_id from {{ ref('stg_orders') }}\n"
        "where order_id not in (select order_id from read_csv('orders.csv'))\n"
    )
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(project))
    shutil.copy(broken_warehouses[0], stand_in.setdefault("db", tmp_path / "spark.duckdb"))
    result = run_cli("--engine", "sc://127.0.0.1:1", "test", "--format", "json")
    assert result.exit_code == 1, result.stderr
    rows = {r["test"]: r for r in json.loads(result.stdout)}
    refused = rows["orders_match_the_export"]
    assert refused["status"] == "error" and refused["failures"] is None
    assert refused["message"].startswith("queries/tests/orders_match_the_export.sql: ")
    assert "not portable to Spark: read_csv()" in refused["message"]
    assert "\n" not in refused["message"]
    assert sum(r["status"] == "fail" for r in rows.values()) == 3  # the faults, as before


def test_the_runs_results_sql_transpiles_and_gives_test_times_to_the_microsecond() -> None:
    """`runs --format json` reads meta.test_results on Spark too: node_results.sql with every
    table present parses as Spark SQL, and on DuckDB a test's completed_at is its start plus
    its duration, to the microsecond (the slow test runs it on Spark)."""
    from datetime import UTC, datetime, timedelta

    import duckdb
    import sqlglot

    from greenery_cli.engines.spark.dialect import to_spark
    from greenery_cli.sql import render

    sql = render("runs/node_results.sql", model_builds=True, test_results=True,
                 freshness_checks=True)  # fmt: skip
    assert len(sqlglot.parse(to_spark(sql), read="spark")) == 1
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("create schema meta")
    con.execute(render("meta/trust_tables.sql"))
    started = datetime(2026, 12, 2, 7, 0, 0, 250_000, tzinfo=UTC)
    con.execute(
        "insert into meta.test_results values (7, 't', 'unique', null, null, 'error', 'pass', "
        "0, null, null, null, ?, 1.2345675)",
        [started],
    )
    sql = render("runs/node_results.sql", model_builds=False, test_results=True,
                 freshness_checks=False)  # fmt: skip
    ((unique_id, completed),) = con.execute(
        f"select unique_id, completed_at from ({sql})", {"run_ids": [7]}
    ).fetchall()
    assert unique_id == "test.t"
    assert completed == started + timedelta(microseconds=1_234_568)


# -- slow: the real CLI on the test run's Spark Connect server ---------------------------------


@pytest.mark.slow
def test_test_on_a_spark_server_matches_duckdb(
    spark_server: Any,
    spark: Any,
    broken_warehouses: tuple[Path, dict[str, Any]],
    tmp_path: Path,
) -> None:
    """One load of the broken exports and one snapshot on each engine (DuckDB's load is the
    module's, copied); then `test` finds the three faults on Spark as on DuckDB, in the same
    output and exit code; a model missing on both makes the tests `--select` picks the same
    errors; `runs` lists the same results."""
    loaded, found = broken_warehouses
    source = loaded.parent / "raw"
    db = str(copy_warehouse(loaded, tmp_path / "duck.duckdb"))
    duck, on_spark = ("--db", db), ("--engine", spark_server.url)
    for database in ("snapshots", "meta"):  # DuckDB's warehouse is new: no history, no log
        spark.sql(f"drop database if exists {database} cascade").collect()
    for engine, steps in (
        (duck, [("snapshot",)]),
        (on_spark, [("load", "--source", str(source)), ("snapshot",)]),
    ):
        for args in steps:
            done = run_cli(*engine, *args)
            assert done.exit_code == 0, done.stderr

    def tested(engine: tuple[str, ...], *args: str) -> tuple[int, str, str]:
        result = run_cli(*engine, "test", *args)
        return result.exit_code, result.stdout, re.sub(r"\(run \d+\)", "", result.stderr)

    code, out, err = tested(on_spark, "--format", "json")
    assert (code, err) == (1, "tests: 67 pass, 2 warn, 3 fail \n")
    rows = json.loads(out)
    assert_known_failures(rows, found)
    assert {r["status"] for r in rows if r["kind"] == "singular"} == {"pass", "warn"}
    assert all(r["status"] == "pass" for r in rows if r["test"].startswith("snapshot_"))
    duck_code, duck_out, duck_err = tested(duck, "--format", "json")
    assert (duck_code, duck_err) == (code, err)
    assert without_durations("json", duck_out) == without_durations("json", out)
    # a model gone from both warehouses: the five tests reading it (--select) are errors, exit 1
    spark.sql("ALTER VIEW staging.stg_promos RENAME TO staging.stg_promos_away")
    try:
        gone = tested(on_spark, "--select", "stg_promos", "--format", "csv")
    finally:
        spark.sql("ALTER VIEW staging.stg_promos_away RENAME TO staging.stg_promos")
    import duckdb

    con = duckdb.connect(db)
    con.execute("alter view staging.stg_promos rename to stg_promos_away")
    con.close()
    assert (gone[0], gone[2]) == (1, "tests: 5 error \n")
    assert gone[1].count("staging.stg_promos does not exist (run `greenery load`)") == 5
    duck_gone = tested(duck, "--select", "stg_promos", "--format", "csv")
    assert (duck_gone[0], duck_gone[2]) == (gone[0], gone[2])
    assert without_durations("csv", duck_gone[1]) == without_durations("csv", gone[1])

    def results(engine: tuple[str, ...]) -> list[dict[str, Any]]:
        listed = run_cli(*engine, "runs", "--format", "json", "--limit", "1")
        assert listed.exit_code == 0, listed.stderr
        (run,) = json.loads(listed.stdout)
        assert (run["command"], run["args"], run["status"]) == (
            "test", {"select": ["stg_promos"]}, "fail",
        )  # fmt: skip
        return [{k: n[k] for k in ("unique_id", "status", "failures")} for n in run["results"]]

    on_spark_results = results(on_spark)
    assert on_spark_results == results(duck)
    assert [n["status"] for n in on_spark_results] == ["error"] * 5
