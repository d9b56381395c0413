"""`--engine`: choosing the engine, refusing what Spark does not run, and (slow) the real data
through the real CLI on the test run's Spark Connect server giving DuckDB's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_warehouse, run_cli
from spark_stand_in import BuildingStandIn

from greenery_cli.engines.url import DUCKDB, parse_engine, resolve_engine
from greenery_cli.errors import UsageError


def test_engine_urls_are_parsed() -> None:
    spec = parse_engine("sc://spark-host:15003/;token=abc;user_id=ana")
    assert (spec.kind, spec.host, spec.port, spec.params) == (
        "spark",
        "spark-host",
        15003,
        ("token", "user_id"),
    )
    assert spec.shown == "sc://spark-host:15003/;token=***;user_id=***"
    assert parse_engine("sc://10.0.0.7").port == 15002  # Spark's own default
    assert parse_engine(" DuckDB ") == DUCKDB


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("spark://host:7077", "not an engine"),
        ("sc://", "host"),
        ("sc://host:99999", "port"),
        ("sc://host:abc", "port"),
        ("sc://host:1/db", "no path"),
        ("sc://host:1/;token", "name=value"),
        ("sc://host:1/;tokn=s3cret-value", "unknown parameter 'tokn'"),
    ],
)
def test_malformed_engine_urls_are_refused_in_one_line(text: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_engine(text)
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_refused_url_never_shows_a_token() -> None:
    result = run_cli("--engine", "sc://host:notaport/;token=s3cret-value", "funnel")
    assert result.exit_code == 2
    assert "s3cret-value" not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1 and "port" in result.stderr


def test_the_first_given_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_engine(None, None, None) == DUCKDB
    assert resolve_engine(None, None, "sc://a:1").host == "a"
    assert resolve_engine(None, "sc://b:1", "sc://a:1").host == "b"
    assert resolve_engine("duckdb", "sc://b:1", "sc://a:1") == DUCKDB
    with pytest.raises(UsageError, match="GREENERY_ENGINE"):
        resolve_engine(None, "bogus", None)


def test_the_project_names_its_engine(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path / "p")).exit_code == 0
    config = tmp_path / "p" / "greenery.toml"
    original = config.read_text()
    config.write_text('engine = "sc://127.0.0.1:1"\n' + original)
    result = run_cli("--project-dir", str(tmp_path / "p"), "demo")
    assert result.exit_code == 2
    assert "greenery demo does not run on the Spark engine yet (sc://127.0.0.1:1)" in result.stderr
    config.write_text('engine = "sc://h:1/;token=hidden-one;x=1"\n' + original)
    result = run_cli("--project-dir", str(tmp_path / "p"), "funnel")
    assert result.exit_code == 2
    assert "greenery.toml line 1" in result.stderr and "hidden-one" not in result.stderr


@pytest.mark.parametrize("command", ["demo"])
def test_commands_not_on_spark_are_refused_naming_command_and_engine(command: str) -> None:
    result = run_cli("--engine", "sc://127.0.0.1:1/;token=t0k", command)
    assert result.exit_code == 2
    assert f"greenery {command} does not run on the Spark engine yet" in result.stderr
    assert "t0k" not in result.stderr
    assert result.stdout == ""


def test_an_unreachable_server_is_one_line() -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    import subprocess
    import sys

    # a process of its own: a client left connected to this port must not reach later tests
    result = subprocess.run(
        [sys.executable, "-m", "greenery_cli", "--engine", "sc://127.0.0.1:9/;token=zz-secret",
         "funnel", "--by-step"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "zz-secret" not in result.stderr and "Traceback" not in result.stderr


def test_next_state_sql_rebuilds_duckdbs_history(real_data: Path, tmp_path: Path) -> None:
    """The portable SCD2 SELECT, run on DuckDB over the four weekly files, gives exactly the
    history DuckDB's own snapshot engine wrote (no JVM needed)."""
    pytest.importorskip("sqlglot", reason="the spark extra is not installed")
    import csv

    from spark_capture import replayed_warehouse

    from greenery_cli.engines.spark.snapshot import NextColumn
    from greenery_cli.parsing import parse_moment
    from greenery_cli.snapshot import _Column
    from greenery_cli.sql import render
    from greenery_cli.warehouse import open_warehouse

    db = replayed_warehouse(real_data, tmp_path)
    weeks = real_data / "inventory-weeks"
    with (weeks / "schedule.csv").open(newline="") as handle:
        schedule = sorted(csv.DictReader(handle), key=lambda r: int(r["week"]))
    columns = ["product_id", "name", "price", "inventory"]
    with open_warehouse(db, write=True) as wh:
        wh.execute(
            "create temp table history as select * from snapshots.products_snapshot where false"
        )
        for run_id, row in enumerate(schedule, start=1):
            wh.execute(
                "create or replace temp table staged as select *, row_number() over () "
                "as source_position from read_csv(?, header = true, columns = {'product_id': "
                "'varchar', 'name': 'varchar', 'price': 'double', 'inventory': 'integer'})",
                [str(weeks / row["file"])],
            )
            changes = render(
                "snapshot/changes.sql",
                history="history",
                staged="staged",
                missing="new_record",
                compared=[_Column("inventory", '"inventory"')],
                source_row="s",
                source_position="s.source_position",
            )
            wh.execute(f"create or replace temp table snapshot_changes as {changes}")
            sql = render(
                "snapshot/next_state.sql",
                history="history",
                missing="new_record",
                leading=[NextColumn(f'"{c}"', "varchar", True, True) for c in columns],
                trailing=[],
            )
            params = {"taken_at": parse_moment(row["snapshot_at"]), "run_id": run_id}
            wh.execute(f"create or replace temp table next_history as {sql}", params)
            wh.execute("create or replace temp table history as select * from next_history")
        shown = (
            "snapshot_row_id, product_id, name, price, inventory, valid_from, valid_to, is_deleted"
        )
        mine = wh.rows(f"select {shown} from history order by snapshot_row_id")
        theirs = wh.rows(
            f"select {shown} from snapshots.products_snapshot order by snapshot_row_id"
        )
    assert len(mine) == 46
    assert mine == theirs


