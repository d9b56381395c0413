"""One grammar for every option (docs/options.md): the parsers' accepted and refused forms, the
global options before and after the command's name, and the subcommands with their old
spellings. Right answers come from the real dataset (funnel 578 -> 467 -> 361 sessions at the
default 24h window; six products changed from week 3 to week 4)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from greenery_cli.cli import COMMANDS
from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.parsing import (
    Before,
    parse_duration,
    parse_moment,
    parse_point,
    parse_when,
)
from greenery_cli.warehouse import writer_lock

# --- the parsers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d12h", 129600),
        ("2w", 1209600),
        ("1.5d", 129600),
        (" 1h 30m ", 5400),
        ("2H", 7200),
    ],
)
def test_durations_accepted(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "12", "h", "0s", "-1h", "2 days", "1x", "1d x", "1w2"])
def test_durations_refused(text: str) -> None:
    with pytest.raises(UsageError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-10-22", datetime(2024, 10, 22, tzinfo=UTC)),  # a bare date is its 00:00 UTC
        ("2024-10-22T06:00", datetime(2024, 10, 22, 6, tzinfo=UTC)),  # no offset = UTC
        ("2024-10-22T06:00:00Z", datetime(2024, 10, 22, 6, tzinfo=UTC)),
        ("2024-10-22t06:00:00z", datetime(2024, 10, 22, 6, tzinfo=UTC)),
        ("2024-10-22T08:00:00+02:00", datetime(2024, 10, 22, 6, tzinfo=UTC)),
        ("2024-10-22 06:00:00-03:30", datetime(2024, 10, 22, 9, 30, tzinfo=UTC)),
    ],
)
def test_moments_accepted(text: str, moment: datetime) -> None:
    assert parse_moment(text) == moment
    assert parse_when(text) == moment
    assert parse_point(text) == moment


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "22/10/2024", "7d"])
def test_exact_moments_refused(text: str) -> None:
    with pytest.raises(UsageError, match="is not a moment"):
        parse_moment(text)


def test_durations_as_moments_count_back_from_the_latest_data() -> None:
    when = parse_when("7d")
    assert when == Before(timedelta(days=7), "7d")
    assert isinstance(when, Before)
    assert when.resolve(datetime(2024, 10, 29, 6, tzinfo=UTC)) == datetime(
        2024, 10, 22, 6, tzinfo=UTC
    )
    for bad in ("7x", "soon", "0d"):
        with pytest.raises(UsageError, match="is not a moment"):
            parse_when(bad)


def test_points_are_run_ids_or_moments() -> None:
    assert parse_point("3") == 3
    assert parse_point(" 12 ") == 12
    assert parse_point("2w") == Before(timedelta(weeks=2), "2w")
    for bad in ("3x", "-1", "run 3", "1.5"):
        with pytest.raises(UsageError, match="is not a point of history"):
            parse_point(bad)


# --- every option refuses a bad value in one line, exit 2, before touching anything ---------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["funnel", "--window", "1x"], "--window"),
        (["funnel", "--window", "0s"], "--window"),
        (["funnel", "--window", "24"], "--window"),
        (["funnel", "--since", "yesterday"], "--since"),
        (["funnel", "--until", "2024-13-01"], "--until"),
        (["inventory-changes", "--from", "3x"], "--from"),
        (["inventory-changes", "--to", "soon"], "--to"),
        (["inventory-changes", "--since", "tomorrow"], "--since"),
        (["fluctuations", "--since", "1q"], "--since"),
        (["fluctuations", "--from", "x"], "--from"),
        (["fluctuations", "--to", "22/10/2024"], "--to"),
        (["snapshot", "--at", "7d"], "--at"),  # --at names when a run is taken: no "before"
        (["snapshot", "--at", "next tuesday"], "--at"),
        (["stockouts", "--wait", "-1"], "--wait"),
        (["stockouts", "--wait", "nan"], "--wait"),
        (["snapshot", "list", "--wait", "1x"], "--wait"),
        (["--wait", "soon", "funnel"], "--wait"),
        (["runs", "--format", "yaml"], "--format"),
        (["--format", "yaml", "runs"], "--format"),
        (["snapshot", "list", "--format", "crontab"], "--format"),
        (["schedule", "check", "--format", "airflow"], "--format"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(tmp_path: Path, args: list[str], option: str) -> None:
    db = tmp_path / "untouched.duckdb"
    result = run_cli("--db", str(db), *args)
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    value = args[args.index(option) + 1]
    assert lines[0].startswith("error: ") and option in lines[0] and repr(value) in lines[0]
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json", "init", "x"], "`greenery init` does not take --format"),
        (["--wait", "5", "project"], "`greenery project` does not take --wait"),
        (["--format", "csv", "generate", "out"], "`greenery generate` does not take --format"),
    ],
)
def test_a_global_option_a_command_does_not_take_is_refused(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not Path("x").exists() and not Path("out").exists()


# --- accepted forms, on the real data -------------------------------------------------------


@pytest.fixture(scope="module")
def shop(
    loaded_real_warehouse: Path, real_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The real warehouse with the four weekly states replayed as snapshot runs."""
    db = tmp_path_factory.mktemp("options") / "shop.duckdb"
    shutil.copyfile(loaded_real_warehouse, db)
    replayed = run_cli("--db", str(db), "snapshot", "--replay", str(real_data / "inventory-weeks"))
    assert replayed.exit_code == 0, replayed.stderr
    return db


