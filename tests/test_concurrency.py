"""Readers never wait for writers, writers never wait for readers: real processes, real files.

A reader opens the published warehouse read-only and keeps the file it opened; a writer works on
a private copy and renames it into place when it commits (docs/warehouse.md). So a question asked
during a long load or snapshot answers at once from the last committed state, and a writer started
while readers hold the warehouse finishes without waiting for them.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

READ_STATE = (
    "select (select count(*) from raw.events) as events, "
    "(select max(run_id) from meta.runs where status = 'success') as run"
)
SNAPSHOT_STATE = (
    "select (select count(*) from snapshots.products_snapshot) as versions, "
    "(select count(*) from snapshots.snapshot_runs) as runs, "
    "(select max(run_id) from meta.runs where status = 'success') as run"
)
MAX_READERS = 60  # a bound on each loop, whatever the machine's speed


def greenery(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "greenery_cli", "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def state(db: Path, sql: str) -> tuple[int, ...]:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)


def locked_by(db: Path, pid: int) -> bool:
    lock = db.with_name(db.name + ".lock")
    try:
        return lock.read_text().strip() == str(pid)
    except FileNotFoundError:
        return False


def parse_csv_row(text: str) -> tuple[int, ...]:
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2, text
    return tuple(int(v) for v in rows[1])


def read_across(
    writer: subprocess.Popen[str], db: Path, sql: str
) -> list[tuple[float, float, int, str, str]]:
    """Run readers one after another (two at a time) until the writer ends; each reader's
    (start, end, exit code, stdout, stderr)."""
    while not locked_by(db, writer.pid) and writer.poll() is None:
        time.sleep(0.005)
    answers: list[tuple[float, float, int, str, str]] = []
    running: list[tuple[float, subprocess.Popen[str]]] = []
    started = 0
    while True:
        writer_done = writer.poll() is not None
        while not writer_done and len(running) < 2 and started < MAX_READERS:
            running.append((time.monotonic(), greenery(db, "query", sql, "--format", "csv")))
            started += 1
        if not running:
            break
        begun, reader = running.pop(0)
        out, err = reader.communicate(timeout=120)
        answers.append((begun, time.monotonic(), reader.returncode, out, err))
    return answers


def assert_readers_answered_from_committed_states(
    answers: list[tuple[float, float, int, str, str]],
    states: set[tuple[int, ...]],
    writer_ended: float,
) -> None:
    for _begun, _ended, code, out, err in answers:
        assert code == 0, err  # never 3 (busy), never an error
        assert parse_csv_row(out) in states, (out, states)
    during = [a for a in answers if a[1] < writer_ended]
    assert during, "no reader finished while the writer ran; the write outpaced the readers"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two generated shops of the same size but different seeds (different events)."""
    from greenery_cli.generate import GenerateSettings, generate

    root = tmp_path_factory.mktemp("shops")
    for seed in (1, 2):
        generate(GenerateSettings(out=root / f"seed{seed}", seed=seed, scale=30))
    return root / "seed1" / "raw", root / "seed2" / "raw"


def test_readers_answer_during_a_long_load_from_a_committed_state(
    tmp_path: Path, exports: tuple[Path, Path]
) -> None:
    first, second = exports
    db = tmp_path / "w.duckdb"
    assert greenery(db, "load", "--source", str(first)).wait(timeout=600) == 0
    before = state(db, READ_STATE)
    writer = greenery(db, "load", "--source", str(second), "--allow-shrink")
    answers = read_across(writer, db, READ_STATE)
    ended = time.monotonic()
    assert writer.wait(timeout=600) == 0, writer.communicate()
    after = state(db, READ_STATE)
    assert after != before
    assert_readers_answered_from_committed_states(answers, {before, after}, ended)
    # a question (not only `query`) asked while the next load writes answers too
    writer = greenery(db, "load", "--source", str(first), "--allow-shrink")
    while not locked_by(db, writer.pid) and writer.poll() is None:
        time.sleep(0.005)
    funnel = greenery(db, "funnel", "--by-step", "--format", "json")
    out, err = funnel.communicate(timeout=120)
    assert funnel.returncode == 0, err
    assert writer.wait(timeout=600) == 0


