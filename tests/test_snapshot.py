"""`greenery snapshot`: the type-2 products history, hand-built cases whose answers are obvious.

Each source is a folder holding only products.csv (the snapshot reads nothing else); runs are
taken at fixed moments T[0] < T[1] < ... so every valid_from / valid_to can be read off.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenery_cli.errors import DataError, UsageError, WarehouseBusy, WorkFailed
from greenery_cli.resources import ENGINE_QUERIES
from greenery_cli.snapshot import (
    MISSING_POLICIES,
    SnapshotResult,
    SnapshotSettings,
    list_runs,
    revert_last,
    take_snapshot,
)
from greenery_cli.sql import render
from greenery_cli.warehouse import open_warehouse

T = [datetime(2024, 3, 4, 6, tzinfo=UTC) + timedelta(weeks=week) for week in range(6)]
Products = dict[str, tuple[str, float, int]]  # product_id -> name, price, inventory
HEADER = ["product_id", "name", "price", "inventory"]


def write_products(
    folder: Path, products: Products | Sequence[Sequence[Any]], header: Sequence[str] = HEADER
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = (
        [(pid, *values) for pid, values in products.items()]
        if isinstance(products, dict)
        else products
    )
    with (folder / "products.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def snap(db: Path, source: Path, at: datetime | None, **options: Any) -> SnapshotResult:
    return take_snapshot(SnapshotSettings(db=str(db), source=str(source), at=at, **options))


def history(db: Path) -> list[tuple[Any, ...]]:
    """(product_id, inventory, valid_from, valid_to, is_deleted, opened_by_run, closed_by_run)."""
    with open_warehouse(db) as wh:
        return wh.rows(
            "select product_id, inventory, valid_from, valid_to, is_deleted, opened_by_run, "
            "closed_by_run from snapshots.products_snapshot order by product_id, valid_from"
        )


def versions(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each product's versions as (inventory, valid_from, valid_to, is_deleted)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for pid, inventory, start, end, deleted, _opened, _closed in history(db):
        found.setdefault(pid, []).append((inventory, start, end, deleted))
    return found


def contents(db: Path, skip: tuple[str, ...] = ("meta.runs",)) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (and the snapshot's columns), to prove a refused run wrote nothing."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() order by all"
        ).fetchall()
        # meta.runs without its wall-clock columns, which differ between copies of a run
        columns = {"meta.runs": "run_id, command, args, status, rows_affected, message"}
        dump = {
            name: sorted(
                con.execute(f"select {columns.get(name, '*')} from {name}").fetchall(), key=repr
            )
            for (name,) in tables
            if name not in skip
        }
        dump["columns"] = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where schema_name = 'snapshots' order by all"
        ).fetchall()
    return dump


def meta_runs(db: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select command, status, rows_affected, message from meta.runs order by run_id"
        ).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return tmp_path / "exports"


# --- the basic story: first run, a change, a rerun -------------------------------------------


def test_first_run_opens_each_product_and_a_change_closes_and_opens(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    first = snap(db, src, T[0])
    assert (first.opened, first.closed, first.deleted) == (2, 0, 0)
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 0), "c": ("Cactus", 8.0, 1)})
    second = snap(db, src, T[1])
    assert (second.opened, second.closed, second.deleted) == (2, 1, 0)
    assert second.run_id is not None and first.run_id is not None
    assert second.run_id > first.run_id
    r1, r2 = first.run_id, second.run_id
    assert history(db) == [
        ("a", 10, T[0], None, False, r1, None),
        ("b", 4, T[0], T[1], False, r1, r2),
        ("b", 0, T[1], None, False, r2, None),
        ("c", 1, T[1], None, False, r2, None),
    ]
    runs = list_runs(db)
    assert runs.select("snapshot_run_id", "taken_at", "rows_opened", "rows_closed").rows() == [
        (r2, T[1], 2, 1),
        (r1, T[0], 2, 0),
    ]
    assert set(runs["check_columns"]) == {"inventory"} and set(runs["missing_policy"]) == {
        "new_record"
    }
    assert set(runs["source"]) == {str(src.resolve())}


def test_an_unchanged_rerun_writes_no_version_but_logs_the_run(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    before = history(db)
    again = snap(db, src, T[1])
    assert (again.opened, again.closed, again.deleted) == (0, 0, 0)
    assert history(db) == before
    assert list_runs(db)["rows_opened"].to_list() == [0, 2]
    assert [r[:3] for r in meta_runs(db)] == [
        ("snapshot", "success", 2),
        ("snapshot", "success", 0),
    ]


def test_run_ids_snapshot_row_ids_and_meta_runs_agree(db: Path, src: Path) -> None:
    write_products(src, {"b": ("Basil", 3.0, 4), "a": ("Aloe", 5.0, 10)})
    result = snap(db, src, T[0])
    with open_warehouse(db) as wh:
        rows = wh.rows("select snapshot_row_id, product_id from snapshots.products_snapshot")
        logged = wh.rows("select run_id, command from meta.runs")
    assert sorted(rows) == [(1, "b"), (2, "a")]  # numbered in source order
    assert logged == [(result.run_id, "snapshot")]


# --- products that go and come back ----------------------------------------------------------


def test_new_record_writes_a_tombstone_and_a_return_reopens(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    gone = snap(db, src, T[1])
    assert (gone.opened, gone.closed, gone.deleted) == (0, 1, 1)
    assert snap(db, src, T[2]).closed == 0  # still gone: the tombstone stays, nothing new
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    back = snap(db, src, T[3])
    assert (back.opened, back.closed, back.deleted) == (1, 1, 0)
    assert versions(db)["b"] == [
        (4, T[0], T[1], False),
        (4, T[1], T[3], True),  # the tombstone keeps the last known values
        (4, T[3], None, False),
    ]


def test_invalidate_closes_with_no_successor_and_a_return_opens_anew(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0], missing="invalidate")
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    gone = snap(db, src, T[1], missing="invalidate")
    assert (gone.opened, gone.closed, gone.deleted) == (0, 1, 1)
    assert snap(db, src, T[2], missing="invalidate").closed == 0
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 7)})
    back = snap(db, src, T[3], missing="invalidate")
    assert (back.opened, back.closed, back.deleted) == (1, 0, 0)
    assert versions(db)["b"] == [(4, T[0], T[1], False), (7, T[3], None, False)]
    assert list_runs(db)["missing_policy"].to_list() == ["invalidate"] * 4


def test_ignore_leaves_a_missing_product_current(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0], missing="ignore")
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    gone = snap(db, src, T[1], missing="ignore")
    assert (gone.opened, gone.closed, gone.deleted) == (0, 0, 0)
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    assert snap(db, src, T[2], missing="ignore").opened == 0  # back unchanged: nothing
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 9)})
    assert snap(db, src, T[3], missing="ignore").opened == 1
    assert versions(db)["b"] == [(4, T[0], T[3], False), (9, T[3], None, False)]


def test_policies_mix_across_runs_without_overlap(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    snap(db, src, T[1])  # b: tombstone
    assert snap(db, src, T[2], missing="invalidate").closed == 0  # a tombstone is already gone
    write_products(src, {"b": ("Basil", 3.0, 4)})
    ignored = snap(db, src, T[3], missing="ignore")  # b returns; a missing but ignored
    assert (ignored.opened, ignored.closed, ignored.deleted) == (1, 1, 0)
    assert versions(db) == {
        "a": [(10, T[0], None, False)],
        "b": [(4, T[0], T[1], False), (4, T[1], T[3], True), (4, T[3], None, False)],
    }


def test_an_empty_source_tombstones_every_product_only_when_allowed(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    before = contents(db)
    write_products(src, {})
    with pytest.raises(DataError, match=r"would mark 2 of the 2 current products deleted \(100%"):
        snap(db, src, T[1])
    assert contents(db) == before
    result = snap(db, src, T[1], allow_shrink=True)
    assert (result.products, result.opened, result.closed, result.deleted) == (0, 0, 2, 2)
    assert all(v[-1][3] for v in versions(db).values())


# --- what counts as a change ---------------------------------------------------------------


def test_the_projects_snapshot_config_is_the_default(db: Path, src: Path, tmp_path: Path) -> None:
    """[snapshot] check_columns and missing in greenery.toml decide what a plain run compares
    and does with a product gone from the source; options still override them."""
    from greenery_cli.project import use_project_dir

    root = tmp_path / "shop"
    assert run_cli("init", str(root)).exit_code == 0
    toml = root / "greenery.toml"
    text = toml.read_text()
    assert 'check_columns = ["inventory"]' in text and 'missing = "new_record"' in text
    toml.write_text(
        text.replace('check_columns = ["inventory"]', 'check_columns = ["price"]').replace(
            'missing = "new_record"', 'missing = "invalidate"'
        )
    )
    use_project_dir(root)
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 6.0, 10)})  # a's price changes; b is gone
    second = snap(db, src, T[1])
    assert (second.opened, second.closed, second.deleted) == (1, 2, 1)
    assert versions(db)["b"] == [(4, T[0], T[1], False)]  # invalidated: no tombstone
    write_products(src, {"a": ("Aloe", 6.0, 3)})  # inventory is not compared by this project
    assert snap(db, src, T[2]).opened == 0
    assert snap(db, src, T[3], check_columns=("inventory",)).opened == 1
    assert list_runs(db)["missing_policy"].to_list()[-1] == "invalidate"


def test_check_columns_choose_what_opens_a_version(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 6.0, 10)})
    assert snap(db, src, T[1]).opened == 0  # default: only inventory is compared
    assert snap(db, src, T[2], check_columns=("price",)).opened == 1
    write_products(src, {"a": ("Aloe vera", 6.0, 10)})
    assert snap(db, src, T[3], check_columns=("price", "inventory")).opened == 0
    assert snap(db, src, T[4], check_columns=("*",)).opened == 1  # all columns: the name
    with open_warehouse(db) as wh:
        assert wh.rows(
            "select name, price, valid_from from snapshots.products_snapshot order by valid_from"
        ) == [("Aloe", 5.0, T[0]), ("Aloe", 6.0, T[2]), ("Aloe vera", 6.0, T[4])]
    assert list_runs(db)["check_columns"].to_list() == [
        "all",
        "price,inventory",
        "price",
        "inventory",
        "inventory",
    ]


def test_null_values_compare_as_values(db: Path, src: Path) -> None:
    write_products(src, [("a", "Aloe", 5.0, "")])
    snap(db, src, T[0])
    assert snap(db, src, T[1]).opened == 0  # NULL to NULL is no change
    write_products(src, [("a", "Aloe", 5.0, "3")])
    assert snap(db, src, T[2]).opened == 1
    assert [v[0] for v in versions(db)["a"]] == [None, 3]


def test_check_column_errors(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    with pytest.raises(DataError, match=r"check column\(s\) colour is not in the source"):
        snap(db, src, T[0], check_columns=("colour",))
    with pytest.raises(UsageError, match="product_id is the key"):
        snap(db, src, T[0], check_columns=("product_id",))
    with pytest.raises(UsageError, match="--missing 'forget'"):
        snap(db, src, T[0], missing="forget")


# --- schema drift --------------------------------------------------------------------------


def test_a_new_source_column_joins_without_reversioning(db: Path, src: Path) -> None:
    header = [*HEADER, "colour"]
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0], check_columns=("*",))
    write_products(src, [("a", "Aloe", 5.0, 10, "green"), ("b", "Basil", 3.0, 4, "red")], header)
    added = snap(db, src, T[1], check_columns=("*",))
    assert added.added_columns == ("colour",)
    assert (added.opened, added.closed) == (0, 0)  # no product re-versioned for the new column
    assert snap(db, src, T[2], check_columns=("*",)).opened == 0  # nor at the next run
    # a's inventory moves: its new version records the colour, which is compared from then on
    write_products(src, [("a", "Aloe", 5.0, 9, "green"), ("b", "Basil", 3.0, 4, "red")], header)
    assert snap(db, src, T[3], check_columns=("*",)).opened == 1
    write_products(src, [("a", "Aloe", 5.0, 9, "blue"), ("b", "Basil", 3.0, 4, "pink")], header)
    assert snap(db, src, T[4], check_columns=("*",)).opened == 1  # a only: b's colour unknown
    with open_warehouse(db) as wh:
        rows = wh.rows(
            "select product_id, inventory, colour, valid_from from snapshots.products_snapshot "
            "order by product_id, valid_from"
        )
    assert rows == [
        ("a", 10, None, T[0]),
        ("a", 9, "green", T[3]),
        ("a", 9, "blue", T[4]),
        ("b", 4, None, T[0]),
    ]
    # an explicitly checked column that vanishes is an error, not a silent stop
    write_products(src, {"a": ("Aloe", 5.0, 9), "b": ("Basil", 3.0, 4)})
    with pytest.raises(DataError, match=r"colour has vanished from the source"):
        snap(db, src, T[5], check_columns=("colour",))
    # unchecked, it just stops being filled: new versions have NULL there
    write_products(src, {"a": ("Aloe", 5.0, 1), "b": ("Basil", 3.0, 4)})
    assert snap(db, src, T[5]).opened == 1
    assert versions(db)["a"][-1][:3] == (1, T[5], None)


def test_a_source_column_may_not_shadow_the_snapshots_own(db: Path, src: Path) -> None:
    write_products(src, [("a", "Aloe", 5.0, 10, "x")], [*HEADER, "valid_from"])
    with pytest.raises(DataError, match="valid_from clash"):
        snap(db, src, T[0])


# --- bad input is refused before anything is written ---------------------------------------


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (
            [("a", "Aloe", 5.0, 1), ("a", "Aloe", 5.0, 2), ("b", "B", 1.0, 1)],
            HEADER,
            r"duplicate primary key \(product_id\).*'a'",
        ),
        (  # a product the history does not hold yet, twice, among many
            [
                ("a", "Aloe", 5.0, 1),
                *((f"p{i:02}", "P", 1.0, i) for i in range(40)),
                ("p07", "", 0, 0),
            ],
            HEADER,
            r"duplicate primary key \(product_id\) in raw table products: \('p07'\) x2$",
        ),
        (  # several keys repeated: the first five by key, each with its count
            [(k, "K", 1.0, 1) for k in "zzyxxwwvvvuut"],
            HEADER,
            r"\('u'\) x2; \('v'\) x3; \('w'\) x2; \('x'\) x2; \('z'\) x2$",
        ),
        (
            [("a", "Aloe", 5.0, 1), ("", "Nameless", 1.0, 1)],
            HEADER,
            r"empty product_id .*data rows 2",
        ),
        (
            [("a", "Aloe", 5.0, 1), ("b", "Basil", 1.0, "lots")],
            HEADER,
            r"products.csv line 3 \(data row 2\), column inventory: 'lots' is not a valid",
        ),
        ([("a", "Aloe", 5.0)], HEADER[:3], r"missing column\(s\) inventory"),
    ],
    ids=[
        "duplicate-key",
        "duplicate-new-key",
        "duplicate-keys",
        "null-key",
        "unparseable",
        "missing-column",
    ],
)
def test_bad_input_is_refused_and_the_warehouse_is_unchanged(
    db: Path, src: Path, rows: list[tuple[Any, ...]], header: list[str], message: str
) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "z": ("Zinnia", 2.0, 3)})
    snap(db, src, T[0])
    before = contents(db)
    write_products(src, rows, header)
    with pytest.raises(DataError, match=message):
        snap(db, src, T[1])
    assert contents(db) == before
    assert meta_runs(db)[-1][:2] == ("snapshot", "error")  # the failure is logged, nothing else
    result = run_cli("--db", str(db), "snapshot", "--source", str(src), "--at", T[1].isoformat())
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert contents(db) == before


def test_a_broken_history_is_caught_after_writing_and_rolled_back(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    snap(db, src, T[0])
    with open_warehouse(db, write=True) as wh:  # someone edits the history by hand
        wh.execute(
            "insert into snapshots.products_snapshot select 99, 'a', 'Aloe', 5.0, 3, ?, null, "
            "false, 1, null",
            [T[0] - timedelta(days=1)],
        )
    before = contents(db)
    write_products(src, {"a": ("Aloe", 5.0, 11)})
    with pytest.raises(WorkFailed, match="snapshot_one_current_row_per_product"):
        snap(db, src, T[1])
    assert contents(db) == before


# a hand edit that breaks one invariant for product X, as (snapshot_row_id, inventory, valid_from,
# valid_to, closed_by_run) after a first run at T[0] opened a (10) and b (4) as rows 1 and 2
BROKEN = {
    # a second current version (with b's inventory: b stays unchanged, so untouched)
    "snapshot_one_current_row_per_product": (99, 4, T[0] - timedelta(days=1), None, None),
    # a closed version that ends before it began
    "snapshot_valid_to_after_valid_from": (
        98,
        4,
        T[0] - timedelta(days=2),
        T[0] - timedelta(days=3),
        1,
    ),
    # a closed version that runs into the current one
    "snapshot_versions_do_not_overlap": (
        97,
        4,
        T[0] - timedelta(days=2),
        T[0] + timedelta(days=1),
        1,
    ),
}


@pytest.mark.parametrize("invariant", sorted(BROKEN))
@pytest.mark.parametrize("product", ["a", "b"])
def test_each_invariant_is_checked_over_the_products_the_run_touches(
    db: Path, src: Path, invariant: str, product: str
) -> None:
    """The run changes a, not b: a breach in a's history is caught and nothing is written; one in
    b's (untouched, so not one this run could have made) does not stop the run."""
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    snap(db, src, T[0])
    row_id, inventory, start, end, closed_by = BROKEN[invariant]
    with open_warehouse(db, write=True) as wh:
        wh.execute(
            "insert into snapshots.products_snapshot values (?, ?, 'X', 1.0, ?, ?, ?, false, 1, ?)",
            [row_id, product, inventory, start, end, closed_by],
        )
    before = contents(db)
    write_products(src, {"a": ("Aloe", 5.0, 11), "b": ("Basil", 3.0, 4)})
    if product == "b":
        assert (snap(db, src, T[1]).opened, versions(db)["a"][-1][0]) == (1, 11)
        return
    with pytest.raises(WorkFailed, match=rf"snapshot invariant {invariant} would break \(\('a'"):
        snap(db, src, T[1])
    assert contents(db) == before


