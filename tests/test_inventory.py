"""`greenery inventory-changes`, `fluctuations`, `stockouts`: the week-4 inventory questions.

Hand-built histories are written straight into the two snapshot tables (the contract in the
brief); the real four-week replay comes from ../shared/greenery-data/inventory-weeks, and its
expected answers are derived here from the weekly CSV files themselves.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import imports_of_a_second_run, run_cli

from greenery_cli.errors import UsageError
from greenery_cli.inventory import (
    FluctuationsSettings,
    InventoryChangesSettings,
    StockoutsSettings,
    fluctuations,
    inventory_changes,
    stockouts,
)
from greenery_cli.parsing import parse_moment
from greenery_cli.views.inventory import fluctuations_answer, inventory_changes_title, sparkline
from greenery_cli.warehouse import open_warehouse

SNAPSHOT_DDL = """
create table if not exists snapshots.products_snapshot (
    snapshot_row_id bigint unique, product_id varchar, name varchar, price double,
    inventory integer, valid_from timestamptz not null, valid_to timestamptz,
    is_deleted boolean not null, opened_by_run bigint not null, closed_by_run bigint
);
create table if not exists snapshots.snapshot_runs (
    snapshot_run_id bigint, taken_at timestamptz, rows_opened bigint, rows_closed bigint,
    rows_deleted bigint, source varchar, check_columns varchar, missing_policy varchar
);
"""

Product = tuple[str, float, int]  # name, price, inventory


@dataclass
class History:
    """A hand-rolled type-2 history (all columns checked, missing products get a tombstone)."""

    db: Path
    runs: list[tuple[int, datetime]] = field(default_factory=list)
    _current: dict[str, tuple[int, Product, bool]] = field(default_factory=dict)
    _next_row: int = 1

    def take(
        self,
        at: datetime,
        products: dict[str, Product],
        run_id: int | None = None,
        missing: str = "new_record",
    ) -> int:
        run_id = run_id if run_id is not None else len(self.runs) + 1
        opened = closed = deleted = 0
        with open_warehouse(self.db, write=True) as wh:
            for statement in SNAPSHOT_DDL.split(";"):
                if statement.strip():
                    wh.execute(statement)

            def close(product_id: str) -> None:
                row_id = self._current.pop(product_id)[0]
                wh.execute(
                    "update snapshots.products_snapshot set valid_to = ?, closed_by_run = ? "
                    "where snapshot_row_id = ?",
                    [at, run_id, row_id],
                )

            def open_(product_id: str, values: Product, is_deleted: bool) -> None:
                wh.execute(
                    "insert into snapshots.products_snapshot values "
                    "(?, ?, ?, ?, ?, ?, null, ?, ?, null)",
                    [self._next_row, product_id, *values, at, is_deleted, run_id],
                )
                self._current[product_id] = (self._next_row, values, is_deleted)
                self._next_row += 1

            for product_id, values in products.items():
                current = self._current.get(product_id)
                if current is not None and current[1] == values and not current[2]:
                    continue
                if current is not None:
                    close(product_id)
                    closed += 1
                open_(product_id, values, False)
                opened += 1
            for product_id in [p for p, c in self._current.items() if p not in products]:
                if not self._current[product_id][2]:
                    values = self._current[product_id][1]
                    close(product_id)
                    closed += 1
                    if missing == "new_record":  # else invalidate: closed, no successor
                        open_(product_id, values, True)
                        deleted += 1
            wh.execute(
                "insert into snapshots.snapshot_runs values (?, ?, ?, ?, ?, 'test', 'all', "
                "'new_record')",
                [run_id, at, opened, closed, deleted],
            )
        self.runs.append((run_id, at))
        return run_id


# --- a hand-built history whose answers can be read off the table below ----------------------

T = [datetime(2024, 1, d, 6, tzinfo=UTC) for d in (1, 8, 15, 22)]
NAMES = {
    "a": "Aloe",
    "b": "Basil",
    "c": "Cactus",
    "d": "Daisy",
    "e": "Eucalyptus",
    "f": "Fern",
    "g": "Gardenia",
    "h": "Hosta",
    "i": "Ivy",
    "j": "Jade",
}
# inventory per run; None = absent (a product missing from the source gets a tombstone)
INVENTORY: dict[str, list[int | None]] = {
    "a": [10, 5, 0, 0],  # out at run 3, still out
    "b": [20, 20, 0, 15],  # out at run 3, restocked at run 4
    "c": [8, 8, 8, 8],  # only its price changes (run 2): no inventory change
    "d": [None, None, 7, 9],  # appears at run 3
    "e": [6, 3, None, None],  # deleted at run 3
    "f": [30, 25, 20, 15],  # 3 changes, 15 units: tied with g
    "g": [12, 7, 12, 7],  # 3 changes, 15 units: tied with f
    "h": [0, 5, 5, 5],  # out at run 1, restocked at run 2
    "i": [4, 0, None, None],  # out at run 2, deleted while out at run 3
    "j": [None, None, None, 3],  # appears at run 4
}
RUN_IDS = [11, 12, 13, 14]  # not 1..4, so run ids and positions cannot be confused


def hand_built(db: Path) -> History:
    history = History(db)
    for step, (at, run_id) in enumerate(zip(T, RUN_IDS, strict=True)):
        products = {
            pid: (NAMES[pid], 9.5 if (pid == "c" and step >= 1) else 5.0, levels[step])
            for pid, levels in INVENTORY.items()
            if levels[step] is not None
        }
        history.take(at, products, run_id)  # type: ignore[arg-type]
    return history


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once; every question opens it read-only."""
    db = tmp_path_factory.mktemp("hand") / "hand.duckdb"
    hand_built(db)
    return db