def test_revert_preview_sql_lists_duckdbs_dry_run(real_data: Path, tmp_path: Path) -> None:
    """The SELECT behind `snapshot revert --dry-run` on Spark, run on DuckDB over the replayed
    history, lists exactly the rows DuckDB's own dry run does (no JVM needed)."""
    sqlglot = pytest.importorskip("sqlglot", reason="the spark extra is not installed")
    from spark_capture import replayed_warehouse

    from greenery_cli.engines.spark.dialect import to_spark
    from greenery_cli.snapshot import revert_last
    from greenery_cli.sql import render
    from greenery_cli.warehouse import open_warehouse

    db = replayed_warehouse(real_data, tmp_path)
    theirs = revert_last(str(db), dry_run=True)
    assert theirs.changes is not None
    sql = render("snapshot/revert_preview.sql")
    sqlglot.parse_one(to_spark(sql), read="spark")
    with open_warehouse(db) as wh:
        mine = wh.frame(sql, {"run_id": theirs.run_id})
    assert mine["action"].value_counts(sort=True).rows() == [("delete", 6), ("reopen", 6)]
    assert mine.equals(theirs.changes)


class _TranspilingStandIn(BuildingStandIn):
    """The SparkEngine calls `report` and `query` make, answered by a read-only DuckDB warehouse
    after each statement was translated by the dialect and parsed as Spark SQL (no JVM)."""

    path = "sc://stand-in"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wh, name)  # the catalogue look-ups: the warehouse's own

    def fetch(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        return self.wh.fetch(sql, params)

    def frame(self, sql: str, params: Any = None) -> Any:
        self._spark(sql)
        return self.wh.frame(sql, params)


@pytest.fixture
def stand_in_engine(
    monkeypatch: pytest.MonkeyPatch, real_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """`--engine sc://...` answered by the stand-in over the replayed real data; the DuckDB
    file it reads, and the Spark SQL it was sent."""
    pytest.importorskip("sqlglot", reason="the spark extra is not installed")
    from contextlib import contextmanager

    from greenery_cli.engines.spark import engine as spark_engine
    from greenery_cli.warehouse import open_warehouse

    db = _replayed_duckdb(real_data, tmp_path_factory)
    sent: list[str] = []

    @contextmanager
    def connect(_spec: Any) -> Any:
        with open_warehouse(db) as wh:
            stand_in = _TranspilingStandIn(wh)
            yield stand_in
            sent.extend(stand_in.sent)

    monkeypatch.setattr(spark_engine, "connect", connect)
    return db, sent


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_report_through_the_engine_is_duckdbs_report(
    stand_in_engine: tuple[Path, list[str]], fmt: str
) -> None:
    db, sent = stand_in_engine
    duck = run_cli("--db", str(db), "report", "--format", fmt)
    spark = run_cli("--engine", "sc://127.0.0.1:1", "report", "--format", fmt)
    assert duck.exit_code == 0 and spark.exit_code == 0, spark.stderr
    assert spark.stdout == duck.stdout
    # every section's statements went through the dialect (their templates' opening comments)
    for opening in (
        "every product present as of",
        "per product over [",
        "spells at or below",
        "How many units reached each step",
        "Per product: units reaching each step",
    ):
        assert any(opening in sql for sql in sent), opening
    if fmt == "json":
        sections = json.loads(spark.stdout)
        assert [r["count"] for r in sections["funnel_by_step"]] == [578, 467, 361]
        assert sections["unanswered"] == {}


def test_report_dashboard_through_the_engine(
    stand_in_engine: tuple[Path, list[str]], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    spark = run_cli(
        "--engine", "sc://127.0.0.1:1", "report", "--format", "json", "--html", str(page)
    )
    assert spark.exit_code == 0, spark.stderr
    assert f"wrote {page}" in spark.stderr
    text = page.read_text()
    assert "578" in text and "<html" in text.lower()
    assert any("meta.loads" in sql for sql in stand_in_engine[1])  # the page's freshness


def test_query_through_the_engine_gives_duckdbs_rows(
    stand_in_engine: tuple[Path, list[str]],
) -> None:
    db, sent = stand_in_engine
    sql = (
        "select product_id, name, price, inventory from raw.products "
        "where inventory < 20 order by product_id"
    )
    for fmt in ("json", "csv", "table"):
        duck = run_cli("--db", str(db), "query", sql, "--format", fmt)
        spark = run_cli("--engine", "sc://127.0.0.1:1", "query", sql, "--format", fmt)
        assert duck.exit_code == 0 and spark.exit_code == 0, spark.stderr
        assert spark.stdout == duck.stdout
    assert sent[-1].startswith("SELECT product_id, name, price, inventory FROM raw.products")


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("select * from read_csv('x.csv')", "query: not portable to Spark: read_csv()"),
        ("select 1 as a union all by name select 2 as a", "UNION BY NAME"),
        (
            "create table marts.x as select 1",
            "only reads: on the Spark engine it runs a SELECT (or WITH, UNION, ...), not CREATE",
        ),
        ("insert into raw.orders select * from raw.orders", "not INSERT"),
        ("drop table raw.orders", "not DROP"),
        ("select 1 into t", "not SELECT INTO"),
        ("select 1; select 2", "expected one SQL statement, found 2"),
        ("selec 1", "query: cannot read the DuckDB SQL"),
    ],
)
def test_query_on_spark_refuses_writes_and_unportable_sql_before_connecting(
    sql: str, says: str
) -> None:
    pytest.importorskip("sqlglot", reason="the spark extra is not installed")
    # port 1: nothing listens, so a refusal that tried to connect would say so instead
    result = run_cli("--engine", "sc://127.0.0.1:1", "query", sql)
    assert result.exit_code == 2
    assert says in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


# -- slow: the real CLI on the test run's Spark Connect server ---------------------------------


# the real exports loaded and the four weeks replayed by the CLI on both engines, once per
# test run: conftest's real_replayed_spark and real_replayed_duckdb


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    # inventory-changes and stockouts at their defaults are the report's sections: checked there
    [("funnel", "--by-step"), ("fluctuations",)],
)
def test_real_answers_on_spark_match_duckdb(
    real_replayed_spark: str,
    real_replayed_duckdb: Path,
    args: tuple[str, ...],
) -> None:
    duck_db = real_replayed_duckdb
    duck = run_cli("--db", str(duck_db), *args, "--format", "json")
    spark = run_cli("--engine", real_replayed_spark, *args, "--format", "json")
    assert duck.exit_code == 0 and spark.exit_code == 0, spark.stderr
    if args[0] == "funnel":
        rows = json.loads(spark.stdout)
        rows = rows["rows"] if isinstance(rows, dict) else rows
        assert [r["count"] for r in rows] == [578, 467, 361]
    _strip_run_ids(duck_answer := json.loads(duck.stdout))
    _strip_run_ids(spark_answer := json.loads(spark.stdout))
    assert spark_answer == duck_answer


