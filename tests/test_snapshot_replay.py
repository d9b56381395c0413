"""History that cannot silently rewind: `greenery snapshot --replay DIR`, the rewind guard, and
the new-user flow of issue 17 (load raw/, replay the weeks, then a plain cron run)."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_snapshot import (
    HEADER,
    T,
    contents,
    fingerprint,
    implied_history,
    run_until_locked,
    snap,
    weekly_files,
    write_products,
)

import greenery_cli.snapshot_replay as replay_module
from greenery_cli.errors import DataError, ExitCode
from greenery_cli.snapshot_replay import ReplaySettings, replay
from greenery_cli.snapshot_rewind import RewindRefused
from greenery_cli.warehouse import open_warehouse


def write_weeks(folder: Path, states: list[tuple[datetime, dict[str, tuple[str, float, int]]]]):
    """A replay folder: products_weekN.csv per state and schedule.csv (week, snapshot_at, file)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "schedule.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["week", "snapshot_at", "file"])
        for week, (at, products) in enumerate(states, start=1):
            name = f"products_week{week}.csv"
            write_products(folder / ".tmp", products)
            shutil.move(folder / ".tmp" / "products.csv", folder / name)
            writer.writerow([week, at.strftime("%Y-%m-%dT%H:%M:%SZ"), name])
    shutil.rmtree(folder / ".tmp", ignore_errors=True)
    return folder


