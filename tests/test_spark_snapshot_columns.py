"""`greenery --engine sc://... snapshot`: --check-columns, --missing and source column drift, as on
DuckDB.

Fast: the Spark engine's runs (engines/spark/snapshot.py: run_once, dry_run, revert_last, each
run a new generation and a view swap) on a stand-in (a DuckDB warehouse answering the SparkEngine
calls, every statement also translated by the dialect and parsed as Spark SQL), each run taken by
DuckDB's own snapshot too on the same hand-built products file (the cases of test_snapshot.py,
whose answers are known); the histories (columns, types, rows), the runs and the refusals must be
DuckDB's. Slow: the same options and a drifting source through the CLI on the test run's Spark
Connect server, against DuckDB's CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli
from spark_stand_in import SnapshotStandIn
from test_snapshot import HEADER, Products, T, contents, snap, write_products

from greenery_cli.errors import DataError, ExitCode, GreeneryError, UsageError
from greenery_cli.snapshot import SnapshotResult
from greenery_cli.warehouse import open_warehouse

pytest.importorskip("sqlglot", reason="the spark extra is not installed: pip install -e '.[spark]'")

from greenery_cli.engines.spark import snapshot as spark_snapshot  # noqa: E402

CONTRACT = {"product_id": "varchar", "name": "varchar", "price": "double", "inventory": "integer"}
COLOUR = [*HEADER, "colour"]


def _generation(engine: Any) -> int:
    """The generation the stand-in's view points at, as the Spark engine reads it off its own."""
    found = engine.wh.rows(
        "select sql from duckdb_views() where schema_name = 'snapshots' "
        "and view_name = 'products_snapshot'"
    )
    return int(re.findall(r"products_snapshot_g(\d+)", found[0][0])[-1]) if found else 0


def _staging(wh: Any, folder: Path) -> spark_snapshot.Stage:
    """products.csv as the Spark engine stages it: the contract's columns typed, extra ones
    after them as text, each row's place in the file."""

    def stage() -> tuple[int, str]:
        header = (folder / "products.csv").read_text().splitlines()[0].split(",")
        types = {c: CONTRACT.get(c, "varchar") for c in header}
        ordered = [*CONTRACT, *(c for c in header if c not in CONTRACT)]
        columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in types.items()) + "}"
        wh.execute(
            f"create or replace temp table {spark_snapshot.STAGED} as select "
            + ", ".join(f'"{c}"' for c in ordered)
            + ", row_number() over () - 1 as source_position "
            f"from read_csv(?, header = true, columns = {columns})",
            [str(folder / "products.csv")],
        )
        return int(wh.scalar(f"select count(*) from {spark_snapshot.STAGED}")), str(
            folder.resolve()
        )

    return stage