# --- time ----------------------------------------------------------------------------------


def test_at_must_come_after_the_latest_run(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    first = snap(db, src, T[1])
    before = contents(db)
    for moment in (T[1], T[0]):
        with pytest.raises(
            UsageError, match=rf"is not after the latest snapshot run {first.run_id}"
        ):
            snap(db, src, moment)
    result = run_cli("--db", str(db), "snapshot", "--source", str(src), "--at", "2024-03-04T06:00")
    assert result.exit_code == 2
    assert "--at 2024-03-04T06:00:00Z is not after the latest snapshot run" in result.stderr
    assert "replay old exports oldest first" in result.stderr
    assert contents(db) == before
    bad = run_cli("--db", str(db), "snapshot", "--at", "next tuesday")
    assert bad.exit_code == 2 and "is not a moment" in bad.stderr


def test_times_are_utc_whatever_the_offset(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    naive = snap(db, src, datetime(2024, 3, 4, 6))  # naive = UTC
    assert naive.taken_at == datetime(2024, 3, 4, 6, tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    later = snap(db, src, datetime(2024, 3, 4, 8, tzinfo=paris))
    assert later.taken_at == datetime(2024, 3, 4, 7, tzinfo=UTC)
    result = run_cli("--db", str(db), "snapshot", "--at", "2024-03-04T10:00:00+02:00")
    assert result.exit_code == 0, result.stderr
    assert "at 2024-03-04T08:00:00Z" in result.stderr
    now = snap(db, src, None)  # no --at: now, in UTC
    assert now.taken_at.utcoffset() == timedelta(0)
    assert abs(now.taken_at - datetime.now(UTC)) < timedelta(minutes=5)


# --- dry run -------------------------------------------------------------------------------


def test_a_dry_run_writes_nothing_and_shows_what_the_run_writes(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4), "c": ("Cactus", 1.0, 2)})
    snap(db, src, T[0])
    write_products(
        src,
        [("a", "Aloe", 5.0, 10, "green"), ("b", "Basil", 3.0, 0, "red"), ("d", "Dill", 2.0, 6, "")],
        [*HEADER, "colour"],
    )
    before = contents(db, skip=())
    dry = snap(db, src, T[1], dry_run=True)
    assert contents(db, skip=()) == before  # not even meta.runs, nor the new column
    assert (dry.dry_run, dry.run_id, dry.opened, dry.closed, dry.deleted) == (True, None, 2, 2, 1)
    assert dry.added_columns == ("colour",)
    assert dry.changes is not None
    planned = dry.changes.select(
        "action", "change", "snapshot_row_id", "product_id", "inventory", "is_deleted"
    ).rows()
    assert planned == [
        ("close", "changed", 2, "b", 4, False),
        ("open", "changed", 4, "b", 0, False),
        ("close", "gone", 3, "c", 2, False),
        ("open", "gone", 6, "c", 2, True),
        ("open", "new", 5, "d", 6, False),
    ]
    real = snap(db, src, T[1])
    assert (real.opened, real.closed, real.deleted) == (dry.opened, dry.closed, dry.deleted)
    with open_warehouse(db) as wh:
        closed = wh.rows(
            "select snapshot_row_id from snapshots.products_snapshot "
            "where closed_by_run = ? order by 1",
            [real.run_id],
        )
        opened = wh.rows(
            "select snapshot_row_id, product_id, inventory, is_deleted "
            "from snapshots.products_snapshot where opened_by_run = ? order by 1",
            [real.run_id],
        )
    assert closed == [(2,), (3,)]
    assert opened == [(4, "b", 0, False), (5, "d", 6, False), (6, "c", 2, True)]


def test_a_dry_run_of_a_new_warehouse_creates_no_file(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    dry = snap(db, src, T[0], dry_run=True)
    assert (dry.opened, dry.closed) == (1, 0)
    assert not db.exists() and not db.with_name(db.name + ".lock").exists()


def test_cli_dry_run_prints_rows_in_every_format(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 5.0, 3)})
    base = ("--db", str(db), "snapshot", "--dry-run", "--at", T[1].isoformat())
    as_json = run_cli(*base, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert [(r["action"], r["inventory"]) for r in json.loads(as_json.stdout)] == [
        ("close", 10),
        ("open", 3),
    ]
    assert as_json.stderr.startswith("dry run at 2024-03-11T06:00:00Z: would open 1, close 1")
    as_csv = run_cli(*base, "--format", "csv")
    assert as_csv.stdout.splitlines()[0] == (
        "action,change,snapshot_row_id,product_id,name,price,inventory,is_deleted"
    )
    assert len(as_csv.stdout.splitlines()) == 3
    markdown = run_cli(*base, "--format", "markdown")
    assert "| close | changed | 1 | a | Aloe |" in markdown.stdout
    table = run_cli(*base)
    assert "Aloe" in table.stdout and "close" in table.stdout
    assert history(db) == [("a", 10, T[0], None, False, 1, None)]


# --- revert --------------------------------------------------------------------------------


def test_revert_last_restores_the_previous_history_exactly(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4), "c": ("Cactus", 1.0, 2)})
    snap(db, src, T[0])
    before = contents(db)
    write_products(
        src, [("a", "Aloe", 5.0, 9, "green"), ("d", "Dill", 2.0, 6, "")], [*HEADER, "colour"]
    )
    run = snap(db, src, T[1], allow_shrink=True)  # b and c go: two thirds of the products
    assert run.added_columns == ("colour",)
    preview = revert_last(str(db), dry_run=True)
    assert contents(db) != before and preview.dry_run and preview.run_id == run.run_id
    assert preview.changes is not None
    assert sorted(preview.changes.select("action", "product_id").rows()) == [
        ("delete", "a"),
        ("delete", "b"),
        ("delete", "c"),
        ("delete", "d"),
        ("reopen", "a"),
        ("reopen", "b"),
        ("reopen", "c"),
    ]
    undone = revert_last(str(db))
    assert (undone.run_id, undone.taken_at, undone.opened, undone.closed, undone.deleted) == (
        run.run_id,
        T[1],
        2,
        3,
        2,
    )
    assert contents(db) == before  # versions, runs and columns (colour is dropped again)
    # the same moment can now be taken again
    assert snap(db, src, T[1], allow_shrink=True).opened == 2