def json_of(*args: str) -> Any:
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def funnel_counts(db: Path, *args: str) -> list[int]:
    rows = json_of("--db", str(db), "funnel", "--by-step", "--format", "json", *args)
    assert isinstance(rows, list)
    return [int(r["count"]) for r in rows]


def test_funnel_window_takes_every_duration_form(shop: Path) -> None:
    assert funnel_counts(shop) == [578, 467, 361]
    assert funnel_counts(shop, "--window", "1d") == [578, 467, 361]
    assert funnel_counts(shop, "--window", "86400s") == [578, 467, 361]
    assert funnel_counts(shop, "--window", "0.5d") == funnel_counts(shop, "--window", "12h")
    week = funnel_counts(shop, "--window", "1w")  # refused before the one grammar
    assert week[0] == 578 and all(w >= d for w, d in zip(week, [578, 467, 361], strict=True))


def test_funnel_since_until_as_moments_dates_and_durations(shop: Path) -> None:
    latest = json_of(
        "--db",
        str(shop),
        "query",
        "select max(created_at_utc) as t from marts.fct_event_path",
        "--format",
        "json",
    )
    assert isinstance(latest, list)
    end = datetime.fromisoformat(str(latest[0]["t"]).replace("Z", "+00:00"))
    day = (end - timedelta(days=1)).date().isoformat()
    next_day = end.date().isoformat()
    by_date = funnel_counts(shop, "--since", day, "--until", next_day)
    assert by_date[0] > 0
    # a bare date is 00:00 UTC: the same as the explicit moment, in any offset
    assert by_date == funnel_counts(
        shop, "--since", f"{day}T00:00:00Z", "--until", f"{next_day}T02:00:00+02:00"
    )
    # a duration counts back from the latest event, not from the clock
    back = end - timedelta(days=2)
    assert funnel_counts(shop, "--since", "2d") == funnel_counts(
        shop, "--since", back.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )
    result = run_cli("--db", str(shop), "funnel", "--since", "2d", "--format", "json")
    assert f"entering from {back:%Y-%m-%dT%H:%M:%SZ}" in result.stderr


def changed(db: Path, *args: str) -> set[str]:
    rows = json_of("--db", str(db), "inventory-changes", "--format", "json", *args)
    assert isinstance(rows, list)
    return {r["product_id"] for r in rows}