@pytest.mark.slow
def test_report_and_query_on_spark_match_duckdb(
    real_replayed_spark: str, real_replayed_duckdb: Path, tmp_path: Path
) -> None:
    """`report` (every section, with the dashboard page) and `query` on the loaded Spark
    warehouse give DuckDB's answers from the same data."""
    duck_db = str(real_replayed_duckdb)
    page = tmp_path / "report.html"
    spark = run_cli(
        "--engine", real_replayed_spark, "report", "--format", "json", "--html", str(page)
    )
    duck = run_cli("--db", duck_db, "report", "--format", "json")
    assert duck.exit_code == 0 and spark.exit_code == 0, spark.stderr
    _strip_run_ids(duck_answer := json.loads(duck.stdout))
    _strip_run_ids(spark_answer := json.loads(spark.stdout))
    assert spark_answer["unanswered"] == {}
    assert [r["count"] for r in spark_answer["funnel_by_step"]] == [578, 467, 361]
    assert len(spark_answer["inventory_changes"]) == 6
    assert len(spark_answer["stockouts"]) == 2
    assert spark_answer == duck_answer
    assert "578" in page.read_text() and f"wrote {page}" in spark.stderr
    sql = (
        "select o.order_id, o.created_at, o.order_total, count(*) as items "
        "from raw.orders as o join raw.order_items as i on i.order_id = o.order_id "
        "group by all order by o.order_total desc, o.order_id limit 5"
    )
    for fmt in ("json", "csv"):
        on_spark = run_cli("--engine", real_replayed_spark, "query", sql, "--format", fmt)
        on_duck = run_cli("--db", duck_db, "query", sql, "--format", fmt)
        assert on_spark.exit_code == 0 and on_duck.exit_code == 0, on_spark.stderr
        assert on_spark.stdout == on_duck.stdout
        if fmt == "json":
            top = json.loads(on_spark.stdout)
            assert len(top) == 5 and list(top[0]) == [
                "order_id", "created_at", "order_total", "items"
            ]  # fmt: skip
    # Spark would substitute ${...} in the SQL text, strings too; DuckDB reads it as written
    dollars = "select '${HOME} is $HOME' as s"
    on_spark = run_cli("--engine", real_replayed_spark, "query", dollars, "--format", "csv")
    assert on_spark.exit_code == 0 and on_spark.stdout == "s\n${HOME} is $HOME\n", on_spark.stderr
    missing = run_cli("--engine", real_replayed_spark, "query", "select * from marts.nope")
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1
    assert "query failed: Spark: [TABLE_OR_VIEW_NOT_FOUND]" in missing.stderr