def _state(db: Path) -> tuple[Any, ...]:
    """The history's columns and types, its rows, and the runs (a view on the stand-in)."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = [r[:2] for r in con.execute("describe snapshots.products_snapshot").fetchall()]
        rows = con.execute(
            "select * from snapshots.products_snapshot order by snapshot_row_id"
        ).fetchall()
        runs = con.execute("select * from snapshots.snapshot_runs order by all").fetchall()
    return columns, rows, runs


class Pair:
    """The same runs taken by DuckDB's snapshot and by the Spark engine's on the stand-in."""

    def __init__(self, tmp_path: Path) -> None:
        self.duck, self.spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
        self.src = tmp_path / "src"

    def take(
        self,
        moment: datetime,
        products: Products | Sequence[Sequence[Any]],
        header: Sequence[str] = HEADER,
        *,
        check_columns: tuple[str, ...] | None = None,
        missing: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Any, Any]:
        """DuckDB's answer (a SnapshotResult or the error it raised) and the Spark engine's; a
        run either refuses has written nothing on the stand-in."""
        write_products(self.src, products, header)
        options: dict[str, Any] = {"check_columns": check_columns, "missing": missing}
        try:
            theirs: Any = snap(self.duck, self.src, moment, dry_run=dry_run, **options)
        except GreeneryError as exc:
            theirs = exc
        before = contents(self.spark, skip=()) if self.spark.exists() else None
        policy = spark_snapshot.Policy(check_columns, missing)
        guards = spark_snapshot.Guards(dry_run=dry_run)
        with open_warehouse(self.spark, write=True) as wh:
            engine: Any = SnapshotStandIn(wh)
            stage = _staging(wh, self.src)
            try:
                if dry_run:
                    mine: Any = spark_snapshot.dry_run(engine, moment, stage, guards, policy)
                else:
                    ran = isinstance(theirs, SnapshotResult)
                    run_id = theirs.run_id if ran else spark_snapshot.latest_run_id(engine) + 1
                    mine = spark_snapshot.run_once(engine, moment, stage, run_id, guards, policy)
            except GreeneryError as exc:
                mine = exc
        if isinstance(mine, GreeneryError) or dry_run:
            assert before is None or contents(self.spark, skip=()) == before
        return theirs, mine

    def same_history(self) -> tuple[Any, ...]:
        state = _state(self.spark)
        assert state == _state(self.duck)
        return state


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pair:
    monkeypatch.setattr(spark_snapshot, "_generation", _generation)
    return Pair(tmp_path)


def _counts(answer: Any) -> tuple[int, int, int]:
    return answer.opened, answer.closed, answer.deleted


def _same_refusal(theirs: Any, mine: Any, kind: type[Exception], match: str) -> None:
    assert isinstance(theirs, kind) and re.search(match, str(theirs)), theirs
    assert type(mine) is type(theirs) and str(mine) == str(theirs)


def test_check_columns_on_spark_open_the_versions_duckdbs_do(pair: Pair) -> None:
    aloe = {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)}
    pair.take(T[0], aloe)
    steps: list[tuple[Products, tuple[str, ...] | None, tuple[int, int, int]]] = [
        ({**aloe, "a": ("Aloe", 6.0, 10)}, None, (0, 0, 0)),  # the project's: inventory only
        ({**aloe, "a": ("Aloe", 6.0, 10)}, ("price",), (1, 1, 0)),
        ({**aloe, "a": ("Aloe vera", 6.0, 10)}, ("price", "inventory"), (0, 0, 0)),
        ({**aloe, "a": ("Aloe vera", 6.0, 10)}, ("*",), (1, 1, 0)),  # all columns: the name
    ]
    for moment, (products, checks, counts) in zip(T[1:5], steps, strict=True):
        theirs, mine = pair.take(moment, products, check_columns=checks)
        assert _counts(mine) == _counts(theirs) == counts
    _columns, rows, runs = pair.same_history()
    assert [(r[1], r[2], r[3]) for r in rows if r[1] == "a"] == [
        ("a", "Aloe", 5.0),
        ("a", "Aloe", 6.0),
        ("a", "Aloe vera", 6.0),
    ]
    assert [r[6] for r in runs] == ["inventory", "inventory", "price", "price,inventory", "all"]


def test_check_column_refusals_on_spark_are_duckdbs(pair: Pair) -> None:
    pair.take(T[0], {"a": ("Aloe", 5.0, 10)})
    theirs, mine = pair.take(T[1], {"a": ("Aloe", 5.0, 9)}, check_columns=("colour",))
    _same_refusal(theirs, mine, DataError, r"check column\(s\) colour is not in the source")
    theirs, mine = pair.take(T[1], {"a": ("Aloe", 5.0, 9)}, check_columns=("product_id",))
    _same_refusal(theirs, mine, UsageError, "product_id is the key")
    pair.same_history()


def test_missing_policies_on_spark_mix_across_runs_as_on_duckdb(pair: Pair) -> None:
    everything = {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4), "c": ("Cactus", 1.0, 2)}
    pair.take(T[0], everything)
    steps: list[tuple[Products, str, tuple[int, int, int]]] = [
        ({"a": everything["a"], "c": everything["c"]}, "invalidate", (0, 1, 1)),  # b closes
        ({"a": everything["a"], "b": ("Basil", 3.0, 7)}, "new_record", (1, 1, 1)),  # c: tombstone
        ({"b": ("Basil", 3.0, 7), "c": ("Cactus", 1.0, 3)}, "ignore", (1, 1, 0)),  # a stays
        ({"a": everything["a"], "c": ("Cactus", 1.0, 3)}, "invalidate", (0, 1, 1)),  # b closes
    ]
    for moment, (products, missing, counts) in zip(T[1:5], steps, strict=True):
        theirs, mine = pair.take(moment, products, missing=missing)
        assert _counts(mine) == _counts(theirs) == counts, missing
    _columns, rows, runs = pair.same_history()
    assert [r[7] for r in runs] == [
        "new_record",
        "invalidate",
        "new_record",
        "ignore",
        "invalidate",
    ]
    assert [(r[1], r[7]) for r in rows if r[1] == "c"] == [("c", False), ("c", True), ("c", False)]


def test_a_column_the_source_adds_or_drops_changes_the_spark_history_as_duckdbs(
    pair: Pair,
) -> None:
    """test_snapshot.py's drift story: a new column joins without re-versioning, is compared
    from the versions opened after it came, is refused as a check column once gone and
    otherwise stops being filled; then the run that added it reverted."""
    both = {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)}
    every = ("*",)
    pair.take(T[0], both, check_columns=every)
    steps: list[tuple[list[tuple[Any, ...]], tuple[int, int, int]]] = [
        ([("a", "Aloe", 5.0, 10, "green"), ("b", "Basil", 3.0, 4, "red")], (0, 0, 0)),
        ([("a", "Aloe", 5.0, 9, "green"), ("b", "Basil", 3.0, 4, "red")], (1, 1, 0)),
        ([("a", "Aloe", 5.0, 9, "blue"), ("b", "Basil", 3.0, 4, "pink")], (1, 1, 0)),
    ]
    for moment, (rows, counts) in zip(T[1:4], steps, strict=True):
        theirs, mine = pair.take(moment, rows, COLOUR, check_columns=every)
        assert _counts(mine) == _counts(theirs) == counts
        assert mine.added_columns == theirs.added_columns == (("colour",) if moment == T[1] else ())
    columns, history, _runs = pair.same_history()
    assert columns[-1] == ("colour", "VARCHAR")  # after the snapshot's own columns, as on DuckDB
    assert [(r[1], r[4], r[-1]) for r in history] == [
        ("a", 10, None),
        ("b", 4, None),
        ("a", 9, "green"),
        ("a", 9, "blue"),
    ]
    # a dry run that drops it: the new version would carry NULL there
    theirs, mine = pair.take(T[4], {"a": ("Aloe", 5.0, 1), "b": ("Basil", 3.0, 4)}, dry_run=True)
    assert mine.changes.rows() == theirs.changes.rows() and _counts(mine) == (1, 1, 0)
    theirs, mine = pair.take(
        T[4], {"a": ("Aloe", 5.0, 9), "b": ("Basil", 3.0, 4)}, check_columns=("colour",)
    )
    _same_refusal(theirs, mine, DataError, r"colour has vanished from the source")
    theirs, mine = pair.take(T[4], {"a": ("Aloe", 5.0, 1), "b": ("Basil", 3.0, 4)})
    assert _counts(mine) == _counts(theirs) == (1, 1, 0)
    _columns, history, _runs = pair.same_history()
    assert history[-1][1:5] + history[-1][-1:] == ("a", "Aloe", 5.0, 1, None)


def test_a_new_column_at_the_first_run_and_its_revert_on_spark_as_on_duckdb(pair: Pair) -> None:
    pair.take(T[0], {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    before = _state(pair.spark)
    rows = [("a", "Aloe", 5.0, 9, "green"), ("d", "Dill", 2.0, 6, "")]
    theirs, mine = pair.take(T[1], rows, COLOUR, missing="invalidate", check_columns=("*",))
    assert mine.added_columns == theirs.added_columns == ("colour",)
    assert _counts(mine) == _counts(theirs) == (2, 2, 1)
    pair.same_history()
    from greenery_cli.snapshot import revert_last

    revert_last(str(pair.duck))
    with open_warehouse(pair.spark, write=True) as wh:
        undone = spark_snapshot.revert_last(SnapshotStandIn(wh))
        assert spark_snapshot.ADDED + "2" not in wh.relations()  # the drift record went too
    assert (undone.run_id, _counts(undone)) == (theirs.run_id, (2, 2, 1))
    assert pair.same_history() == before  # colour gone again
    # a source column named like one of the snapshot's own is refused, in DuckDB's words
    theirs, mine = pair.take(T[1], [("a", "Aloe", 5.0, 9, "x")], [*HEADER, "valid_from"])
    _same_refusal(theirs, mine, DataError, "valid_from clash")


# -- slow: the same options and a drifting source through the CLI on the test run's server -----


@pytest.mark.slow
def test_check_columns_missing_and_drift_on_spark_match_duckdb_through_the_cli(
    spark_server: Any, spark: Any, tmp_path: Path
) -> None:
    """One small history taken by both engines' CLI, run by run: --check-columns and --missing
    of every kind, a column the source adds (then compares, then drops) and the refusal of a
    vanished check column; then a replayed state bringing it back. Each step's stdout, stderr
    and exit code, and the history, the runs and the run log after, are DuckDB's (the stand-in
    tests above cover the rest: dry run, revert, a clash)."""

    def forget_history() -> None:
        for database in ("snapshots", "meta"):
            spark.sql(f"drop database if exists {database} cascade").collect()

    forget_history()  # no history and no run log: the run ids are DuckDB's
    duck = ("--db", str(tmp_path / "duck.duckdb"))
    on_spark = ("--engine", spark_server.url)
    src = tmp_path / "src"

    def both(
        products: Products | Sequence[Sequence[Any]], header: Sequence[str], *args: str
    ) -> Any:
        write_products(src, products, header)
        theirs = run_cli(*duck, "snapshot", "--source", str(src), *args)
        mine = run_cli(*on_spark, "snapshot", "--source", str(src), *args)
        assert (mine.exit_code, mine.stdout, mine.stderr) == (
            theirs.exit_code, theirs.stdout, theirs.stderr
        ), args  # fmt: skip
        return mine

    def at(week: int) -> tuple[str, str]:
        return "--at", T[week].isoformat()

    three = {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4), "c": ("Cactus", 1.0, 2)}
    assert both(three, HEADER, *at(0)).exit_code == 0
    # colour comes (not compared this run); a's price is, b gone is invalidated
    coloured = [("a", "Aloe", 6.0, 10, "green"), ("c", "Cactus", 1.0, 2, "red")]
    checks = ("--check-columns", "name,price", "--missing", "invalidate")
    taken = both(coloured, COLOUR, *at(1), *checks)
    assert "1 opened, 2 closed, 1 deleted" in taken.stderr and "colour added" in taken.stderr
    # a's colour is compared (its version came with it), c's is not; c gone is ignored
    coloured = [("a", "Aloe", 6.0, 10, "blue"), ("b", "Basil", 3.0, 4, "pink")]
    taken = both(coloured, COLOUR, *at(2), "--check-columns", "all", "--missing", "ignore")
    assert "2 opened, 1 closed, 0 deleted" in taken.stderr
    refused = both(three, HEADER, *at(3), "--check-columns", "colour")
    assert refused.exit_code == ExitCode.WORK_FAILED and "colour has vanished" in refused.stderr
    assert both(three, HEADER, *at(3), "--check-columns", "all").exit_code == 0  # colour NULL
    # a replayed state brings colour back, checked and with its own policy, as on DuckDB
    weeks = tmp_path / "weeks"
    write_products(weeks, [("a", "Aloe", 5.0, 10, "white"), ("c", "Cactus", 1.0, 2, "")], COLOUR)
    (weeks / "schedule.csv").write_text(f"snapshot_at,file\n{T[4].isoformat()},products.csv\n")
    replay = ("snapshot", "--replay", str(weeks), "--check-columns", "all")
    replay += ("--missing", "invalidate")
    replayed = [run_cli(*engine, *replay, "--format", "json") for engine in (duck, on_spark)]
    assert replayed[0].exit_code == replayed[1].exit_code == 0, replayed[1].stderr
    assert (replayed[1].stdout, replayed[1].stderr) == (replayed[0].stdout, replayed[0].stderr)

    history = ("query", "select * from snapshots.products_snapshot order by snapshot_row_id")

    def answers(engine: tuple[str, ...], *asked: tuple[str, ...]) -> list[Any]:
        found = []
        for question in asked:
            result = run_cli(*engine, *question, "--format", "json")
            assert result.exit_code == 0, result.stderr
            rows = json.loads(result.stdout)
            if question[0] == "runs":  # without the run log's own clock
                keys = ("run_id", "args", "status", "rows_affected", "message")
                rows = [{k: r[k] for k in keys} for r in rows]
            found.append(rows)
        return found

    mine = answers(on_spark, history, ("snapshot", "list"), ("runs", "--all"))
    assert mine == answers(duck, history, ("snapshot", "list"), ("runs", "--all"))
    assert list(mine[0][0])[-1] == "colour"
    assert [(r["product_id"], r["colour"]) for r in mine[0]][3:] == [
        ("a", "green"), ("a", "blue"), ("b", "pink"), ("a", None), ("a", "white")
    ]  # fmt: skip
    assert [(r["check_columns"], r["missing_policy"]) for r in mine[1]] == [  # newest first
        ("all", "invalidate"),
        ("all", "new_record"),
        ("all", "ignore"),
        ("name,price", "invalidate"),
        ("inventory", "new_record"),
    ]
    forget_history()  # the Spark tests after this one find no history of these runs