def big_products(folder: Path, n: int, bump: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'p' || lpad(i::varchar, 7, '0') as product_id, 'Plant ' || i as name, "
            f"1.5 as price, (i % 40 + case when i % 10 = 0 then {bump} else 0 end)::int "
            f"as inventory from range({n}) t(i)) to '{folder / 'products.csv'}' (header)"
        )
    return folder


def test_readers_answer_during_a_long_snapshot_from_a_committed_state(tmp_path: Path) -> None:
    first = big_products(tmp_path / "first", 200_000, 0)
    second = big_products(tmp_path / "second", 200_000, 7)
    db = tmp_path / "w.duckdb"
    at = datetime(2024, 1, 1, 6, tzinfo=UTC)
    taken = greenery(db, "snapshot", "--source", str(first), "--at", at.isoformat())
    assert taken.wait(timeout=600) == 0, taken.communicate()
    before = state(db, SNAPSHOT_STATE)
    writer = greenery(db, "snapshot", "--source", str(second), "--at", "2024-01-08T06:00:00Z")
    answers = read_across(writer, db, SNAPSHOT_STATE)
    ended = time.monotonic()
    assert writer.wait(timeout=600) == 0, writer.communicate()
    after = state(db, SNAPSHOT_STATE)
    assert after[0] == before[0] + 20_000 and after[1] == before[1] + 1
    assert_readers_answered_from_committed_states(answers, {before, after}, ended)


HOLD = """
import sys
from greenery_cli.warehouse import open_warehouse
with open_warehouse(sys.argv[1]) as wh:
    print(wh.scalar(sys.argv[2]), flush=True)
    sys.stdin.readline()  # hold the warehouse open until told
    print(wh.scalar(sys.argv[2]), flush=True)
"""


def test_a_writer_finishes_while_readers_hold_the_warehouse(
    tmp_path: Path, exports: tuple[Path, Path]
) -> None:
    first, second = exports
    db = tmp_path / "w.duckdb"
    assert greenery(db, "load", "--source", str(first)).wait(timeout=600) == 0
    sql = "select count(*) from raw.events"
    (events_before,) = state(db, sql)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD, str(db), sql],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for reader in readers:
            assert reader.stdout is not None
            assert int(reader.stdout.readline()) == events_before
        # the readers hold their connections until told: a writer that waited for them would
        # give up after --wait 1 (exit 3); it must finish instead
        load = greenery(db, "load", "--source", str(second), "--allow-shrink", "--wait", "1")
        out, err = load.communicate(timeout=600)
        assert load.returncode == 0, err
        snapshot = greenery(db, "snapshot", "--wait", "1", "--at", "2024-01-01T00:00:00Z")
        assert snapshot.wait(timeout=600) == 0, snapshot.communicate()
        assert all(reader.poll() is None for reader in readers)
        (events_after,) = state(db, sql)
        assert events_after != events_before
    finally:
        outs = [reader.communicate(input="\n", timeout=60)[0] for reader in readers]
    # each reader kept the state it opened, whole, to the end
    assert [out.strip() for out in outs] == [str(events_before)] * 3


def test_a_killed_writer_leaves_the_published_file_and_the_next_writer_cleans_up(
    tmp_path: Path, exports: tuple[Path, Path]
) -> None:
    first, second = exports
    db = tmp_path / "w.duckdb"
    assert greenery(db, "load", "--source", str(first)).wait(timeout=600) == 0
    before = state(db, READ_STATE)
    writer = greenery(db, "load", "--source", str(second), "--allow-shrink")
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(f".{db.name}.work-") for p in tmp_path.iterdir()):
            break  # the writer is at work on its copy
        time.sleep(0.005)
    # killed at once: on a quiet machine this load publishes within half a second of starting
    # its copy, and a kill after the publish would test nothing
    time.sleep(0.05)
    writer.kill()
    writer.wait(timeout=60)
    assert writer.returncode == -9, "the writer finished before it could be killed"
    assert state(db, READ_STATE) == before
    assert any(p.name.startswith(f".{db.name}.work-") for p in tmp_path.iterdir())
    assert greenery(db, "load", "--source", str(first)).wait(timeout=600) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{db.name}.work-")]
    assert os.path.getsize(db) > 0