def test_revert_last_refusals(db: Path, src: Path) -> None:
    with pytest.raises(UsageError, match="no snapshot run to revert"):
        revert_last(str(db))
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    first = snap(db, src, T[0])
    write_products(src, {"a": ("Aloe", 5.0, 3)})
    latest = snap(db, src, T[1])
    with open_warehouse(db, write=True) as wh:  # a hand-made current row for a
        wh.execute(
            "insert into snapshots.products_snapshot "
            "select 50, 'a', 'Aloe', 5.0, 7, ?, null, false, ?, null",
            [T[0] - timedelta(days=2), first.run_id],
        )
        wh.execute("delete from snapshots.products_snapshot where snapshot_row_id = 2")
    before = contents(db)
    with pytest.raises(WorkFailed, match="snapshot_one_current_row_per_product"):
        revert_last(str(db))  # re-opening row 1 would make two current rows for a
    assert contents(db) == before
    with open_warehouse(db, write=True) as wh:  # a version the latest run opened, closed later
        wh.execute(
            "update snapshots.products_snapshot set closed_by_run = 77, valid_to = ? "
            "where snapshot_row_id = 50",
            [T[2]],
        )
        wh.execute(
            "update snapshots.products_snapshot set opened_by_run = ? where snapshot_row_id = 50",
            [latest.run_id],
        )
    with pytest.raises(UsageError, match=r"closed by another run: a \(row 50, closed by run 77\)"):
        revert_last(str(db))
    result = run_cli("--db", str(db), "snapshot", "revert")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


