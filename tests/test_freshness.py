"""`greenery freshness`: thresholds at their boundaries, times with and without zones, empty and
never-loaded tables, stale models, the appended checks and the real dataset."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import RAW_TABLES, raw_table, run_cli

from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.freshness import (
    FreshnessSettings,
    Thresholds,
    check_freshness,
    for_people,
    parse_duration,
    status_for,
)
from greenery_cli.warehouse import open_warehouse

LOADED_AT = datetime(2024, 10, 10, 6, 0, tzinfo=UTC)


def hand_loaded(db: Path, loaded_at: datetime = LOADED_AT, skip: tuple[str, ...] = ()) -> None:
    """Every raw table created empty from the contract and 'loaded' by run 1 at `loaded_at`."""
    with open_warehouse(db, write=True) as wh:
        for table in RAW_TABLES:
            if table.name in skip:
                continue
            columns = ", ".join(f"{c} {t}" for c, t in table.columns.items())
            wh.execute(f"create table raw.{table.name} ({columns})")
            wh.execute(
                "insert into meta.loads (run_id, table_name, source_kind, location, rows, "
                "loaded_at) values (1, ?, 'files', 'hand', 0, ?)",
                [table.name, loaded_at],
            )


def by_name(report_checks) -> dict[str, dict]:
    return {row["name"]: row for row in report_checks.iter_rows(named=True)}


def check(db: Path, now: datetime, **thresholds: Thresholds) -> dict[str, dict]:
    limits = {t.name: thresholds.get(t.name, Thresholds("1d", "2d")) for t in RAW_TABLES}
    report = check_freshness(FreshnessSettings(db=db, now=now, thresholds=limits))
    return by_name(report.checks)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12h", 43200), ("2d", 172800), ("1d12h", 129600), ("90m", 5400), ("1w", 604800), ("30s", 30)],
)
def test_durations_read_as_written(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "12", "h", "2 days", "-1d", "1d x"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="not a duration"):
        parse_duration(text)


def test_ages_read_for_people(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    hand_loaded(db)
    report = check_freshness(FreshnessSettings(db=db, now=LOADED_AT + timedelta(seconds=93784)))
    people = {row["name"]: row for row in for_people(report.checks).iter_rows(named=True)}
    assert people["raw.orders"]["age"] == "26 h ago"  # the shared words (greenery_cli.timewords)
    assert people["raw.orders"]["record_age"] == ""  # empty: no newest record
    assert people["raw.orders"]["limits"] == "1d / 2d"


def test_exactly_at_the_threshold_passes_and_strictly_older_is_stale() -> None:
    day = 86400.0
    assert status_for(day, "1d", "2d") == "pass"
    assert status_for(day + 0.001, "1d", "2d") == "warn"
    assert status_for(2 * day, "1d", "2d") == "warn"
    assert status_for(2 * day + 0.001, "1d", "2d") == "error"
    assert status_for(10 * day, None, None) == "pass"


def test_load_age_statuses_at_the_boundaries(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    one_day = LOADED_AT + timedelta(days=1)
    assert check(db, one_day)["raw.orders"]["status"] == "pass"
    later = check(db, one_day + timedelta(microseconds=1))["raw.orders"]
    assert later["status"] == "warn"
    assert later["note"] == "load older than 1d; empty table"
    assert later["load_age_s"] == pytest.approx(86400.000001)
    assert check(db, LOADED_AT + timedelta(days=2))["raw.orders"]["status"] == "warn"
    assert check(db, LOADED_AT + timedelta(days=2, seconds=1))["raw.orders"]["status"] == "error"


def test_naive_now_is_utc_whatever_the_local_zone(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    naive = (LOADED_AT + timedelta(days=1)).replace(tzinfo=None)
    aware = check(db, LOADED_AT + timedelta(days=1))["raw.users"]
    plain = check(db, naive)["raw.users"]
    assert plain["load_age_s"] == aware["load_age_s"] == 86400
    assert plain["status"] == aware["status"] == "pass"
    # an aware 'now' in another zone is the same instant
    kiritimati = (LOADED_AT + timedelta(days=1)).astimezone(
        __import__("zoneinfo").ZoneInfo("Pacific/Kiritimati")
    )
    assert check(db, kiritimati)["raw.users"]["load_age_s"] == 86400


def test_newest_record_in_naive_and_zoned_columns(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db, skip=("events",))
    with open_warehouse(db, write=True) as wh:
        # a naive TIMESTAMP column is the warehouse's time, UTC
        wh.execute("create table raw.events (event_id varchar, created_at timestamp)")
        wh.execute("insert into raw.events values ('a', '2024-10-09 06:00:00')")
        wh.execute(
            "insert into meta.loads (run_id, table_name, source_kind, location, rows, loaded_at) "
            "values (1, 'events', 'files', 'hand', 1, ?)",
            [LOADED_AT],
        )
        wh.execute(
            "insert into raw.orders (order_id, created_at) values "
            "('o1', '2024-10-09 08:00:00+02'), ('o2', '2024-10-08 00:00:00+00')"
        )
    got = check(
        db,
        LOADED_AT,
        events=Thresholds("1d", "2d", "12h", "1d"),
        orders=Thresholds("1d", "2d", "12h", "1d"),
    )
    assert got["raw.events"]["newest_record_at"] == datetime(2024, 10, 9, 6, 0, tzinfo=UTC)
    assert got["raw.events"]["record_age_s"] == 86400
    assert got["raw.events"]["status"] == "warn"  # exactly 1d: past 12h, not past 1d
    assert got["raw.events"]["note"] == "newest created_at older than 12h"
    assert got["raw.orders"]["newest_record_at"] == datetime(2024, 10, 9, 6, 0, tzinfo=UTC)
    assert got["raw.orders"]["status"] == "warn"


def test_record_age_only_counts_where_a_table_sets_record_limits(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    with open_warehouse(db, write=True) as wh:
        wh.execute("insert into raw.orders (order_id, created_at) values ('o', '2021-02-11')")
    old_data = check(db, LOADED_AT)
    assert old_data["raw.orders"]["status"] == "pass"  # a fresh load of old records
    assert old_data["raw.orders"]["record_age_s"] > 3 * 365 * 86400
    strict = check(db, LOADED_AT, orders=Thresholds("1d", "2d", None, "30d"))
    assert strict["raw.orders"]["status"] == "error"


def test_empty_tables_report_load_age_and_error_only_with_record_limits(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    got = check(db, LOADED_AT + timedelta(hours=1), events=Thresholds("1d", "2d", "1d", "2d"))
    assert got["raw.orders"]["status"] == "pass"
    assert got["raw.orders"]["newest_record_at"] is None
    assert "empty table" in got["raw.orders"]["note"]
    assert got["raw.events"]["status"] == "error"
    assert got["raw.products"]["note"] == "no record time column"


def test_a_never_loaded_table_is_an_error_and_exits_1(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db, loaded_at=datetime.now(UTC) - timedelta(hours=30), skip=("promos",))
    result = run_cli("--db", str(db), "freshness", "--format", "json")
    assert result.exit_code == ExitCode.WORK_FAILED
    import json

    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["raw.promos"]["status"] == "error"
    assert "never loaded" in rows["raw.promos"]["note"]
    assert rows["raw.orders"]["status"] == "warn"  # 30h old against the seed's 1d / 2d
    with duckdb.connect(str(db), read_only=True) as con:
        run = con.execute("select command, status, message from meta.runs").fetchall()
    from greenery_cli.models import discover

    never_built = len(discover())  # no model was built in this hand-made warehouse
    assert run == [("freshness", "fail", f"1 error, {6 + never_built} warn")]


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db, loaded_at=datetime.now(UTC) - timedelta(hours=30))
    result = run_cli("--db", str(db), "freshness")
    assert result.exit_code == 0, result.stderr
    assert "raw.orders" in result.stdout
    assert "warn" in result.stderr


def test_every_check_is_appended_with_its_run(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    first = check_freshness(FreshnessSettings(db=db, now=LOADED_AT))
    second = check_freshness(FreshnessSettings(db=db, now=LOADED_AT + timedelta(days=3)))
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        counts = con.execute(
            "select run_id, count(*), count(*) filter (where status = 'error') "
            "from meta.freshness_checks where kind = 'source' group by 1 order by 1"
        ).fetchall()
        runs = con.execute("select run_id, command, status from meta.runs order by 1").fetchall()
    assert counts == [(first.run_id, len(RAW_TABLES), 0), (second.run_id, len(RAW_TABLES), 7)]
    assert runs == [(first.run_id, "freshness", "success"), (second.run_id, "freshness", "fail")]


def test_a_model_built_before_its_source_was_reloaded_is_stale(
    raw_copy: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(raw_copy)).exit_code == 0
    items = raw_copy / "order_items.csv"
    header, first, *rest = items.read_text().split("\n")
    order_id, product_id, quantity = first.split(",")
    items.write_text("\n".join([header, f"{order_id},{product_id},{int(quantity) + 1}", *rest]))
    # only stg_order_items (a view) is chosen: the tables reading raw.order_items go stale
    assert run_cli("--db", str(db), "load", "--select", "stg_order_items").exit_code == 0
    got = check(db, datetime.now(UTC))
    assert got["staging.stg_order_items"]["status"] == "pass"
    assert got["staging.stg_order_items"]["note"] == "a view: as fresh as its inputs"
    assert got["marts.dim_products"]["status"] == "warn"  # the shop's one table mart
    assert got["marts.dim_products"]["note"] == (
        "stale: inputs changed since its build in run 1: raw.order_items"
    )
    assert got["marts.fct_orders"]["status"] == "pass"  # a view: always as its inputs are
    assert got["marts.fct_product_funnel_events"]["status"] == "pass"


def test_a_model_built_before_a_model_it_reads_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine_project import DAY1_ROWS, make_engine_project, write_batch, write_customers

    project = make_engine_project(tmp_path / "project", monkeypatch)
    folder = tmp_path / "exports"
    write_customers(folder, [("s1", "north")])
    write_batch(folder, "b1", DAY1_ROWS)
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(folder)).exit_code == 0
    model = project / "queries" / "marts" / "fct_order_status.sql"
    model.write_text(model.read_text() + "\n")
    assert run_cli("--db", str(db), "build", "--select", "fct_order_status").exit_code == 0
    report = check_freshness(FreshnessSettings(db=db))
    got = by_name(report.checks)
    assert got["marts.fct_order_status"]["status"] == "pass"  # rebuilt alone by run 2
    assert got["marts.fct_paid_orders"]["status"] == "warn"
    assert got["marts.fct_paid_orders"]["note"] == (
        "stale: inputs changed since its build in run 1: marts.fct_order_status"
    )


def test_the_snapshot_shows_its_latest_run(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    hand_loaded(db)
    with open_warehouse(db, write=True) as wh:
        wh.execute(
            "create table snapshots.snapshot_runs (snapshot_run_id bigint, taken_at timestamptz, "
            "rows_opened bigint, rows_closed bigint, rows_deleted bigint, source varchar, "
            "check_columns varchar, missing_policy varchar)"
        )
        for run_id, taken_at in ((1, LOADED_AT - timedelta(days=7)), (2, LOADED_AT)):
            wh.execute(
                "insert into snapshots.snapshot_runs values (?, ?, 0, 0, 0, 's', 'all', 'ignore')",
                [run_id, taken_at],
            )
    snapshot = check(db, LOADED_AT + timedelta(hours=2))["snapshots.products_snapshot"]
    assert snapshot["status"] == "pass"
    assert snapshot["loaded_at"] == LOADED_AT
    assert snapshot["note"] == "2 runs, latest 2 h ago"


SOURCES = """
[orders]
primary_key = ["order_id"]
freshness_column = "created_at"
{orders}
[orders.columns]
order_id = "VARCHAR"
created_at = "TIMESTAMPTZ"

