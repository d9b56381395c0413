"""The shop's real data through an incremental sequence: events split into one file per day
(in tmp), loaded a day at a time; every model and every funnel answer equals a full load's."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
from conftest import run_cli

from greenery_cli.models import discover

QUESTIONS = [
    ["funnel", "--by-step"],
    ["funnel", "--by-step", "--order", "ordered"],
    ["funnel", "--by-step", "--order", "strict"],
    ["funnel", "--by-step", "--unit", "user"],
    ["funnel", "--by", "product"],
    ["funnel", "--trend", "day"],
    ["funnel"],
]


def split_by_day(raw: Path, target: Path) -> list[Path]:
    """raw/events.csv as target/events/<day>.csv, the other tables copied whole."""
    for path in raw.glob("*.csv"):
        if path.name != "events.csv":
            shutil.copy(path, target / path.name)
    with (raw / "events.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        days: dict[str, list[list[str]]] = {}
        for row in reader:
            days.setdefault(row[header.index("created_at")][:10], []).append(row)
    return [_write(target / "events" / f"{day}.csv", header, days[day]) for day in sorted(days)]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def relations(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return {
            m.relation: con.execute(f"select * from {m.relation} order by all").fetchall()
            for m in discover().values()
            if m.in_warehouse
        }


def answers(db: Path) -> list[object]:
    found = []
    for question in QUESTIONS:
        result = run_cli("--db", str(db), *question, "--format", "json")
        assert result.exit_code == 0, (question, result.stderr)
        found.append(json.loads(result.stdout))
    return found


def test_real_events_loaded_a_day_at_a_time_answer_like_a_full_load(
    real_data: Path, loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    days = split_by_day(real_data / "raw", exports)
    assert len(days) == 4
    held = tmp_path / "held"
    held.mkdir()
    for day in days[1:]:
        day.rename(held / day.name)
    db = tmp_path / "daily.duckdb"
    result = run_cli("--db", str(db), "load", "--source", str(exports))
    assert result.exit_code == 0, result.stderr
    for day in days[1:]:
        (held / day.name).rename(day)
        result = run_cli("--db", str(db), "load")
        assert result.exit_code == 0, result.stderr
        assert "1 of 7 raw tables changed" in result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        actions = con.execute(
            "select distinct action from meta.model_builds where run_id > 1 order by 1"
        ).fetchall()
    assert ("incremental",) in actions
    assert relations(db) == relations(loaded_real_warehouse)
    assert answers(db) == answers(loaded_real_warehouse)
    result = run_cli("--db", str(db), "test")
    assert result.exit_code == 0, result.stderr


def test_real_reload_with_nothing_changed_builds_nothing(real_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(real_data / "raw")).exit_code == 0
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == 0, result.stderr
    assert "0 of 7 raw tables changed (+0 rows), 0 seed(s) reloaded" in result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute(
            "select count(*), count(*) filter (where action = 'skipped') from meta.model_builds "
            "where run_id = 2"
        ).fetchone()
    assert got == (len(discover()), len(discover()))