# --- the command ---------------------------------------------------------------------------


def test_cli_summary_on_stderr_nothing_on_stdout_and_the_remembered_source(
    db: Path, src: Path, tmp_path: Path
) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    none = run_cli("--db", str(db), "snapshot")
    assert none.exit_code == 2 and "no source given and none remembered" in none.stderr
    assert not db.exists()  # a failed first command leaves no warehouse behind
    first = run_cli("--db", str(db), "snapshot", "--source", str(src), "--at", "2024-03-04T06:00Z")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert first.stderr.splitlines() == [
        f"snapshot run 1 at 2024-03-04T06:00:00Z: 2 opened, 0 closed, 0 deleted "
        f"(2 products from {src.resolve()})"
    ]
    assert "\x1b[" not in first.stderr  # no colour, no progress bar off a terminal
    write_products(src, {"a": ("Aloe", 5.0, 1)})
    remembered = run_cli("--db", str(db), "snapshot", "--at", "2024-03-11T06:00Z")
    assert remembered.exit_code == 0, remembered.stderr
    assert "1 opened, 2 closed, 1 deleted" in remembered.stderr
    # a source given once more does not replace the remembered one (that is load's to set)
    other = write_products(tmp_path / "other", {"a": ("Aloe", 5.0, 1)})
    run_cli("--db", str(db), "snapshot", "--source", str(other), "--at", "2024-03-12T06:00Z")
    with open_warehouse(db) as wh:
        assert wh.rows("select kind, location from meta.source") == [("files", str(src.resolve()))]
    as_json = run_cli("--db", str(db), "snapshot", "--format", "json")
    assert json.loads(as_json.stdout)["opened"] == 0
    listed = run_cli("--db", str(db), "snapshot", "list", "--format", "json")
    runs = json.loads(listed.stdout)
    assert [r["taken_at"] for r in runs[1:]] == [
        "2024-03-12T06:00:00Z",
        "2024-03-11T06:00:00Z",
        "2024-03-04T06:00:00Z",
    ]
    assert list(runs[0]) == [
        "snapshot_run_id",
        "taken_at",
        "rows_opened",
        "rows_closed",
        "rows_deleted",
        "source",
        "check_columns",
        "missing_policy",
    ]
    assert listed.stderr == ""
    csv_list = run_cli("--db", str(db), "snapshot", "list", "--format", "csv")
    assert len(csv_list.stdout.splitlines()) == 5
    clash = run_cli("--db", str(db), "snapshot", "list", "--dry-run")
    assert clash.exit_code == 2 and "No such option '--dry-run'" in clash.stderr
    old = run_cli("--db", str(db), "snapshot", "--list", "--dry-run")  # the deprecated spelling
    assert old.exit_code == 2 and "--list takes no other" in old.stderr