def test_inventory_points_run_ids_dates_and_durations(shop: Path) -> None:
    runs = json_of("--db", str(shop), "snapshot", "list", "--format", "json")
    assert isinstance(runs, list) and len(runs) == 4
    ids = sorted(int(r["snapshot_run_id"]) for r in runs)
    times = {
        int(r["snapshot_run_id"]): datetime.fromisoformat(r["taken_at"].replace("Z", "+00:00"))
        for r in runs
    }
    week3, week4 = ids[2], ids[3]
    six = changed(shop, "--from", str(week3), "--to", str(week4))
    assert len(six) == 6
    assert changed(shop) == six
    days = (times[week4] - times[week3]).days
    assert changed(shop, "--since", f"{days}d") == six
    assert changed(shop, "--from", f"{days}d") == six
    # a date is 00:00 UTC: the day after week 3's 06:00 run finds week 3
    assert changed(shop, "--from", f"{times[week3] + timedelta(days=1):%Y-%m-%d}") == six
    everything = json_of("--db", str(shop), "fluctuations", "--format", "json")
    assert (
        json_of("--db", str(shop), "fluctuations", "--since", "52w", "--format", "json")
        == everything
    )


# --- global options before and after the command's name ------------------------------------

# every command and subcommand, with the arguments it needs to get as far as its warehouse
READERS = [
    ["fluctuations"],
    ["funnel"],
    ["inventory-changes"],
    ["models"],
    ["query", "select 1"],
    ["report"],
    ["runs"],
    ["schedule", "check"],
    ["snapshot", "list"],
    ["stockouts"],
]
WRITERS = [["build"], ["freshness"], ["load"], ["snapshot"], ["snapshot", "revert"], ["test"]]
EVERY = [
    *READERS,
    *WRITERS,
    ["demo"],
    ["generate", "out"],
    ["init", "new-project"],
    ["project"],
    ["schedule"],
]


def test_the_lists_cover_every_command() -> None:
    assert {args[0] for args in EVERY} == set(COMMANDS)


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_db_before_or_after_the_command(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "nowhere.duckdb"
    before = run_cli("--db", str(missing), *args)
    after = run_cli(*args, "--db", str(missing))
    for result in (before, after):
        assert result.exit_code == ExitCode.TOOL_ERROR
        assert f"no warehouse at {missing}" in result.stderr
    assert before == after


@pytest.mark.parametrize("args", [a for a in EVERY if a[0] != "init"], ids=" ".join)
def test_project_dir_before_or_after_the_command(tmp_path: Path, args: list[str]) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "greenery.toml").write_text("[project\n")
    before = run_cli("--project-dir", str(broken), *args)
    after = run_cli(*args, "--project-dir", str(broken))
    for result in (before, after):
        assert result.exit_code == ExitCode.TOOL_ERROR, result.stderr
        assert "greenery.toml" in result.stderr and result.stdout == ""
    assert before == after
    assert not Path("out").exists() and not Path("new-project").exists()


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_format_before_or_after_the_command(shop: Path, args: list[str]) -> None:
    before = run_cli("--db", str(shop), "--format", "json", *args)
    after = run_cli("--db", str(shop), *args, "--format", "json")
    assert before.exit_code in (0, 1), before.stderr  # schedule check: all overdue is exit 1
    assert (before.exit_code, before.stdout) == (after.exit_code, after.stdout)
    json.loads(before.stdout)


def test_format_in_both_places_the_later_wins(shop: Path) -> None:
    result = run_cli(
        "--db", str(shop), "--format", "csv", "funnel", "--by-step", "--format", "json"
    )
    assert [r["count"] for r in json.loads(result.stdout)] == [578, 467, 361]


