"""The shop's real data through an incremental sequence: events split into one file per day
(in tmp), loaded a day at a time; every model and every funnel answer equals a full load's."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli

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


def incremental_shop(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shop's project with its expensive event models incremental: int_sessions merged by
    session (each touched session recomputed whole), fct_product_funnel_events replaced by range."""
    for part in ("greenery.toml", "queries", "seeds"):
        source = REPO / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / part)
    sessions = root / "queries" / "intermediate" / "int_sessions.sql"
    sessions.write_text(
        sessions.read_text().replace(
            "group by session_id",
            "{% if is_incremental() %}\nwhere session_id in (select session_id from "
            "{{ ref('stg_events') }} where created_at_utc >= {{ new_data.start }} "
            "and created_at_utc <= {{ new_data.end }})\n{% endif %}\ngroup by session_id",
        )
    )
    funnel = root / "queries" / "marts" / "fct_product_funnel_events.sql"
    funnel.write_text(
        funnel.read_text()
        + "{% if is_incremental() %}\n  and e.created_at_utc >= {{ new_data.start }} "
        "and e.created_at_utc <= {{ new_data.end }}\n{% endif %}\n"
    )
    schema = root / "queries" / "intermediate" / "schema.toml"
    schema.write_text(
        '[int_sessions]\nmaterialized = "incremental"\nunique_key = "session_id"\n'
        'event_time = "first_event_at_utc"\n\n' + schema.read_text()
    )
    marts = root / "queries" / "marts" / "schema.toml"
    marts.write_text(
        marts.read_text().replace(
            "[fct_product_funnel_events]\n",
            '[fct_product_funnel_events]\nmaterialized = "incremental"\n'
            'incremental_strategy = "delete+insert"\n',
        )
    )
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(root))


@pytest.mark.parametrize("project", ["as shipped", "incremental"])
def test_real_events_loaded_a_day_at_a_time_answer_like_a_full_load(
    real_data: Path,
    loaded_real_warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project: str,
) -> None:
    if project == "incremental":
        (tmp_path / "project").mkdir()
        incremental_shop(tmp_path / "project", monkeypatch)
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
        incremental = con.execute(
            "select distinct model from meta.model_builds where action = 'incremental' order by 1"
        ).fetchall()
    if project == "incremental":
        assert incremental == [("fct_product_funnel_events",), ("int_sessions",)]
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