_DUCK: dict[str, Path] = {}


def _replayed_duckdb(real_data: Path, factory: pytest.TempPathFactory) -> Path:
    if "db" not in _DUCK:
        from spark_capture import replayed_warehouse

        _DUCK["db"] = replayed_warehouse(real_data, factory.mktemp("duck"))
    return _DUCK["db"]


def _strip_run_ids(value: Any) -> None:
    """Run ids differ here by design: the DuckDB reference took four snapshot runs (ids 2-5),
    Spark one replay (its own run 2, the states 3-6)."""
    if isinstance(value, dict):
        for key in list(value):
            if key.endswith("run_id") or key in ("run", "from_run", "to_run"):
                value.pop(key)
            else:
                _strip_run_ids(value[key])
    elif isinstance(value, list):
        for item in value:
            _strip_run_ids(item)


def _json(*args: str) -> tuple[int, Any]:
    result = run_cli(*args, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.slow
def test_run_log_on_spark_matches_duckdb(
    real_replayed_spark: str, real_replayed_duckdb: Path, tmp_path: Path
) -> None:
    """The same load and replay log the same runs on both engines (ids, commands, arguments,
    rows, messages, each model built), list the same snapshot runs (ids included), and
    `freshness` and `models` then give the same verdicts from Spark's own meta tables."""
    db = str(copy_warehouse(real_replayed_duckdb, tmp_path / "log.duckdb"))  # freshness logs

    def runs(engine: tuple[str, ...]) -> list[tuple[Any, ...]]:
        _code, found = _json(*engine, "runs", "--all")
        return [
            (
                r["run_id"], r["command"], r["args"], r["status"], r["rows_affected"],
                r["message"],
                sorted(
                    (n["unique_id"], n["status"], n["adapter_response"], n["message"])
                    for n in r["results"]
                ),
            )
            for r in found
        ]  # fmt: skip

    duck, spark = ("--db", db), ("--engine", real_replayed_spark)
    on_duck = runs(duck)
    assert [r[:2] for r in on_duck] == [(6 - i, "snapshot") for i in range(5)] + [(1, "load")]
    assert len(on_duck[-1][-1]) == 17  # the load's run lists every model it built
    assert runs(spark) == on_duck
    assert _json(*spark, "snapshot", "list") == _json(*duck, "snapshot", "list")

    def verdicts(engine: tuple[str, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        code, checks = _json(*engine, "freshness")
        # the snapshot's note says how long ago it ran, in words that may tick over between
        return code, [
            (c["kind"], c["name"], c["status"], c["note"] if c["kind"] != "snapshot" else "")
            for c in checks
        ]

    duck_verdicts = verdicts(duck)
    assert ("model", "marts.dim_products", "pass", "built by run 1, 30 rows") in duck_verdicts[1]
    assert verdicts(spark) == duck_verdicts

    def models(engine: tuple[str, ...]) -> list[tuple[Any, ...]]:
        _code, found = _json(*engine, "models")
        keys = ("model", "materialized", "rows", "last_action", "last_reason", "state")
        return [tuple(m[k] for k in keys) for m in found]

    assert models(spark) == models(duck)
    # the freshness check is the log's newest run on Spark too
    assert runs(spark)[0][:4] == (7, "freshness", {}, "success" if not duck_verdicts[0] else "fail")


@pytest.mark.slow
def test_snapshot_on_spark_swaps_and_reverts(real_replayed_spark: str) -> None:
    """A run over the loaded raw.products (week 1's state) after week 4, which the rewind guard
    lets through only when asked: changes recorded as a new generation, with its meta.runs id;
    `snapshot revert` swaps back and the history is week 4's again, and says what it undid as
    on DuckDB."""
    spark = ("--engine", real_replayed_spark)
    _code, before = _json(*spark, "snapshot", "list")
    taken = run_cli(*spark, "snapshot", "--at", "2024-11-05T06:00:00Z", "--allow-rewind")
    assert taken.exit_code == 0, taken.stderr
    _code, after = _json(*spark, "snapshot", "list")
    assert after[1:] == before and after[0]["taken_at"] == "2024-11-05T06:00:00Z"
    run_id = after[0]["snapshot_run_id"]
    assert f"snapshot run {run_id} at 2024-11-05T06:00:00Z: 6 opened, 6 closed" in taken.stderr
    preview = run_cli(*spark, "snapshot", "revert", "--dry-run", "--format", "json")
    assert preview.exit_code == 0, preview.stderr
    rows = json.loads(preview.stdout)
    assert sorted(r["action"] for r in rows) == ["delete"] * 6 + ["reopen"] * 6
    # the six products the run changed: each loses the version the run opened and gets back
    # the one it closed
    assert {r["product_id"] for r in rows if r["action"] == "delete"} == {
        r["product_id"] for r in rows if r["action"] == "reopen"
    }
    assert f"dry run: reverting snapshot run {run_id} at" in preview.stderr
    reverted = run_cli(*spark, "snapshot", "revert")
    assert reverted.exit_code == 0, reverted.stderr
    assert (
        f"reverted snapshot run {run_id} at 2024-11-05T06:00:00Z: the versions it opened "
        "removed (6 opened, 0 deleted), the 6 it closed re-opened"
    ) in reverted.stderr
    old_spelling = run_cli(*spark, "snapshot", "--list", "--format", "json")
    assert old_spelling.exit_code == 0 and json.loads(old_spelling.stdout) == before
    assert "deprecated; use `snapshot list`" in old_spelling.stderr
    _code, log = _json(*spark, "runs", "--command", "snapshot", "--limit", "2")
    assert [(r["run_id"], r["args"], r["rows_affected"]) for r in log] == [
        (run_id + 1, {"revert_last": True}, 12),
        (run_id, {"at": "2024-11-05 06:00:00+00:00", "check_columns": None,
                  "missing": "new_record", "source": None}, 12),
    ]  # fmt: skip
    older = run_cli(*spark, "snapshot", "--at", "2024-10-01T00:00:00Z")
    assert older.exit_code == 2 and "append-only" in older.stderr
