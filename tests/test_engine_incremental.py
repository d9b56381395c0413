"""Incremental loads and builds equal a full refresh over the same files, whatever the sequence:
late events, repeated keys inside and across batches, an empty batch, a whole-table source
changing under incremental models; a file changed or removed after loading is refused."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli
from engine_project import (
    DAY1_ROWS,
    MARTS,
    make_engine_project,
    write_batch,
    write_customers,
)

from greenery_cli.errors import ExitCode


def contents(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        found = {m: con.execute(f"select * from marts.{m} order by all").fetchall() for m in MARTS}
        found["raw.events"] = con.execute("select * from raw.events order by all").fetchall()
    return found


def fresh(folder: Path, tmp: Path) -> dict[str, list[tuple]]:
    """What a full load of the folder as it is now gives, in a new warehouse."""
    db = tmp / f"fresh-{len(list(tmp.glob('fresh-*')))}.duckdb"
    result = run_cli("--db", str(db), "load", "--source", str(folder))
    assert result.exit_code == 0, result.stderr
    return contents(db)


def load(db: Path, *args: str) -> None:
    result = run_cli("--db", str(db), "load", *args)
    assert result.exit_code == 0, result.stderr


def actions(db: Path) -> dict[str, tuple[str, str]]:
    """model -> (action, reason) of the latest run."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            m: (a, r)
            for m, a, r in con.execute(
                "select model, action, reason from meta.model_builds "
                "where run_id = (select max(run_id) from meta.model_builds)"
            ).fetchall()
        }


DAY1 = DAY1_ROWS
DAY2 = [
    # o1 twice in one batch: the later one must win; s1 gains a late-night event of day 2
    ("e05", "s1", "o1", "paid", "2021-02-11T08:00:00Z"),
    ("e06", "s1", "o1", "shipped", "2021-02-11T10:00:00Z"),
    ("e07", "s3", "", "view", "2021-02-11T12:00:00Z"),
    # late: an event of day 1 arriving with day 2's file, in session s2, mid-way through day 1
    ("e08", "s2", "", "view", "2021-02-10T10:30:00Z"),
]
LATE = [
    # an older status of o1 arriving after a newer one: it must not win
    ("e09", "s1", "o1", "paid", "2021-02-11T09:00:00Z"),
    # o2 shipped, and a new session on day 1 (late) with an order
    ("e10", "s2", "o2", "shipped", "2021-02-11T13:00:00Z"),
    ("e11", "s4", "o3", "paid", "2021-02-10T23:59:59Z"),
]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    make_engine_project(tmp_path / "project", monkeypatch)
    folder = tmp_path / "exports"
    write_customers(folder, [("s1", "north"), ("s2", "south"), ("s3", "north")])
    return folder, tmp_path / "w.duckdb"


def test_every_step_of_an_incremental_sequence_equals_a_full_refresh(shop, tmp_path) -> None:
    folder, db = shop
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    assert contents(db) == fresh(folder, tmp_path)
    assert {a for a, _ in actions(db).values()} == {"built"}

    write_batch(folder, "b2", DAY2)
    load(db)
    assert contents(db) == fresh(folder, tmp_path)
    got = actions(db)
    for model in ("fct_events", "fct_sessions", "fct_order_status", "fct_event_log", "fct_daily"):
        assert got[model][0] == "incremental", (model, got[model])
        assert (
            "new data in raw.events from 2021-02-10 10:30:00 to 2021-02-11 12:00:00"
            in got[model][1]
        )
    assert got["fct_daily_table"] == ("built", "raw.events changed")
    assert got["stg_events"][0] == "skipped"  # a view: nothing to build

    # an empty batch (a header alone) changes nothing, so nothing is built
    write_batch(folder, "b3", [])
    load(db)
    assert contents(db) == fresh(folder, tmp_path)
    assert {a for a, _ in actions(db).values()} == {"skipped"}

    write_batch(folder, "b4", LATE)
    load(db)
    assert contents(db) == fresh(folder, tmp_path)
    status = dict((o, s) for o, s, _ in contents(db)["fct_order_status"])
    assert status == {"o1": "shipped", "o2": "shipped", "o3": "paid"}

    # the whole-table source changes: what reads it is rebuilt in full, nothing else
    write_customers(folder, [("s1", "east"), ("s2", "south"), ("s3", "north"), ("s4", "west")])
    load(db)
    assert contents(db) == fresh(folder, tmp_path)
    got = actions(db)
    assert got["fct_events"] == (
        "built",
        "raw.customers changed throughout (not by event time): built in full",
    )
    assert {m for m, (a, _) in got.items() if a != "skipped"} == {"fct_events"}


def test_without_its_lookback_a_daily_rollup_drifts_from_the_full_refresh(shop, tmp_path) -> None:
    """The negative control: fct_daily rebuilds whole days, so new data at 10:30 needs the day
    that started at 00:00; with no lookback the increment misses it."""
    folder, db = shop
    schema = Path(os.environ["GREENERY_PROJECT_DIR"]) / "queries" / "marts" / "schema.toml"
    schema.write_text(schema.read_text().replace('lookback = "1d"\n', ""))
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    write_batch(folder, "b2", DAY2)
    load(db)
    assert contents(db)["fct_daily"] != fresh(folder, tmp_path)["fct_daily"]


