"""`greenery --engine sc://... snapshot`: DuckDB's rewind guard, shrink guard and --dry-run.

Fast: the Spark engine's snapshot code on a stand-in (a DuckDB warehouse answering the SparkEngine
calls, every statement also translated by the dialect and parsed as Spark SQL) over a history
DuckDB's own snapshot wrote, against DuckDB's answer on a copy (the hand-built cases of
test_snapshot_replay.py's guard tests, whose answers are known). Slow: the real data's weekly
product states replayed on the test run's Spark Connect server, then the guards and the dry run
through the CLI, against DuckDB's CLI on the same files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli
from spark_stand_in import SnapshotStandIn
from test_snapshot import T, contents, snap, write_products

from greenery_cli.errors import DataError, ExitCode, GreeneryError, UsageError
from greenery_cli.snapshot_rewind import RewindRefused
from greenery_cli.warehouse import open_warehouse

pytest.importorskip("sqlglot", reason="the spark extra is not installed: pip install -e '.[spark]'")

from greenery_cli.engines.spark import snapshot as spark_snapshot  # noqa: E402


def _as_generation_one(db: Path) -> None:
    """DuckDB's history as the Spark engine's generation 1 (its tables behind the names)."""
    with duckdb.connect(str(db)) as con:
        for table in ("products_snapshot", "snapshot_runs"):
            con.execute(f"create view snapshots.{table}_g1 as select * from snapshots.{table}")
        con.execute("delete from meta.source")  # Spark remembers no source


def _staging(wh: Any, folder: Path) -> Callable[[], tuple[int, str]]:
    """products.csv as the Spark engine stages it: typed, each row's place in the file."""

    def stage() -> tuple[int, str]:
        wh.execute(
            f"create or replace temp table {spark_snapshot.STAGED} as select *, "
            "row_number() over () - 1 as source_position from read_csv(?, header = true, "
            "columns = {'product_id': 'varchar', 'name': 'varchar', 'price': 'double', "
            "'inventory': 'integer'})",
            [str(folder / "products.csv")],
        )
        return int(wh.scalar(f"select count(*) from {spark_snapshot.STAGED}")), str(
            folder.resolve()
        )

    return stage


@pytest.fixture
def histories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """One history taken by DuckDB (a, b, c: 1 2 3, then 5 6 3, then a run that found nothing
    new), twice: DuckDB's reference, and the stand-in's; and the source folder."""
    duck, src = tmp_path / "duck.duckdb", tmp_path / "src"
    for moment, products in ((T[0], (1, 2, 3)), (T[1], (5, 6, 3)), (T[2], (5, 6, 3))):
        write_products(src, {p: (p.upper(), 1.0, n) for p, n in zip("abc", products, strict=True)})
        snap(duck, src, moment)
    with duckdb.connect(str(duck)) as con:
        con.execute("delete from meta.source")  # as on Spark: no remembered source
    spark = tmp_path / "spark.duckdb"
    shutil.copy(duck, spark)
    _as_generation_one(spark)
    monkeypatch.setattr(spark_snapshot, "_generation", lambda _engine: 1)
    return duck, spark, src


def _on_spark(
    spark: Path, src: Path, guards: spark_snapshot.Guards
) -> tuple[Any, list[str], dict[str, Any]]:
    """The Spark engine's dry run (or, for a refusal, its run) at T[3]; what it sent; and the
    warehouse's contents after."""
    with open_warehouse(spark, write=True) as wh:
        engine: Any = SnapshotStandIn(wh)
        stage = _staging(wh, src)
        try:
            if guards.dry_run:
                answer: Any = spark_snapshot.dry_run(engine, T[3], stage, guards)
            else:
                answer = spark_snapshot.run_once(engine, T[3], stage, 4, guards)
        except DataError as exc:
            answer = exc
    return answer, engine.sent, contents(spark, skip=())