@pytest.mark.parametrize(
    "args", [["snapshot"], ["snapshot", "revert"], ["load"], ["build"]], ids=" ".join
)
def test_wait_before_or_after_the_command(shop: Path, tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "busy.duckdb"
    shutil.copyfile(shop, db)
    with writer_lock(db):  # another greenery process is writing
        before = run_cli("--db", str(db), "--wait", "0", *args)
        after = run_cli("--db", str(db), *args, "--wait", "0")
    for result in (before, after):
        assert result.exit_code == ExitCode.BUSY, result.stderr
    assert before == after


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_report_takes_every_format(shop: Path, fmt: str) -> None:
    result = run_cli("--db", str(shop), "report", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        assert set(json.loads(result.stdout)) >= {"inventory_changes", "funnel_by_step"}
    elif fmt == "csv":
        heads = [line for line in result.stdout.splitlines() if line.startswith("# ")]
        assert len(heads) == 5 and heads[0].startswith("# 1. ")
        assert "product_id,name,status,inventory_before,inventory_after,change" in result.stdout
    elif fmt == "markdown":
        assert result.stdout.count("\n## ") + result.stdout.startswith("## ") == 5
        assert "| product_id | name | status |" in result.stdout
    else:
        assert "578" in result.stdout


# --- subcommands and the old spellings -----------------------------------------------------


def test_snapshot_list_and_its_old_spelling(shop: Path) -> None:
    new = run_cli("--db", str(shop), "snapshot", "list", "--format", "json")
    old = run_cli("--db", str(shop), "snapshot", "--list", "--format", "json")
    assert new.exit_code == old.exit_code == 0
    assert new.stdout == old.stdout and len(json.loads(new.stdout)) == 4
    assert new.stderr == ""
    assert old.stderr == "greenery: note: `snapshot --list` is deprecated; use `snapshot list`\n"
    # global options of the group reach its subcommand
    grouped = run_cli("--db", str(shop), "snapshot", "--format", "json", "list")
    assert grouped.stdout == new.stdout


def test_snapshot_revert_and_its_old_spelling(shop: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copyfile(shop, db)
    dry = run_cli("--db", str(db), "snapshot", "revert", "--dry-run")
    old_dry = run_cli("--db", str(db), "snapshot", "--revert-last", "--dry-run")
    assert dry.exit_code == old_dry.exit_code == 0
    assert "deprecated; use `snapshot revert`" in old_dry.stderr
    assert old_dry.stderr.splitlines()[1:] == dry.stderr.splitlines()
    assert len(json_of("--db", str(db), "snapshot", "list", "--format", "json")) == 4
    assert run_cli("--db", str(db), "snapshot", "revert").exit_code == 0
    assert len(json_of("--db", str(db), "snapshot", "list", "--format", "json")) == 3
    old = run_cli("--db", str(db), "snapshot", "--revert-last")
    assert old.exit_code == 0 and "deprecated" in old.stderr
    assert len(json_of("--db", str(db), "snapshot", "list", "--format", "json")) == 2


def test_snapshot_options_are_not_taken_for_a_subcommand(shop: Path) -> None:
    # `--replay list` is --replay's folder, not the subcommand; a taking option before `list`
    # is refused rather than ignored
    result = run_cli("--db", str(shop), "snapshot", "--source", "somewhere", "list")
    assert result.exit_code == ExitCode.TOOL_ERROR and "takes its own options" in result.stderr
    replay = run_cli("--db", str(shop), "snapshot", "--replay", "list")
    assert (
        replay.exit_code != 0 and "list" in replay.stderr and "No such command" not in replay.stderr
    )
    typo = run_cli("--db", str(shop), "snapshot", "lsit")
    assert typo.exit_code == ExitCode.TOOL_ERROR and "Did you mean 'list'?" in typo.stderr


def test_schedule_check_and_its_old_spelling(shop: Path) -> None:
    new = run_cli("--db", str(shop), "schedule", "check", "--format", "json")
    old = run_cli("--db", str(shop), "schedule", "--check", "--format", "json")
    assert new.exit_code == old.exit_code
    assert new.stdout == old.stdout and isinstance(json.loads(new.stdout), list)
    assert "deprecated; use `schedule check`" in old.stderr and "deprecated" not in new.stderr


def test_the_crontab_uses_the_new_spellings(shop: Path) -> None:
    crontab = run_cli("--db", str(shop), "schedule")
    assert crontab.exit_code == 0, crontab.stderr
    assert "schedule check" in crontab.stdout and "--check" not in crontab.stdout
    assert "--revert-last" not in crontab.stdout and "snapshot --list" not in crontab.stdout


def test_generate_file_format_and_its_old_spelling(tmp_path: Path) -> None:
    args = ["--scale", "0.01", "--weeks", "1", "--products", "3"]
    new = run_cli("generate", str(tmp_path / "a"), *args, "--file-format", "parquet")
    old = run_cli("generate", str(tmp_path / "b"), *args, "--format", "parquet")
    assert new.exit_code == old.exit_code == 0, new.stderr + old.stderr
    assert (tmp_path / "a" / "raw" / "events.parquet").is_file()
    assert (tmp_path / "b" / "raw" / "events.parquet").is_file()
    assert "deprecated; use `generate --file-format`" in old.stderr