def test_cli_check_columns_and_missing_options(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10), "b": ("Basil", 3.0, 4)})
    run_cli("--db", str(db), "snapshot", "--source", str(src), "--at", "2024-03-04T06:00Z")
    write_products(src, {"a": ("Aloe", 6.0, 10)})
    result = run_cli(
        "--db",
        str(db),
        "snapshot",
        "--at",
        "2024-03-11T06:00Z",
        "--check-columns",
        "name,price",
        "--missing",
        "invalidate",
    )
    assert result.exit_code == 0, result.stderr
    assert "1 opened, 2 closed, 1 deleted" in result.stderr
    assert versions(db)["b"] == [(4, T[0], T[1], False)]
    unknown = run_cli("--db", str(db), "snapshot", "--check-columns", "colour")
    assert unknown.exit_code == 1 and "colour is not in the source" in unknown.stderr
    allcols = run_cli("--db", str(db), "snapshot", "--check-columns", "all", "--dry-run")
    assert allcols.exit_code == 0 and "would open 0" in allcols.stderr
    undone = run_cli("--db", str(db), "snapshot", "revert")
    assert undone.exit_code == 0 and undone.stdout == ""
    assert undone.stderr.splitlines() == [
        "reverted snapshot run 2 at 2024-03-11T06:00:00Z: the versions it opened removed "
        "(1 opened, 1 deleted), the 2 it closed re-opened"
    ]
    assert versions(db)["b"] == [(4, T[0], None, False)]