def test_the_rewind_guard_on_spark_refuses_with_duckdbs_message_and_lets_through_when_allowed(
    histories: tuple[Path, Path, Path],
) -> None:
    duck, spark, src = histories
    before = contents(spark, skip=())
    write_products(src, {"a": ("A", 1.0, 1), "b": ("B", 1.0, 2), "c": ("C", 1.0, 9)})
    with pytest.raises(RewindRefused) as theirs:
        snap(duck, src, T[3])
    assert "since snapshot run 1 at 2024-03-04T06:00:00Z (A, B)" in str(theirs.value)
    for dry in (False, True):  # a dry run is refused the same way, as on DuckDB
        mine, sent, after = _on_spark(spark, src, spark_snapshot.Guards(dry_run=dry))
        assert isinstance(mine, RewindRefused), mine
        assert str(mine) == str(theirs.value) and mine.run_id == 1
        assert after == before
        assert any("SLICE(" in sql for sql in sent)  # rewind_match.sql's examples, for Spark
    allowed, _sent, after = _on_spark(
        spark, src, spark_snapshot.Guards(dry_run=True, allow_rewind=True)
    )
    reference = snap(duck, src, T[3], dry_run=True, allow_rewind=True)
    assert (allowed.opened, allowed.closed, allowed.deleted) == (3, 3, 0)
    assert (allowed.opened, allowed.closed, allowed.deleted) == (
        reference.opened,
        reference.closed,
        reference.deleted,
    )
    assert after == before


def test_the_shrink_guard_on_spark_refuses_with_duckdbs_message(
    histories: tuple[Path, Path, Path],
) -> None:
    duck, spark, src = histories
    before = contents(spark, skip=())
    write_products(src, {"a": ("A", 1.0, 5)})  # b and c gone: two thirds of the products
    with pytest.raises(
        DataError, match=r"would mark 2 of the 3 current products deleted"
    ) as theirs:
        snap(duck, src, T[3])
    mine, _sent, after = _on_spark(spark, src, spark_snapshot.Guards())
    assert isinstance(mine, DataError) and str(mine) == str(theirs.value)
    assert after == before


def test_a_dry_run_on_spark_lists_duckdbs_rows_and_writes_nothing(
    histories: tuple[Path, Path, Path],
) -> None:
    duck, spark, src = histories
    before = contents(spark, skip=())
    write_products(src, {"b": ("B", 1.0, 0), "c": ("C", 1.0, 3), "d": ("D", 2.0, 6)})
    theirs = snap(duck, src, T[3], dry_run=True)
    mine, _sent, after = _on_spark(spark, src, spark_snapshot.Guards(dry_run=True))
    assert after == before  # no table, no view, no run logged
    assert (mine.dry_run, mine.run_id, mine.opened, mine.closed, mine.deleted) == (
        True, None, 2, 2, 1
    )  # fmt: skip
    assert (mine.opened, mine.closed, mine.deleted, mine.products, mine.source) == (
        theirs.opened, theirs.closed, theirs.deleted, theirs.products, theirs.source
    )  # fmt: skip
    assert mine.changes.rows() == theirs.changes.rows()
    assert mine.changes.select("action", "change", "product_id", "inventory").rows() == [
        ("close", "gone", "a", 5),
        ("open", "gone", "a", 5),
        ("close", "changed", "b", 6),
        ("open", "changed", "b", 0),
        ("open", "new", "d", 6),
    ]  # fmt: skip


def test_dry_run_and_allow_rewind_are_no_longer_refused_on_spark_but_replay_takes_no_dry_run() -> (
    None
):
    result = run_cli("--engine", "sc://127.0.0.1:1", "snapshot", "--replay", ".", "--dry-run")
    duck = run_cli("snapshot", "--replay", ".", "--dry-run")
    assert result.exit_code == duck.exit_code == ExitCode.TOOL_ERROR
    assert result.stderr == duck.stderr and "not --at, --source or --dry-run" in result.stderr