def test_a_loaded_file_that_changed_is_refused_and_nothing_is_written(shop, tmp_path) -> None:
    folder, db = shop
    first = write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    write_batch(folder, "b2", DAY2)
    before = contents(db)
    first.write_text(first.read_text().replace(",created,", ",cancelled,", 1))
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "events/b1.csv" in result.stderr and "changed after run 1 loaded it" in result.stderr
    assert "--full-refresh" in result.stderr and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1  # one line
    assert contents(db) == before  # b2 was not appended either
    load(db, "--full-refresh")
    assert contents(db) == fresh(folder, tmp_path)


def test_a_touched_file_with_the_same_bytes_is_not_a_change(shop) -> None:
    folder, db = shop
    first = write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    text = first.read_text()
    first.write_text(text)  # rewritten: new mtime and ctime, same content
    os.utime(first, (1, 1))
    load(db)
    assert {a for a, _ in actions(db).values()} == {"skipped"}


def test_a_removed_file_is_refused_until_a_full_refresh(shop, tmp_path) -> None:
    folder, db = shop
    first = write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    write_batch(folder, "b2", DAY2)
    load(db)
    before = contents(db)
    first.unlink()
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "events/b1.csv: loaded by run 1 and since removed" in result.stderr
    assert contents(db) == before
    load(db, "--full-refresh", "--select", "source:events+")
    after = contents(db)
    assert after == fresh(folder, tmp_path)
    assert {r[0] for r in after["raw.events"]} == {r[0] for r in DAY2}


def test_a_key_repeated_across_batches_is_refused_naming_it(shop) -> None:
    folder, db = shop
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    before = contents(db)
    write_batch(folder, "b2", [("e03", "s9", "", "view", "2021-02-12T00:00:00Z")])
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "duplicate primary key (event_id)" in result.stderr
    assert "'e03'" in result.stderr and "events/b2.csv" in result.stderr
    assert contents(db) == before


def test_a_key_repeated_inside_a_batch_is_refused_naming_it(shop) -> None:
    folder, db = shop
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    write_batch(folder, "b2", [DAY2[0], (DAY2[0][0], *DAY2[1][1:])])
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "duplicate primary key (event_id)" in result.stderr and "'e05'" in result.stderr


def test_a_failing_model_rolls_back_the_appended_batch_too(shop, tmp_path) -> None:
    folder, db = shop
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    before = contents(db)
    project = Path(os.environ["GREENERY_PROJECT_DIR"])
    model = project / "queries" / "marts" / "fct_daily_table.sql"
    good = model.read_text()
    model.write_text("-- broken\nselect no_such_column from {{ ref('stg_events') }}\n")
    write_batch(folder, "b2", DAY2)
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "fct_daily_table" in result.stderr and "no_such_column" in result.stderr
    assert contents(db) == before  # raw.events did not keep b2's rows
    model.write_text(good)
    load(db)  # b2 was never recorded as loaded, so it is appended now
    assert contents(db) == fresh(folder, tmp_path)


def test_an_incremental_delta_outside_its_range_is_refused(shop) -> None:
    folder, db = shop
    project = Path(os.environ["GREENERY_PROJECT_DIR"])
    model = project / "queries" / "marts" / "fct_events.sql"
    model.write_text(model.read_text().split("{% if")[0] + "{% if is_incremental() %}{% endif %}")
    write_batch(folder, "b1", DAY1)
    load(db, "--source", str(folder))
    write_batch(folder, "b2", DAY2)
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "model fct_events: its incremental SQL returned" in result.stderr
    assert "outside the rebuilt range" in result.stderr


def test_a_merge_delta_with_a_repeated_key_is_refused(shop) -> None:
    folder, db = shop
    project = Path(os.environ["GREENERY_PROJECT_DIR"])
    model = project / "queries" / "marts" / "fct_order_status.sql"
    model.write_text(model.read_text().split("qualify")[0])
    write_batch(folder, "b1", DAY1)
    result = run_cli("--db", str(db), "load", "--source", str(folder))
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "fct_order_status" in result.stderr and "repeated unique_key (order_id)" in result.stderr
    assert "'o2'" in result.stderr


def test_a_new_batch_is_never_a_shrink_but_a_full_refresh_over_fewer_rows_is(shop) -> None:
    folder, db = shop
    write_batch(folder, "b1", DAY1)
    write_batch(folder, "b2", DAY2)
    load(db, "--source", str(folder))
    # appending (even an empty batch) only adds rows: the shrink guard has nothing to say
    write_batch(folder, "b3", [])
    load(db)
    write_batch(folder, "b4", LATE)
    load(db)
    # rebuilt from the two files left, raw.events would go from 11 rows to 3 (-73%)
    (folder / "events" / "b1.csv").unlink()
    (folder / "events" / "b2.csv").unlink()
    before = contents(db)
    result = run_cli("--db", str(db), "load", "--full-refresh")
    assert result.exit_code == ExitCode.WORK_FAILED, result.stderr
    assert "raw table events would shrink from 11 to 3 rows (-73%" in result.stderr
    assert "--allow-shrink" in result.stderr and "Traceback" not in result.stderr
    assert contents(db) == before
    load(db, "--full-refresh", "--allow-shrink")
    assert len(contents(db)["raw.events"]) == 3