def answer(db: Path, question: Any, settings: Any) -> Any:
    with open_warehouse(db) as wh:
        return question(wh, settings)


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["product_id"]: r for r in rows}


def test_changes_default_is_previous_run_to_latest(shop: Path) -> None:
    result = answer(shop, inventory_changes, InventoryChangesSettings())
    assert (result.before.run_id, result.after.run_id) == (13, 14)
    assert (result.before.taken_at, result.after.taken_at) == (T[2], T[3])
    rows = result.rows.to_dicts()
    assert [(r["product_id"], r["status"], r["change"]) for r in rows] == [
        ("b", "changed", 15),
        ("f", "changed", -5),  # a tie in size with g: both shown, by name
        ("g", "changed", -5),
        ("d", "changed", 2),
        ("j", "new", None),
    ]
    assert by_id(rows)["j"]["inventory_before"] is None
    assert by_id(rows)["j"]["inventory_after"] == 3
    assert result.unchanged == 3  # a, c, h


def test_changes_show_new_and_removed_and_ignore_tombstones(shop: Path) -> None:
    result = answer(shop, inventory_changes, InventoryChangesSettings("12", "13"))
    rows = by_id(result.rows.to_dicts())
    assert {p: r["status"] for p, r in rows.items()} == {
        "a": "changed",
        "b": "changed",
        "f": "changed",
        "g": "changed",
        "d": "new",
        "e": "removed",
        "i": "removed",
    }
    assert rows["e"]["inventory_before"] == 3 and rows["e"]["inventory_after"] is None
    assert rows["b"]["change"] == -20 and rows["g"]["change"] == 5