def test_a_replay_on_spark_skips_the_states_the_history_holds_as_duckdb(
    histories: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history's own three states replayed: each skipped, naming the run that holds it, no
    run taken, nothing written (DuckDB's answer on its copy); another state at a moment of the
    history and a moment inside it with no run are refused in DuckDB's words."""
    from test_snapshot_replay import write_weeks

    from greenery_cli.engines.spark.meta import RunLog
    from greenery_cli.snapshot_replay import ReplaySettings, replay

    duck, spark, _src = histories

    def file_stage(engine: Any, csv: Path) -> Callable[[], tuple[int, str]]:
        def stage() -> tuple[int, str]:  # as the Spark engine stages one file: typed, in order
            folder = tmp_path / "staged"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            shutil.copy(csv, folder / "products.csv")
            return _staging(engine.wh, folder)()  # DuckDB's own read_csv, behind the engine

        return stage

    monkeypatch.setattr(spark_snapshot, "file_stage", file_stage)

    def on_spark(folder: Path) -> Any:
        with open_warehouse(spark, write=True) as wh:
            engine: Any = SnapshotStandIn(wh)
            log = RunLog(engine, 4)
            try:
                states = spark_snapshot.replay(engine, folder, log, spark_snapshot.Guards())
            except (DataError, UsageError) as exc:
                return exc
            assert log.finished == [] and log.next_id == 4  # no run taken
            return states

    def on_duck(folder: Path) -> Any:
        try:
            return replay(ReplaySettings(db=duck, folder=str(folder))).states
        except (DataError, UsageError) as exc:
            return exc

    state = {p: (p.upper(), 1.0, n) for p, n in zip("abc", (1, 2, 3), strict=True)}
    later = {p: (p.upper(), 1.0, n) for p, n in zip("abc", (5, 6, 3), strict=True)}
    before = contents(spark, skip=())
    held = write_weeks(tmp_path / "held", [(T[0], state), (T[1], later), (T[2], later)])
    skipped = on_spark(held)
    assert [(s.skipped, s.run_id) for s in skipped] == [(True, 1), (True, 2), (True, 3)]
    assert skipped == on_duck(held)
    assert contents(spark, skip=()) == before
    for name, states in (
        ("other", [(T[0], state), (T[1], state)]),  # week 1's products again at T[1]
        ("between", [(T[0] + timedelta(days=1), state)]),
    ):
        folder = write_weeks(tmp_path / name, states)
        mine, theirs = on_spark(folder), on_duck(folder)
        assert isinstance(mine, type(theirs)) and isinstance(mine, GreeneryError), mine
        assert str(mine) == str(theirs)
    assert "already has snapshot run 2 at that moment" in str(on_spark(tmp_path / "other"))
    assert "append-only in time" in str(on_spark(tmp_path / "between"))
    assert contents(spark, skip=()) == before


# -- slow: the real weekly states on the test run's Spark Connect server ------------------------


def _weeks(real_data: Path, target: Path, weeks: tuple[int, ...]) -> Path:
    """A replay folder of some of the real weekly product states (a small history)."""
    source = real_data / "inventory-weeks"
    target.mkdir()
    with (source / "schedule.csv").open() as handle:
        header, *rows = handle.read().splitlines()
    kept = [r for r in rows if int(r.split(",")[0]) in weeks]
    (target / "schedule.csv").write_text("\n".join([header, *kept]) + "\n")
    for row in kept:
        shutil.copy(source / row.split(",")[2], target / row.split(",")[2])
    return target


def _products_folder(real_data: Path, target: Path, week: int, keep: int | None = None) -> Path:
    """A --source folder whose products.csv is a weekly state (its first `keep` products)."""
    lines = (real_data / "inventory-weeks" / f"products_week{week}.csv").read_text().splitlines()
    target.mkdir()
    (target / "products.csv").write_text("\n".join(lines[: None if keep is None else keep + 1]))
    return target


@pytest.mark.slow
def test_snapshot_guards_and_dry_run_on_spark_match_duckdb(
    spark_server: Any, spark: Any, real_data: Path, tmp_path: Path
) -> None:
    """Weeks 1 and 2 replayed on both engines; then week 1 again is refused as a rewind with
    DuckDB's message and the Spark history is unchanged; a dry run (--allow-rewind) prints
    DuckDB's rows and writes nothing; five products only is refused by the shrink guard; the
    rewind taken with --allow-rewind, over a stale folder where its generation goes; the two
    weeks replayed again skipped, another state at week 1 refused; the runs and the history then
    as on DuckDB."""

    def forget_history() -> None:
        for database in ("snapshots", "meta"):
            spark.sql(f"drop database if exists {database} cascade").collect()

    forget_history()  # no history and no run log: the run ids below are DuckDB's
    duck = ("--db", str(tmp_path / "duck.duckdb"))
    on_spark = ("--engine", spark_server.url)

    def both(*args: str) -> tuple[Any, Any]:
        return run_cli(*duck, "snapshot", *args), run_cli(*on_spark, "snapshot", *args)

    def spark_state() -> tuple[Any, ...]:
        tables = sorted((t.name, t.tableType) for t in spark.catalog.listTables("snapshots"))
        view = spark.sql("show create table snapshots.products_snapshot").collect()[0][0]
        return tuple(tables), view.split("AS SELECT")[-1]

    replayed = both(
        "--replay", str(_weeks(real_data, tmp_path / "weeks", (1, 2))), "--format", "json"
    )
    for result in replayed:
        assert result.exit_code == 0, result.stderr
    assert replayed[1].stdout == replayed[0].stdout and replayed[1].stderr == replayed[0].stderr
    assert json.loads(replayed[1].stdout)["taken"] == 2
    after_replay = spark_state()
    week1 = str(_products_folder(real_data, tmp_path / "week1", 1))
    at = ("--at", "2024-10-23T06:00:00Z")

    # the rewind: refused in DuckDB's words, nothing written
    refused = both("--source", week1, *at)
    assert [r.exit_code for r in refused] == [ExitCode.WORK_FAILED] * 2
    assert refused[1].stderr == refused[0].stderr and refused[1].stdout == ""
    assert "looks like an older state of the history" in refused[1].stderr
    assert spark_state() == after_replay

    # the dry run: DuckDB's rows in every format, nothing written, nothing logged
    for fmt in ("json", "csv", "markdown", "table"):
        dry = both("--source", week1, *at, "--dry-run", "--allow-rewind", "--format", fmt)
        assert dry[0].exit_code == dry[1].exit_code == 0, dry[1].stderr
        assert dry[1].stdout == dry[0].stdout and dry[1].stderr == dry[0].stderr
        if fmt == "json":  # each product that changed since week 1: closed, and opened anew
            rows = json.loads(dry[1].stdout)
            assert len(rows) >= 4 and {r["action"] for r in rows} == {"close", "open"}
    assert spark_state() == after_replay

    # the shrink: five products of thirty
    shrunk = both("--source", str(_products_folder(real_data, tmp_path / "few", 2, 5)), *at)
    assert [r.exit_code for r in shrunk] == [ExitCode.WORK_FAILED] * 2
    assert shrunk[1].stderr == shrunk[0].stderr
    assert "would mark 25 of the 30 current products deleted" in shrunk[1].stderr
    assert spark_state() == after_replay

    # a folder left where the next generation goes (a run killed earlier) is cleared
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    spark.range(1).write.parquet(f"{warehouse}/snapshots.db/products_snapshot_g3")
    taken = both("--source", week1, *at, "--allow-rewind")
    assert taken[0].exit_code == taken[1].exit_code == 0, taken[1].stderr
    assert taken[1].stderr == taken[0].stderr
    assert spark_state() != after_replay

    def log(engine: tuple[str, ...]) -> list[tuple[Any, ...]]:
        listed = run_cli(*engine, "runs", "--all", "--format", "json")
        assert listed.exit_code == 0, listed.stderr
        return [
            (r["run_id"], r["args"], r["status"], r["rows_affected"], r["message"])
            for r in json.loads(listed.stdout)
        ]

    # the two weeks again: both states skipped, naming the runs holding them, as on DuckDB;
    # week 2's products at week 1's moment refused
    again = both("--replay", str(tmp_path / "weeks"), "--format", "json")
    assert again[0].exit_code == again[1].exit_code == 0, again[1].stderr
    assert again[1].stdout == again[0].stdout and again[1].stderr == again[0].stderr
    assert json.loads(again[1].stdout)["skipped"] == 2
    swapped = _weeks(real_data, tmp_path / "swapped", (1,))
    shutil.copy(
        real_data / "inventory-weeks" / "products_week2.csv", swapped / "products_week1.csv"
    )
    other = both("--replay", str(swapped))
    assert other[0].exit_code == other[1].exit_code == ExitCode.WORK_FAILED, other[1].stderr
    assert other[1].stderr == other[0].stderr and "holding another state" in other[1].stderr

    runs = log(on_spark)
    assert [r[2] for r in runs] == ["error", "success"] + [
        "success", "error", "error", "success", "success", "success"
    ]  # fmt: skip
    assert runs == log(duck)
    for question in (("snapshot", "list"), ("inventory-changes",)):
        listing = run_cli(*on_spark, *question, "--format", "json")
        assert listing.exit_code == 0, listing.stderr
        assert listing.stdout == run_cli(*duck, *question, "--format", "json").stdout
    forget_history()  # the Spark tests after this one find no history of these weeks