def test_a_busy_warehouse_exits_3_with_one_line(db: Path, src: Path) -> None:
    write_products(src, {"a": ("Aloe", 5.0, 10)})
    snap(db, src, T[0])
    with open_warehouse(db, write=True):  # another writer holds the lock
        with pytest.raises(WarehouseBusy):
            snap(db, src, T[1], wait=0.1)
        result = run_cli("--db", str(db), "snapshot", "--wait", "0.1")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "is busy" in result.stderr
    assert "--wait" in result.stderr


def test_help_documents_the_table(db: Path) -> None:
    result = run_cli("snapshot", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for words in (
        "snapshots.products_snapshot",
        "valid_to",
        "docs/snapshots.md",
        "--revert-last",
        "new_record",
        "exits 3",
    ):
        assert words in text


# --- properties: random product tables taken at increasing times ---------------------------

POOL = ("a", "b", "c", "d", "e")
product_values = st.tuples(
    st.sampled_from(("Aloe", "Basil")),
    st.sampled_from((1.0, 2.5)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
)
product_tables = st.dictionaries(st.sampled_from(POOL), product_values, max_size=len(POOL))
run_options = st.tuples(
    st.sampled_from(MISSING_POLICIES), st.sampled_from((None, ("*",), ("price", "inventory")))
)


INVARIANTS = sorted((ENGINE_QUERIES / "snapshot" / "invariants").glob("*.sql"))


def inspect(
    db: Path, run_id: int | None, moments: list[datetime]
) -> tuple[list[Any], set[int], set[tuple[Any, ...]], list[dict[str, tuple[Any, ...]]]]:
    """From one connection: the invariants' breaches over the whole history (as `greenery
    test` runs them), the rows the run closed and opened, and the state as of each moment."""
    with open_warehouse(db) as wh:
        breaches = [
            wh.rows(
                render(
                    f"snapshot/invariants/{path.name}", snapshot=lambda name: f"snapshots.{name}"
                )
            )
            for path in INVARIANTS
        ]
        closed = wh.rows(
            "select snapshot_row_id from snapshots.products_snapshot where closed_by_run = ?",
            [run_id],
        )
        opened = wh.rows(
            "select snapshot_row_id, product_id, name, price, inventory, is_deleted "
            "from snapshots.products_snapshot where opened_by_run = ?",
            [run_id],
        )
        states = [
            {
                pid: tuple(values)
                for pid, *values in wh.rows(
                    "select product_id, name, price, inventory from snapshots.products_snapshot "
                    "where valid_from <= ? and (valid_to is null or valid_to > ?) "
                    "and not is_deleted",
                    [moment, moment],
                )
            }
            for moment in moments
        ]
    return breaches, {r[0] for r in closed}, set(opened), states


def compared(values: tuple[Any, ...], check: tuple[str, ...] | None) -> tuple[Any, ...]:
    columns = HEADER[1:] if check == ("*",) else (check or ("inventory",))
    return tuple(values[HEADER.index(c) - 1] for c in columns)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(product_tables, run_options, st.integers(min_value=1, max_value=200)),
        min_size=1,
        max_size=4,
    )
)
def test_property_history_replays_every_table(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Any]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    db, src = folder / "wh.duckdb", folder / "exports"
    moment = T[0]
    recorded: dict[str, tuple[Any, ...]] = {}  # the state as of the previous run
    taken: list[tuple[datetime, dict[str, tuple[Any, ...]]]] = []
    before: dict[str, list[tuple[Any, ...]]] | None = None
    for step, (table, (missing, check), hours) in enumerate(steps):
        moment += timedelta(hours=hours)
        write_products(
            src, [(pid, n, p, "" if i is None else i) for pid, (n, p, i) in table.items()]
        )
        # the shrink guard has tests of its own; here any table may follow any other
        options = {"missing": missing, "check_columns": check, "allow_shrink": True}
        last = step == len(steps) - 1
        before = contents(db) if last and db.exists() else None
        # random tables return to old states often; the rewind guard has its own tests
        options["allow_rewind"] = True
        dry = snap(db, src, moment, dry_run=True, **options)
        real = snap(db, src, moment, **options)
        # the dry run predicted exactly what the run wrote
        assert (dry.opened, dry.closed, dry.deleted) == (real.opened, real.closed, real.deleted)
        assert dry.changes is not None
        plan = dry.changes
        breaches, closed, opened, states = inspect(
            db, real.run_id, [*(t for t, _ in taken), moment]
        )
        assert breaches == [[]] * len(INVARIANTS)
        assert closed == set(plan.filter(plan["action"] == "close")["snapshot_row_id"])
        assert opened == set(
            plan.filter(plan["action"] == "open")
            .select("snapshot_row_id", "product_id", "name", "price", "inventory", "is_deleted")
            .rows()
        )
        # as of this run: the table on the checked columns; ignored absentees as they were
        now = states[-1]
        kept = {p: v for p, v in recorded.items() if p not in table} if missing == "ignore" else {}
        assert set(now) == set(table) | set(kept)
        assert {p: compared(now[p], check) for p in table} == {
            p: compared(v, check) for p, v in table.items()
        }
        assert {p: now[p] for p in kept} == kept
        # and a later run never rewrites the state as of an earlier one
        assert states[:-1] == [state for _, state in taken]
        taken.append((moment, now))
        recorded = now
    # revert-last restores the history before the last run exactly
    if before is not None:
        revert_last(str(db))
        assert contents(db) == before