def test_points_by_date_datetime_and_since(shop: Path) -> None:
    # a bare date is its 00:00 UTC (as in every option): run 13 was taken on Jan 15 06:00, so
    # the 15th's midnight still finds run 12 and the 16th's finds run 13
    on_the_day = answer(
        shop, inventory_changes, InventoryChangesSettings("2024-01-15", "2024-01-22")
    )
    assert (on_the_day.before.run_id, on_the_day.after.run_id) == (12, 13)
    by_date = answer(shop, inventory_changes, InventoryChangesSettings("2024-01-16", "2024-01-23"))
    assert (by_date.before.run_id, by_date.after.run_id) == (13, 14)
    # a datetime resolves to the latest run at or before it
    moment = answer(
        shop, inventory_changes, InventoryChangesSettings("2024-01-15T05:59:59Z", "2024-01-21")
    )
    assert (moment.before.run_id, moment.after.run_id) == (12, 13)
    since = answer(shop, inventory_changes, InventoryChangesSettings(since="7d"))
    assert (since.before.run_id, since.after.run_id) == (13, 14)
    assert since.rows.equals(by_date.rows)
    wide = answer(shop, inventory_changes, InventoryChangesSettings(since="52w"))
    assert wide.before.run_id == 11  # a window reaching before history starts at the first run


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (InventoryChangesSettings("2023-12-31"), "before the first snapshot run"),
        (InventoryChangesSettings("99"), "no snapshot run 99"),
        (InventoryChangesSettings("14", "13"), "is after --to"),
        (InventoryChangesSettings("14", "14"), "nothing to compare"),
        (InventoryChangesSettings("11", since="7d"), "both name the start"),
        (InventoryChangesSettings(since="soon"), "'soon' is not a point of history"),
        (InventoryChangesSettings("yesterday"), "'yesterday' is not a point of history"),
    ],
)
def test_bad_points_are_usage_errors(shop: Path, settings: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        answer(shop, inventory_changes, settings)


def test_fluctuations_rank_ties_as_ties(shop: Path) -> None:
    moved = {
        "f": (1, 3, 15),
        "g": (1, 3, 15),
        "b": (3, 2, 35),
        "a": (4, 2, 10),
        "h": (5, 1, 5),
        "i": (6, 1, 4),
        "e": (7, 1, 3),
        "d": (8, 1, 2),
    }
    default = answer(shop, fluctuations, FluctuationsSettings())
    shown = by_id(default.rows.to_dicts())
    # products that never moved are left out, and counted
    assert {p: (r["rank"], r["changes"], r["total_change"]) for p, r in shown.items()} == moved
    assert (default.unchanged_left_out, default.products, default.products_changed) == (2, 10, 8)
    assert "The 2 products whose inventory never changed are not listed" in (
        fluctuations_answer(default)
    )
    result = answer(shop, fluctuations, FluctuationsSettings(include_unchanged=True))
    rows = by_id(result.rows.to_dicts())
    assert (result.start.run_id, result.end.run_id, result.runs) == (11, 14, 4)
    assert {p: (r["rank"], r["changes"], r["total_change"]) for p, r in rows.items()} == {
        **moved,
        "c": (9, 0, 0),
        "j": (9, 0, 0),
    }
    assert result.unchanged_left_out == 0
    assert rows["g"]["path"] == [12, 7, 12, 7]
    assert rows["c"]["path"] == [8]  # a price-only version is no new inventory state
    assert rows["g"]["stddev"] == pytest.approx(statistics.pstdev([12, 7, 12, 7]))
    assert (rows["b"]["min_inventory"], rows["b"]["max_inventory"], rows["b"]["range"]) == (
        0,
        20,
        20,
    )
    assert (rows["b"]["first_inventory"], rows["b"]["last_inventory"]) == (20, 15)
    assert [r["product_id"] for r in result.rows.to_dicts()][:2] == ["f", "g"]


def test_fluctuations_top_keeps_ties_and_rank_by(shop: Path) -> None:
    top = answer(shop, fluctuations, FluctuationsSettings(top=1))
    assert sorted(top.rows["product_id"]) == ["f", "g"]
    # c and j never changed inventory: tied last, and left out of a top list however long
    everyone = answer(shop, fluctuations, FluctuationsSettings(include_unchanged=True))
    rows = everyone.rows.to_dicts()
    assert {"c", "j"} <= {r["product_id"] for r in rows if r["changes"] == 0}
    long_top = answer(shop, fluctuations, FluctuationsSettings(top=100))
    assert set(long_top.rows["product_id"]) == {r["product_id"] for r in rows if r["changes"] > 0}
    assert long_top.products == everyone.products
    by_range = answer(shop, fluctuations, FluctuationsSettings(rank_by="range", top=2))
    assert by_range.rows.select("product_id", "rank", "range").rows() == [
        ("b", 1, 20),
        ("f", 2, 15),
    ]
    window = answer(shop, fluctuations, FluctuationsSettings(since="7d", include_unchanged=True))
    rows = by_id(window.rows.to_dicts())
    assert (window.start.run_id, window.runs) == (13, 2)
    assert rows["b"]["path"] == [0, 15] and rows["j"]["path"] == [3]
    assert "e" not in rows and "i" not in rows  # deleted before the window


def test_stockouts_spells_restocks_and_removals(shop: Path) -> None:
    result = answer(shop, stockouts, StockoutsSettings(weeks=3))
    assert result.window_start == T[0] and result.end.run_id == 14
    rows = [
        (r["product_id"], r["out_since"], r["restocked_at"], r["status"])
        for r in result.rows.to_dicts()
    ]
    assert rows == [
        ("h", T[0], T[1], "restocked"),
        ("i", T[1], None, "removed"),
        ("a", T[2], None, "still out"),
        ("b", T[2], T[3], "restocked"),
    ]
    spells = by_id(result.rows.to_dicts())
    assert spells["b"]["restocked_inventory"] == 15 and spells["a"]["restocked_inventory"] is None
    assert spells["i"]["ended_at"] == T[2]
    assert (result.products_out, result.still_out) == (4, 1)


def test_stockouts_window_counts_back_from_the_latest_run(shop: Path) -> None:
    last_week = answer(shop, stockouts, StockoutsSettings(weeks=1))
    assert sorted(last_week.rows["product_id"]) == ["a", "b"]  # i ended exactly at the window start
    low = answer(shop, stockouts, StockoutsSettings(weeks=3, threshold=3))
    assert sorted(low.rows["product_id"]) == ["a", "b", "e", "h", "i", "j"]


def test_one_run_answers_stockouts_and_fluctuations_but_not_changes(tmp_path: Path) -> None:
    db = tmp_path / "one.duckdb"
    History(db).take(T[0], {"a": ("Aloe", 1.0, 0), "b": ("Basil", 1.0, 4)})
    assert answer(db, stockouts, StockoutsSettings()).rows["product_id"].to_list() == ["a"]
    alone = answer(db, fluctuations, FluctuationsSettings())
    assert alone.rows.height == 0 and alone.unchanged_left_out == 2
    everything = FluctuationsSettings(include_unchanged=True)
    assert answer(db, fluctuations, everything).rows["changes"].to_list() == [0, 0]
    with pytest.raises(UsageError, match="only one snapshot run"):
        answer(db, inventory_changes, InventoryChangesSettings())


def test_a_product_that_returns_and_one_invalidated_while_out(tmp_path: Path) -> None:
    db = tmp_path / "returns.duckdb"
    history = History(db)
    history.take(T[0], {"k": ("Kale", 1.0, 5), "m": ("Mint", 1.0, 2)})
    history.take(T[1], {"m": ("Mint", 1.0, 0)})  # Kale deleted (tombstone)
    history.take(T[2], {"k": ("Kale", 1.0, 0)}, missing="invalidate")  # Kale back; Mint gone
    history.take(T[3], {"k": ("Kale", 1.0, 5)})
    changes = answer(db, inventory_changes, InventoryChangesSettings("1", "3"))
    assert changes.rows.select("product_id", "status", "change").rows() == [
        ("k", "changed", -5),
        ("m", "removed", None),
    ]
    assert answer(db, inventory_changes, InventoryChangesSettings(to_point="2")).before.run_id == 1
    paths = answer(db, fluctuations, FluctuationsSettings()).rows
    assert dict(paths.select("product_id", "path").rows()) == {"k": [5, 0, 5], "m": [2, 0]}
    spells = answer(db, stockouts, StockoutsSettings()).rows
    assert spells.select(
        "product_id", "out_since", "restocked_at", "ended_at", "status"
    ).rows() == [
        ("m", T[1], None, T[2], "removed"),
        ("k", T[2], T[3], T[3], "restocked"),
    ]


def test_no_history_is_a_clear_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    with open_warehouse(db, write=True):
        pass
    for command in ("inventory-changes", "fluctuations", "stockouts"):
        result = run_cli("--db", str(db), command)
        assert result.exit_code == 2, result.stderr
        assert "no inventory history" in result.stderr and "greenery snapshot" in result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr


def test_sparkline() -> None:
    assert sparkline([40, 20, 0, 20]) == "█▅▁▅"
    assert sparkline(list(range(30)))[0] == "…"


# --- CLI: JSON keys, labelled tables -------------------------------------------------------


def test_cli_inventory_changes_json_and_table(shop: Path) -> None:
    result = run_cli("--db", str(shop), "inventory-changes", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert list(rows[0]) == [
        "product_id",
        "name",
        "status",
        "inventory_before",
        "inventory_after",
        "change",
    ]
    assert "run 13 at 2024-01-15T06:00:00Z" in result.stderr
    # a bare date is its 00:00 UTC, as everywhere: the 9th's midnight finds the 8th's run
    table = run_cli("--db", str(shop), "inventory-changes", "--from", "2024-01-09")
    assert table.exit_code == 0, table.stderr
    assert (
        "Inventory changes from run 12 at 2024-01-08T06:00:00Z (as of 2024-01-09T00:00:00Z) "
        "to run 14 at 2024-01-22T06:00:00Z" in " ".join(table.stdout.split())
    )
    assert "Basil" in table.stdout and "removed" in table.stdout and "new" in table.stdout
    assert table.stderr == ""
    markdown = run_cli("--db", str(shop), "inventory-changes", "--format", "markdown")
    lines = markdown.stdout.splitlines()
    assert lines[0].startswith("**Inventory changes from run 13 at 2024-01-15T06:00:00Z")
    assert (
        lines[2] == "| product_id | name | status | inventory_before | inventory_after | change |"
    )
    assert lines[-1].startswith("4 products changed inventory between run 13 and run 14; 1 new")


def test_cli_fluctuations_json_and_table(shop: Path) -> None:
    result = run_cli("--db", str(shop), "fluctuations", "--format", "json", "--top", "1")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["Fern", "Gardenia"]
    assert set(rows[0]) >= {
        "rank",
        "product_id",
        "name",
        "changes",
        "total_change",
        "min_inventory",
        "max_inventory",
        "range",
        "stddev",
        "first_inventory",
        "last_inventory",
        "path",
    }
    assert rows[0]["path"] == [30, 25, 20, 15]
    assert all(isinstance(rows[0][k], int) for k in ("changes", "total_change", "range"))
    assert "8 products of 10 changed" in result.stderr
    assert "The 2 products whose inventory never changed are not listed" in result.stderr
    assert {r["product_id"] for r in rows}.isdisjoint({"c", "j"})
    table = run_cli("--db", str(shop), "fluctuations", "--rank-by", "total_change")
    text = " ".join(table.stdout.split())
    assert table.exit_code == 0, table.stderr
    assert "from run 11 at 2024-01-01T06:00:00Z to run 14 at 2024-01-22T06:00:00Z" in text
    assert f"{sparkline([12, 7, 12, 7])} 12→7" in table.stdout
    assert "most by total_change: Basil" in text


def test_cli_stockouts_json_and_table(shop: Path) -> None:
    result = run_cli("--db", str(shop), "stockouts", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert set(rows[0]) >= {
        "product_id",
        "name",
        "out_since",
        "restocked_at",
        "restocked_inventory",
        "status",
    }
    aloe = next(r for r in rows if r["name"] == "Aloe")
    assert aloe["out_since"] == "2024-01-15T06:00:00Z" and aloe["restocked_at"] is None
    table = run_cli("--db", str(shop), "stockouts", "--weeks", "1")
    text = " ".join(table.stdout.split())
    assert "to run 14 at 2024-01-22T06:00:00Z" in text
    assert text.endswith(
        "2 products were out of stock in the last 1 week; 1 is still out of stock at run 14 at "
        "2024-01-22T06:00:00Z."
    )
    csv_out = run_cli("--db", str(shop), "stockouts", "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("product_id,name,out_since,restocked_at")


# --- the real four weeks ------------------------------------------------------------------


def read_weeks(real_data: Path) -> list[tuple[datetime, Path]]:
    folder = real_data / "inventory-weeks"
    with (folder / "schedule.csv").open(newline="") as handle:
        schedule = sorted(csv.DictReader(handle), key=lambda r: int(r["week"]))
    return [(parse_moment(r["snapshot_at"]), folder / r["file"]) for r in schedule]


def read_products(path: Path) -> dict[str, Product]:
    with path.open(newline="") as handle:
        return {
            r["product_id"]: (r["name"], float(r["price"]), int(r["inventory"]))
            for r in csv.DictReader(handle)
        }


@pytest.fixture(scope="module")
def real_history(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Replay the weekly products files at their schedule times, as cron would have."""
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot

    db = tmp_path_factory.mktemp("weeks") / "weeks.duckdb"
    weeks = read_weeks(real_data)
    source = tmp_path_factory.mktemp("weeks-source") / "exports"
    shutil.copytree(real_data / "raw", source)
    for at, path in weeks:
        shutil.copyfile(path, source / "products.csv")
        take_snapshot(SnapshotSettings(db=str(db), source=str(source), at=at))
    return db


def weekly_levels(real_data: Path) -> tuple[list[datetime], dict[str, str], dict[str, list[int]]]:
    weeks = read_weeks(real_data)
    tables = [read_products(path) for _, path in weeks]
    names = {pid: values[0] for table in tables for pid, values in table.items()}
    levels = {pid: [table[pid][2] for table in tables] for pid in tables[-1]}
    return [at for at, _ in weeks], names, levels


def test_real_week3_to_week4_changes(real_history: Path, real_data: Path) -> None:
    times, names, levels = weekly_levels(real_data)
    expected = {pid: v[3] - v[2] for pid, v in levels.items() if v[3] != v[2]}
    assert expected  # the weekly files do move
    # a date is its 00:00 UTC: the state after a day's run is asked for as the next day
    week3, week4 = (f"{t + timedelta(days=1):%Y-%m-%d}" for t in times[2:4])
    for settings in (
        InventoryChangesSettings(),
        InventoryChangesSettings(week3, week4),
        InventoryChangesSettings(since=f"{(times[3] - times[2]).days}d"),
    ):
        result = answer(real_history, inventory_changes, settings)
        assert (result.before.taken_at, result.after.taken_at) == (times[2], times[3])
        got = {r["product_id"]: r for r in result.rows.to_dicts()}
        assert {p: r["change"] for p, r in got.items()} == expected
        assert {p: r["name"] for p, r in got.items()} == {p: names[p] for p in expected}
        assert set(result.rows["status"]) == {"changed"}
        changes = [abs(c) for c in result.rows["change"]]
        assert changes == sorted(changes, reverse=True)


def test_real_fluctuations(real_history: Path, real_data: Path) -> None:
    _, _, levels = weekly_levels(real_data)
    expected = {}
    for pid, values in levels.items():
        states = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
        moves = [abs(b - a) for a, b in zip(states, states[1:], strict=False)]
        expected[pid] = (len(moves), sum(moves), min(states), max(states), states)
    keys = {pid: (e[0], e[1]) for pid, e in expected.items()}
    ranks = {pid: 1 + sum(other > key for other in keys.values()) for pid, key in keys.items()}
    result = answer(real_history, fluctuations, FluctuationsSettings(include_unchanged=True))
    got = {r["product_id"]: r for r in result.rows.to_dicts()}
    assert {
        p: (r["changes"], r["total_change"], r["min_inventory"], r["max_inventory"], r["path"])
        for p, r in got.items()
    } == expected
    # by default only the products that moved, and how many did not
    moved = answer(real_history, fluctuations, FluctuationsSettings())
    assert {r["product_id"] for r in moved.rows.to_dicts()} == {
        p for p, e in expected.items() if e[0] > 0
    }
    assert moved.unchanged_left_out == sum(1 for e in expected.values() if e[0] == 0) > 0
    assert {p: r["rank"] for p, r in got.items()} == ranks
    for pid, row in got.items():
        assert row["stddev"] == pytest.approx(statistics.pstdev(expected[pid][4]))


def test_real_stockouts_in_the_last_three_weeks(real_history: Path, real_data: Path) -> None:
    times, _, levels = weekly_levels(real_data)
    window_start = times[-1] - timedelta(weeks=3)
    expected = []
    for pid, values in levels.items():
        for i, value in enumerate(values):
            if value <= 0 and (i == 0 or values[i - 1] > 0):
                back = next((j for j in range(i + 1, len(values)) if values[j] > 0), None)
                ended = times[back] if back is not None else None
                if times[i] <= times[-1] and (ended is None or ended > window_start):
                    expected.append(
                        (pid, times[i], ended, values[back] if back is not None else None)
                    )
    assert expected  # the weekly files do have stockouts
    result = answer(real_history, stockouts, StockoutsSettings(weeks=3))
    got = [
        (r["product_id"], r["out_since"], r["restocked_at"], r["restocked_inventory"])
        for r in result.rows.to_dicts()
    ]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    table = run_cli("--db", str(real_history), "stockouts", "--weeks", "3")
    out = len({e[0] for e in expected})
    still = len({e[0] for e in expected if e[2] is None})
    still_text = "none is" if still == 0 else f"{still} {'is' if still == 1 else 'are'}"
    assert f"{out} products were out of stock in the last 3 weeks; {still_text} still out" in (
        " ".join(table.stdout.split())
    )


# --- the default comparison: the last earlier run whose inventory differs ---------------------


@pytest.mark.parametrize(
    ("states", "expected_before", "changed"),
    [
        # a cron job: one change at run 2, then three runs that found nothing new
        ([{"a": 10, "b": 5}, {"a": 8, "b": 5}, {"a": 8, "b": 5}, {"a": 8, "b": 5}], 1, {"a"}),
        # a price-only version is no inventory difference
        ([{"a": 10}, {"a": 8}, {"a": (8, 2.0)}], 1, {"a"}),
        # b is gone at runs 2-3 and back at run 4 with its old inventory: run 3 differs
        ([{"a": 1, "b": 5}, {"a": 1}, {"a": 1}, {"a": 1, "b": 5}], 3, {"b"}),
        # b is new at the latest run
        ([{"a": 1}, {"a": 1}, {"a": 1, "b": 2}], 2, {"b"}),
        # every run holds the same inventory: the previous run, and nothing changed
        ([{"a": 1}, {"a": 1}, {"a": 1}], 2, set()),
    ],
)
def test_default_changes_compare_with_the_last_run_whose_inventory_differs(
    tmp_path: Path, states: list[dict[str, Any]], expected_before: int, changed: set[str]
) -> None:
    history = History(tmp_path / "cron.duckdb")
    inventories = []
    for i, state in enumerate(states):
        products = {}
        for pid, value in state.items():
            inventory, price = value if isinstance(value, tuple) else (value, 1.0)
            products[pid] = (pid.upper(), price, inventory)
        history.take(datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=15 * i), products)
        inventories.append({p: v[2] for p, v in products.items()})
    # the brute force: walk back from the latest run to the first whose inventory differs
    latest = len(states)
    brute = next(
        (r for r in range(latest - 1, 0, -1) if inventories[r - 1] != inventories[-1]), None
    )
    assert (brute or latest - 1) == expected_before
    result = answer(history.db, inventory_changes, InventoryChangesSettings())
    assert (result.before.run_id, result.after.run_id) == (expected_before, latest)
    assert set(result.rows["product_id"]) == changed
    title = inventory_changes_title(result)
    if brute is None:
        assert "no earlier run's inventory differs from run" in title
    else:
        assert f"the last run before run {latest} whose inventory differs" in title
        between = latest - expected_before - 1
        assert (f"the {between} run(s) between" in title) == (between > 0)
    # --from still compares exactly what it is told
    told = answer(history.db, inventory_changes, InventoryChangesSettings(str(latest - 1)))
    assert told.before.run_id == latest - 1 and told.why is None


def test_cli_default_changes_title_says_which_runs_and_why(tmp_path: Path) -> None:
    history = History(tmp_path / "cron.duckdb")
    for i, inventory in enumerate((10, 8, 8, 8)):
        history.take(
            datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=15 * i),
            {"a": ("A", 1.0, inventory)},
        )
    result = run_cli("--db", str(history.db), "inventory-changes", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [r["change"] for r in json.loads(result.stdout)] == [-2]
    assert "from run 1 at 2024-05-01T00:00:00Z to run 4 at 2024-05-01T00:45:00Z" in result.stderr
    assert "the 2 run(s) between recorded the same inventory as run 4" in result.stderr


@pytest.mark.parametrize("question", ["inventory-changes", "fluctuations", "stockouts"])
def test_an_inventory_question_at_its_defaults_imports_nothing_its_answer_does_not_need(
    shop: Path, question: str
) -> None:
    heavy = ("polars", "pyarrow", "jinja2", "rich", "tomllib", "greenery_cli.parsing")
    args = ["--db", str(shop), question, "--format", "json"]
    stdout, imported = imports_of_a_second_run(args, heavy)
    rows = json.loads(stdout)
    if question == "inventory-changes":
        assert [r["product_id"] for r in rows] == ["b", "f", "g", "d", "j"]
    assert imported == []