def history_rows(db: Path) -> tuple[set[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The versions (run ids as their moments) and the runs (without ids and sources)."""
    with open_warehouse(db) as wh:
        versions = set(
            wh.rows(
                "select p.snapshot_row_id, p.product_id, p.name, p.price, p.inventory, "
                "p.valid_from, p.valid_to, p.is_deleted, o.taken_at, c.taken_at "
                "from snapshots.products_snapshot as p "
                "join snapshots.snapshot_runs as o on o.snapshot_run_id = p.opened_by_run "
                "left join snapshots.snapshot_runs as c on c.snapshot_run_id = p.closed_by_run"
            )
        )
        runs = wh.rows(
            "select taken_at, rows_opened, rows_closed, rows_deleted, check_columns, "
            "missing_policy from snapshots.snapshot_runs order by taken_at"
        )
    return versions, runs


def loop_replay(db: Path, exports: Path, weeks: list[tuple[datetime, Path]]) -> None:
    """The shell loop the README used to give: copy each week in, snapshot --source --at."""
    for at, path in weeks:
        (exports / "products.csv").write_bytes(path.read_bytes())
        result = run_cli(
            "--db", str(db), "snapshot", "--source", str(exports), "--at", at.isoformat()
        )
        assert result.exit_code == 0, result.stderr


# --- the new user's flow, on the real data ---------------------------------------------------


def test_the_new_user_flow_ends_with_the_rewind_refused(
    real_data: Path, raw_copy: Path, tmp_path: Path
) -> None:
    db = tmp_path / "new-user.duckdb"
    raw = real_data / "raw"
    # 1. load the real exports from raw/ (week 1's products): raw/ is remembered
    assert run_cli("--db", str(db), "load", "--source", str(raw)).exit_code == 0
    # 2. replay the weekly states with the old loop (snapshot --source exports --at ...)
    weeks = weekly_files(real_data)
    loop_replay(db, raw_copy, weeks)
    before = contents(db)
    # 3. the generated crontab's plain `greenery snapshot`: the remembered raw/ is week 1 again
    cron = run_cli("--db", str(db), "snapshot")
    assert cron.exit_code == ExitCode.WORK_FAILED, cron.stderr
    week1_run = history_run_at(db, weeks[0][0])
    message = " ".join(cron.stderr.split())
    assert "looks like an older state of the history" in message
    assert f"since snapshot run {week1_run} at {weeks[0][0]:%Y-%m-%dT%H:%M:%SZ}" in message
    assert f"The remembered source is {raw.resolve()}" in message
    assert "--allow-rewind" in message and cron.stdout == ""
    assert contents(db) == before  # nothing written
    with duckdb.connect(str(db), read_only=True) as con:
        last = con.execute("select command, status from meta.runs order by run_id desc limit 1")
        assert last.fetchone() == ("snapshot", "error")
    # the default answer is still week 3 -> week 4, not week 4 -> week 1
    changes = run_cli("--db", str(db), "inventory-changes", "--format", "json")
    week3, week4 = (read_inventory(path) for _, path in weeks[2:])
    expected = {p: week4[p] - week3[p] for p in week4 if week4[p] != week3[p]}
    assert {r["product_id"]: r["change"] for r in json.loads(changes.stdout)} == expected
    # what the guard kept out: with --allow-rewind the week-1 values come back as "changes"
    week1 = read_inventory(weeks[0][1])
    rewound = run_cli("--db", str(db), "snapshot", "--allow-rewind")
    assert rewound.exit_code == 0, rewound.stderr
    after = json.loads(run_cli("--db", str(db), "inventory-changes", "--format", "json").stdout)
    assert {r["product_id"]: r["inventory_after"] for r in after} == {
        p: week1[p] for p in week4 if week1[p] != week4[p]
    }


def history_run_at(db: Path, moment: datetime) -> int:
    with open_warehouse(db) as wh:
        return int(
            wh.scalar(
                "select snapshot_run_id from snapshots.snapshot_runs where taken_at = ?", [moment]
            )
        )


def read_inventory(path: Path) -> dict[str, int]:
    with path.open(newline="") as handle:
        return {r["product_id"]: int(r["inventory"]) for r in csv.DictReader(handle)}


def test_the_replay_flow_warns_and_never_reaches_the_rewound_state(
    real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "docs.duckdb"
    # the docs' flow: load the dataset (its root: raw/ is found), replay inventory-weeks/
    assert run_cli("--db", str(db), "load", "--source", str(real_data)).exit_code == 0
    replayed = run_cli("--db", str(db), "snapshot", "--replay", str(real_data / "inventory-weeks"))
    assert replayed.exit_code == 0, replayed.stderr
    text = " ".join(replayed.stderr.split())
    assert "replayed 4 of 4 states" in text
    assert f"the remembered source {(real_data / 'raw').resolve()} holds an older state" in text
    before = contents(db)
    cron = run_cli("--db", str(db), "snapshot")
    assert cron.exit_code == ExitCode.WORK_FAILED and "older state" in cron.stderr
    assert contents(db) == before
    # the real stock history does not cover the 2021 events: the funnel says so, no zeros
    products = run_cli("--db", str(db), "funnel", "--by", "product", "--format", "json")
    rows = json.loads(products.stdout)
    assert rows and all(r["viewed_out_of_stock"] is None for r in rows)
    assert "does not cover the entries" in " ".join(products.stderr.split())


# --- --replay ----------------------------------------------------------------------------------


def test_replaying_the_real_weeks_gives_the_same_history_as_the_loop(
    real_data: Path, raw_copy: Path, tmp_path: Path
) -> None:
    weeks = weekly_files(real_data)
    looped, replayed = tmp_path / "loop.duckdb", tmp_path / "replay.duckdb"
    loop_replay(looped, raw_copy, weeks)
    result = run_cli(
        "--db",
        str(replayed),
        "snapshot",
        "--replay",
        str(real_data / "inventory-weeks"),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count('"skipped": false') == 4
    assert history_rows(replayed) == history_rows(looped)
    with open_warehouse(replayed) as wh:
        got = set(
            wh.rows(
                "select product_id, name, price, inventory, valid_from, valid_to, is_deleted "
                "from snapshots.products_snapshot"
            )
        )
        sources = wh.rows("select source from snapshots.snapshot_runs order by taken_at")
        remembered = wh.rows("select * from meta.source")
    assert got == implied_history(weeks)
    assert [s for (s,) in sources] == [str(path.resolve()) for _, path in weeks]
    assert remembered == []  # replayed files are history, not the live source


def test_replay_skips_states_already_in_the_history(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    states = [
        (T[0], {"a": ("Aloe", 1.0, 5), "b": ("Basil", 2.0, 3)}),
        (T[1], {"a": ("Aloe", 1.0, 4), "b": ("Basil", 2.0, 3)}),
        (T[2], {"a": ("Aloe", 1.0, 4), "b": ("Basil", 2.0, 1)}),
    ]
    first = replay(ReplaySettings(db=db, folder=str(write_weeks(tmp_path / "two", states[:2]))))
    assert [s.skipped for s in first.states] == [False, False]
    done = history_rows(db)
    all_three = write_weeks(tmp_path / "three", states)
    again = replay(ReplaySettings(db=db, folder=str(all_three)))
    assert [s.skipped for s in again.states] == [True, True, False]
    assert [s.run_id for s in again.states][:2] == [s.run_id for s in first.states]
    _versions, runs = history_rows(db)
    assert runs[:2] == done[1] and len(runs) == 3
    # a state at a moment the history has, but another state then: refused, nothing written
    before = contents(db)
    changed = write_weeks(tmp_path / "other", [(T[1], {"a": ("Aloe", 1.0, 9)}), states[2]])
    with pytest.raises(DataError, match=r"already has snapshot run \d+ at that moment"):
        replay(ReplaySettings(db=db, folder=str(changed)))
    # a moment inside the history where no run was taken: refused (append-only in time)
    between = write_weeks(tmp_path / "between", [(T[0] + timedelta(days=1), states[0][1])])
    refused = run_cli("--db", str(db), "snapshot", "--replay", str(between))
    assert refused.exit_code == ExitCode.TOOL_ERROR and "append-only" in refused.stderr
    assert contents(db) == before


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (None, "no schedule.csv"),
        ("week,at,file\n1,2024-01-01,x.csv\n", "missing column(s) snapshot_at"),
        ("snapshot_at,file\nsoon,products_week1.csv\n", "line 2, column snapshot_at: 'soon'"),
        ("snapshot_at,file\n2024-01-01,gone.csv\n", "gone.csv does not exist"),
        ("snapshot_at,file\n2024-01-01,../x.csv\n", "is not a .csv or .parquet file"),
        (
            "snapshot_at,file\n2024-01-01,products_week1.csv\n2024-01-01,products_week1.csv\n",
            "more than one state at 2024-01-01T00:00:00Z",
        ),
        ("snapshot_at,file\n", "no states to replay"),
    ],
)
def test_replay_checks_its_schedule(tmp_path: Path, schedule: str | None, message: str) -> None:
    folder = write_weeks(tmp_path / "weeks", [(T[0], {"a": ("Aloe", 1.0, 1)})])
    (folder / "schedule.csv").unlink()
    if schedule is not None:
        (folder / "schedule.csv").write_text(schedule)
    result = run_cli("--db", str(tmp_path / "w.duckdb"), "snapshot", "--replay", str(folder))
    assert result.exit_code in (ExitCode.WORK_FAILED, ExitCode.TOOL_ERROR)
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_replay_options_that_do_not_combine(tmp_path: Path) -> None:
    folder = write_weeks(tmp_path / "weeks", [(T[0], {"a": ("Aloe", 1.0, 1)})])
    for extra in (["--at", "2024-01-01"], ["--source", str(folder)], ["--dry-run"]):
        result = run_cli(
            "--db", str(tmp_path / "w.duckdb"), "snapshot", "--replay", str(folder), *extra
        )
        assert result.exit_code == ExitCode.TOOL_ERROR and "--replay" in result.stderr
    listed = run_cli("--db", str(tmp_path / "w.duckdb"), "snapshot", "--allow-rewind", "list")
    assert listed.exit_code == ExitCode.TOOL_ERROR


def test_a_replay_failing_midway_leaves_the_history_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write_products(tmp_path / "start", {"a": ("Aloe", 1.0, 9)})
    snap(db, tmp_path / "start", T[0])
    before = contents(db)
    states = [(T[i], {"a": ("Aloe", 1.0, i), "b": ("Basil", 1.0, i)}) for i in (1, 2, 3, 4)]
    folder = write_weeks(tmp_path / "weeks", states)
    # the third file has a duplicate product_id: refused, naming it, and nothing of the others
    with (folder / "products_week3.csv").open("a") as handle:
        handle.write("a,Aloe again,1.0,7\r\n")  # csv.writer's line ends
    result = run_cli("--db", str(db), "snapshot", "--replay", str(folder))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "products_week3.csv" in result.stderr and "duplicate" in result.stderr
    assert contents(db) == before
    with duckdb.connect(str(db), read_only=True) as con:
        logged = con.execute("select status from meta.runs order by run_id desc limit 1")
        assert logged.fetchone() == ("error",)


def test_a_replay_interrupted_midway_leaves_the_history_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    write_products(tmp_path / "start", {"a": ("Aloe", 1.0, 9)})
    snap(db, tmp_path / "start", T[0])
    before = fingerprint(db)
    states = [(T[i], {"a": ("Aloe", 1.0, i), "b": ("Basil", 1.0, i)}) for i in (1, 2, 3, 4)]
    folder = write_weeks(tmp_path / "weeks", states)
    real_apply, calls = replay_module.apply_run, []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:  # two states written, the third interrupted
            raise KeyboardInterrupt
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(replay_module, "apply_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        replay(ReplaySettings(db=db, folder=str(folder)))
    assert len(calls) == 3
    after = fingerprint(db)
    assert {k: v for k, v in after.items() if k != "meta.runs"} == {
        k: v for k, v in before.items() if k != "meta.runs"
    }
    monkeypatch.setattr(replay_module, "apply_run", real_apply)
    whole = replay(ReplaySettings(db=db, folder=str(folder)))
    assert [s.skipped for s in whole.states] == [False] * 4


@pytest.mark.slow
def test_a_replay_killed_midway_leaves_the_history_before_or_after(tmp_path: Path) -> None:
    n = 60_000
    folder = tmp_path / "weeks"
    folder.mkdir()
    with (folder / "schedule.csv").open("w") as handle:
        handle.write("snapshot_at,file\n")
        for week in range(1, 5):
            handle.write(f"2024-01-{week * 7:02d}T06:00:00Z,products_week{week}.csv\n")
    with duckdb.connect() as con:
        for week in range(1, 5):
            con.execute(
                "copy (select 'p' || lpad(i::varchar, 7, '0') as product_id, "
                f"'Plant ' || i as name, 1.5 as price, "
                f"(i % 40 + case when i % 10 = {week} then 100 else 0 end)::int "
                f"as inventory from range({n}) t(i)) to '{folder / f'products_week{week}.csv'}' "
                "(header)"
            )
    db = tmp_path / "w.duckdb"
    write_products(tmp_path / "start", {"p0000000": ("Plant 0", 1.5, 0)})
    snap(db, tmp_path / "start", datetime(2024, 1, 1, tzinfo=UTC))
    before = fingerprint(db)
    done = tmp_path / "done.duckdb"
    shutil.copyfile(db, done)
    finished, started = run_until_locked(done, "--replay", str(folder))
    assert finished.wait(timeout=300) == 0, finished.communicate()
    work = time.monotonic() - started
    after = {k: v for k, v in fingerprint(done).items() if k != "meta.runs"}
    outcomes = []
    for fraction in (0.2, 0.5, 0.8):
        victim = tmp_path / f"killed-{fraction}.duckdb"
        shutil.copyfile(db, victim)
        run, started = run_until_locked(victim, "--replay", str(folder))
        time.sleep(max(0.0, started + work * fraction - time.monotonic()))
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        state = {k: v for k, v in fingerprint(victim).items() if k != "meta.runs"}
        untouched = {k: v for k, v in before.items() if k != "meta.runs"}
        assert state in (untouched, after), f"killed at {fraction:.0%}: a partial replay"
        outcomes.append(state == after)
    assert not all(outcomes), "every kill came after the commit; the replay outpaced the timer"


# --- the rewind guard, by hand -------------------------------------------------------------------


def take(db: Path, folder: Path, at: datetime, products: dict[str, int], **options: Any):
    write_products(folder, {p: (p.upper(), 1.0, n) for p, n in products.items()})
    return snap(db, folder, at, **options)


def test_the_guard_refuses_a_source_back_at_an_earlier_runs_state(tmp_path: Path) -> None:
    db, src = tmp_path / "w.duckdb", tmp_path / "src"
    take(db, src, T[0], {"a": 1, "b": 2, "c": 3})
    take(db, src, T[1], {"a": 5, "b": 6, "c": 3})
    take(db, src, T[2], {"a": 5, "b": 6, "c": 3})  # a cron run that found nothing new
    before = contents(db)
    for source, refused in (
        ({"a": 1, "b": 2, "c": 3}, True),  # the first run's state again
        ({"a": 1, "b": 2, "c": 9}, True),  # both changed products back, c changed anew
        ({"a": 1, "b": 6, "c": 3}, False),  # only one of them back: a restock, not a rewind
        ({"a": 1, "b": 7, "c": 3}, False),
        ({"a": 5, "b": 6, "c": 3, "d": 1}, False),  # nothing goes back
    ):
        write_products(src, {p: (p.upper(), 1.0, n) for p, n in source.items()})
        if refused:
            with pytest.raises(RewindRefused, match=r"since snapshot run 1 at 2024-03-04T06:00"):
                snap(db, src, T[3])
            with pytest.raises(RewindRefused):
                snap(db, src, T[3], dry_run=True)
            assert contents(db) == before
        else:
            assert snap(db, src, T[3], dry_run=True).opened >= 1, source
    allowed = take(db, src, T[3], {"a": 1, "b": 2, "c": 3}, allow_rewind=True)
    assert (allowed.opened, allowed.closed) == (2, 2)


def test_the_guard_sees_deleted_products_return_and_spares_a_single_restock(tmp_path: Path) -> None:
    db, src = tmp_path / "w.duckdb", tmp_path / "src"
    take(db, src, T[0], {"a": 1, "b": 2, "c": 3})
    take(db, src, T[1], {"a": 1}, allow_shrink=True)  # b and c gone (tombstones)
    write_products(src, {p: (p.upper(), 1.0, n) for p, n in {"a": 1, "b": 2, "c": 3}.items()})
    with pytest.raises(RewindRefused, match="the 2 products"):
        snap(db, src, T[2])
    # one product sold and restocked to its old count is no rewind
    one, other = tmp_path / "one.duckdb", tmp_path / "other"
    take(one, other, T[0], {"a": 10, "b": 4})
    take(one, other, T[1], {"a": 7, "b": 4})
    assert take(one, other, T[2], {"a": 10, "b": 4}).opened == 1


@pytest.mark.parametrize("check", [None, ("*",)])
def test_the_guard_compares_the_check_columns(tmp_path: Path, check: Any) -> None:
    db, src = tmp_path / "w.duckdb", tmp_path / "src"
    first = {"a": ("Aloe", 1.0, 1), "b": ("Basil", 1.0, 2)}
    write_products(src, first)
    snap(db, src, T[0], check_columns=check)
    write_products(src, {"a": ("Aloe", 3.0, 5), "b": ("Basil", 3.0, 6)})
    snap(db, src, T[1], check_columns=check)
    # inventory back, prices not: a rewind only when the prices are not checked
    write_products(src, {"a": ("Aloe", 3.0, 1), "b": ("Basil", 3.0, 2)})
    if check is None:
        with pytest.raises(RewindRefused):
            snap(db, src, T[2], check_columns=check)
    else:
        assert snap(db, src, T[2], check_columns=check).opened == 2


# --- the rewind guard against a brute force, on random histories -----------------------------

POOL = ("a", "b", "c", "d")
tables = st.dictionaries(st.sampled_from(POOL), st.integers(min_value=0, max_value=2), max_size=4)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Random tables, and a source that is often an earlier table again, maybe touched."""
    history = draw(st.lists(tables, min_size=1, max_size=4))
    source = draw(tables)
    if len(history) > 1 and draw(st.booleans()):
        source = dict(history[draw(st.integers(0, len(history) - 2))])
        if draw(st.booleans()):
            source[draw(st.sampled_from(POOL))] = draw(st.integers(min_value=0, max_value=2))
    return history, source


def brute_rewind(states: list[dict[str, int | None]], source: dict[str, int | None]) -> int | None:
    """The newest earlier run (1-based) such that every product whose state differs between it
    and the latest run is back at that state in the source, at least two of them."""
    latest = states[-1]
    for run in range(len(states) - 1, 0, -1):
        then = states[run - 1]
        differ = {p for p in set(then) | set(latest) if then.get(p) != latest.get(p)}
        if len(differ) >= 2 and all(source.get(p) == then.get(p) for p in differ):
            return run
    return None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=histories())
def test_the_guard_agrees_with_a_brute_force(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[dict[str, int]], dict[str, int]]
) -> None:
    history, source = case
    folder = tmp_path_factory.mktemp("guard")
    db, src = folder / "w.duckdb", folder / "src"
    for i, table in enumerate(history):
        take(db, src, T[0] + timedelta(hours=i), table, allow_rewind=True, allow_shrink=True)
    # states as the history holds them (absent = None), by run
    states: list[dict[str, int | None]] = []
    with open_warehouse(db) as wh:
        for (at,) in wh.rows("select taken_at from snapshots.snapshot_runs order by taken_at"):
            rows = wh.rows(
                "select product_id, inventory from snapshots.products_snapshot where valid_from "
                "<= ? and (valid_to is null or valid_to > ?) and not is_deleted",
                [at, at],
            )
            states.append(dict(rows))
    expected = brute_rewind(states, dict(source))
    write_products(src, {p: (p.upper(), 1.0, n) for p, n in source.items()})
    try:
        snap(db, src, T[0] + timedelta(hours=10), dry_run=True)
        got = None
    except RewindRefused as refused:
        got = refused.run_id
    assert got == expected, (states, source)
    assert HEADER == ["product_id", "name", "price", "inventory"]