[events]
primary_key = ["event_id"]
[events.columns]
event_id = "VARCHAR"
"""


def sources_file(tmp_path: Path, orders: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES.format(orders=orders))
    return path


def test_thresholds_are_declared_per_source_over_the_project_defaults(tmp_path: Path) -> None:
    from greenery_cli.project.sources import parse_sources

    path = sources_file(tmp_path, 'warn_after = "12h"\nrecord_warn_after = "1d"')
    got = {t.name: t.freshness for t in parse_sources(path, Thresholds("1d", "3d"))}
    assert got["orders"] == Thresholds("12h", "3d", "1d", None)
    assert got["events"] == Thresholds("1d", "3d")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('warn_after = "soon"', r"line 5: \[orders\] warn_after = 'soon' is not a duration"),
        ('warn_after = "3d"', r"line 5: \[orders\] warn_after 3d is later than error_after 2d"),
        ('stale_after = "3d"', r"line 5: \[orders\]: unknown key\(s\) stale_after"),
    ],
)
def test_bad_thresholds_name_the_file_and_line(tmp_path: Path, lines: str, message: str) -> None:
    from greenery_cli.project.sources import parse_sources

    with pytest.raises(UsageError, match=message):
        parse_sources(sources_file(tmp_path, lines), Thresholds())


def test_every_shop_source_has_thresholds() -> None:
    from greenery_cli.freshness import configured_thresholds

    configured = configured_thresholds()
    assert set(configured) == {t.name for t in RAW_TABLES}


def newest_in_csv(real_data: Path, table: str) -> datetime:
    column = raw_table(table).freshness_column
    with (real_data / "raw" / f"{table}.csv").open(newline="") as handle:
        values = [r[column] for r in csv.DictReader(handle) if r[column]]
    return max(datetime.fromisoformat(v.replace("Z", "+00:00")) for v in values)


def test_real_dataset_is_fresh_after_a_load_with_its_2021_records(
    loaded_real_warehouse: Path, real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    with duckdb.connect(str(db), read_only=True) as con:
        loaded_at = con.execute("select max(loaded_at) from meta.loads").fetchone()[0]
    report = check_freshness(FreshnessSettings(db=db, now=loaded_at + timedelta(hours=1)))
    got = by_name(report.checks)
    assert not report.failed
    for table in RAW_TABLES:
        row = got[f"raw.{table.name}"]
        assert row["status"] == "pass", row
        assert row["load_age_s"] == pytest.approx(3600)
        if table.freshness_column:
            assert row["newest_record_at"] == newest_in_csv(real_data, table.name)
    assert all(got[n]["status"] == "pass" for n in got if got[n]["kind"] == "model")