# --- the real four weeks -------------------------------------------------------------------


def weekly_files(real_data: Path) -> list[tuple[datetime, Path]]:
    folder = real_data / "inventory-weeks"
    with (folder / "schedule.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["week"]))
    return [
        (datetime.fromisoformat(r["snapshot_at"].replace("Z", "+00:00")), folder / r["file"])
        for r in rows
    ]


def implied_history(weeks: list[tuple[datetime, Path]]) -> set[tuple[Any, ...]]:
    """The versions the weekly files imply (inventory checked, tombstones for the missing):
    (product_id, name, price, inventory, valid_from, valid_to, is_deleted)."""
    versions: list[list[Any]] = []
    current: dict[str, list[Any]] = {}
    for at, path in weeks:
        with path.open(newline="") as handle:
            table = {
                r["product_id"]: (r["name"], float(r["price"]), int(r["inventory"]))
                for r in csv.DictReader(handle)
            }
        for pid, version in list(current.items()):
            gone = pid not in table
            if version[6] and gone or not version[6] and not gone and version[3] == table[pid][2]:
                continue  # still gone, or the same inventory
            version[5] = at
            del current[pid]
            if gone:
                current[pid] = [pid, *version[1:4], at, None, True]
                versions.append(current[pid])
        for pid, values in table.items():
            if pid not in current:
                current[pid] = [pid, *values, at, None, False]
                versions.append(current[pid])
    return {tuple(v) for v in versions}


def test_replaying_the_real_weeks_gives_the_history_they_imply(
    real_data: Path, raw_copy: Path, db: Path
) -> None:
    weeks = weekly_files(real_data)
    for at, path in weeks:
        (raw_copy / "products.csv").write_bytes(path.read_bytes())
        result = run_cli(
            "--db", str(db), "snapshot", "--source", str(raw_copy), "--at", at.isoformat()
        )
        assert result.exit_code == 0, result.stderr
    with open_warehouse(db) as wh:
        got = set(
            wh.rows(
                "select product_id, name, price, inventory, valid_from, valid_to, is_deleted "
                "from snapshots.products_snapshot"
            )
        )
        taken = wh.rows("select taken_at from snapshots.snapshot_runs order by taken_at")
    expected = implied_history(weeks)
    assert len(expected) > 30  # the weeks do change some inventory
    assert got == expected
    assert [t for (t,) in taken] == [at for at, _ in weeks]
    # replaying again is refused: history is append-only in time
    again = run_cli("--db", str(db), "snapshot", "--at", weeks[0][0].isoformat())
    assert again.exit_code == 2 and "is not after the latest snapshot run" in again.stderr


# --- several processes, and a process killed mid-write -------------------------------------


def greenery_process(db: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENERY_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.Popen(
        [sys.executable, "-m", "greenery_cli", "--db", str(db), "snapshot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_overlapping_runs_leave_one_new_version_per_changed_product(db: Path, src: Path) -> None:
    products = {f"p{i:02}": (f"Plant {i}", 1.0, i) for i in range(30)}
    write_products(src, products)
    snap(db, src, datetime(2024, 1, 1, tzinfo=UTC))
    changed = {pid for i, pid in enumerate(products) if i % 3 == 0}
    write_products(
        src, {p: (n, pr, i + 100 if p in changed else i) for p, (n, pr, i) in products.items()}
    )
    runs = [greenery_process(db, "--wait", "120") for _ in range(4)]
    outcomes = [(run.wait(timeout=180), *run.communicate()) for run in runs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    for _, out, err in outcomes:
        assert out == "" and len(err.splitlines()) == 1
    with open_warehouse(db) as wh:
        opened = wh.rows(
            "select product_id, count(*) from snapshots.products_snapshot "
            "where valid_from > '2024-01-01' group by all"
        )
        runs_logged = wh.rows("select rows_opened from snapshots.snapshot_runs order by taken_at")
    assert dict(opened) == dict.fromkeys(changed, 1)
    assert sorted(r for (r,) in runs_logged[1:]) == [0, 0, 0, len(changed)]
    assert all(not rows for rows in inspect(db, None, [])[0])


def big_products(folder: Path, n: int, bump: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'p' || lpad(i::varchar, 7, '0') as product_id, 'Plant ' || i as name, "
            f"1.5 as price, (i % 40 + case when i % 10 = 0 then {bump} else 0 end)::int "
            f"as inventory from range({n}) t(i)) to '{folder / 'products.csv'}' (header)"
        )


def fingerprint(db: Path) -> dict[str, tuple[Any, ...]]:
    """Each table's row count and an order-free hash of its rows (meta.runs without its clock)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() order by all"
        ).fetchall()
        columns = {"meta.runs": "run_id, command, args, status, rows_affected, message"}
        return {
            name: con.execute(
                f"select count(*), sum(hash(r)::hugeint) from "
                f"(select {columns.get(name, '*')} from {name}) as r"
            ).fetchone()
            for (name,) in tables
        }


def locked_by(db: Path, pid: int) -> bool:
    lock = db.with_name(db.name + ".lock")
    return lock.exists() and lock.read_text().strip() == str(pid)


def run_until_locked(db: Path, *args: str) -> tuple[subprocess.Popen[str], float]:
    """Start a snapshot; return once it holds the writer lock (its work begins), with the time."""
    run = greenery_process(db, *args)
    while not locked_by(db, run.pid) and run.poll() is None:
        time.sleep(0.005)
    return run, time.monotonic()


def test_a_run_killed_mid_write_leaves_the_warehouse_before_or_after(
    tmp_path: Path, db: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    big_products(first, 100_000, 0)
    big_products(second, 100_000, 7)  # 10% of the products change
    at = "2024-01-08T06:00:00Z"
    snap(db, first, datetime(2024, 1, 1, 6, tzinfo=UTC))
    before = fingerprint(db)
    done = tmp_path / "done.duckdb"
    shutil.copyfile(db, done)
    finished, started = run_until_locked(done, "--source", str(second), "--at", at)
    assert finished.wait(timeout=300) == 0, finished.communicate()
    work = time.monotonic() - started  # from taking the lock to the end
    after = fingerprint(done)
    assert after != before
    outcomes = []
    for fraction in (0.15, 0.3, 0.5, 0.9):
        victim = tmp_path / f"killed-{fraction}.duckdb"
        shutil.copyfile(db, victim)
        run, started = run_until_locked(victim, "--source", str(second), "--at", at)
        time.sleep(max(0.0, started + work * fraction - time.monotonic()))
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        state = fingerprint(victim)
        assert state in (before, after), f"killed at {fraction:.0%} of a run: a partial write"
        outcomes.append(state == after)
        assert all(not rows for rows in inspect(victim, None, [])[0])
    # the test is only worth its time if some kill landed inside the work, before the commit
    assert not all(outcomes), "every kill came after the commit; the run outpaced the timer"


def test_without_source_a_snapshot_reads_what_load_remembered(
    loaded_real_warehouse: Path, real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "loaded.duckdb"
    shutil.copyfile(loaded_real_warehouse, db)
    result = run_cli("--db", str(db), "snapshot", "--at", "2024-10-10T06:00:00Z")
    assert result.exit_code == 0, result.stderr
    assert f"30 opened, 0 closed, 0 deleted (30 products from {(real_data / 'raw').resolve()})" in (
        result.stderr
    )
    with open_warehouse(db) as wh:
        assert wh.scalar("select count(*) from snapshots.products_snapshot") == 30
        assert wh.rows("select location from meta.source") == [
            (str((real_data / "raw").resolve()),)
        ]
    tests = run_cli(
        "--db", str(db), "test", "--select", "snapshot_versions_do_not_overlap", "--format", "csv"
    )
    assert tests.exit_code == 0, tests.stderr + tests.stdout
    assert ",error,pass,0," in tests.stdout  # run, not skipped
