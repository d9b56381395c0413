"""The warehouse file: schema version, busy handling, UTC sessions, unusable files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli

from greenery_cli.errors import ExitCode
from greenery_cli.warehouse import SCHEMA_VERSION, SCHEMAS, open_warehouse


def test_new_warehouse_has_every_schema_and_its_version(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "w.duckdb", write=True) as wh:
        schemas = {r[0] for r in wh.rows("select schema_name from information_schema.schemata")}
        assert set(SCHEMAS) <= schemas
        assert wh.scalar("select max(version) from meta.schema_version") == SCHEMA_VERSION
        assert wh.scalar("select current_setting('TimeZone')") == "UTC"


def test_newer_schema_version_is_refused_clearly(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db, write=True) as wh:
        wh.execute("insert into meta.schema_version (version) values (?)", [SCHEMA_VERSION + 1])
    result = run_cli("--db", str(db), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert f"schema version {SCHEMA_VERSION + 1}" in result.stderr
    assert "upgrade greenery" in result.stderr


def test_a_file_that_is_not_a_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    db.write_text("this is not a database\n" * 100)
    result = run_cli("--db", str(db), "query", "select 1")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "cannot open warehouse" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_duckdb_file_without_greenery_metadata(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    duckdb.connect(str(db)).close()
    result = run_cli("--db", str(db), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "not a greenery warehouse" in result.stderr


def _hold(db: Path, seconds: float, sql: str = "select 1") -> subprocess.Popen[str]:
    """Another greenery process holding the warehouse open for writing (having run `sql`)."""
    code = (
        "import sys, time\n"
        "from greenery_cli.warehouse import open_warehouse\n"
        f"with open_warehouse({str(db)!r}, write=True) as wh:\n"
        f"    wh.execute({sql!r})\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_writer_waits_then_reports_busy(tmp_path: Path, raw_copy: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = _hold(db, 5)
    try:
        started = time.monotonic()
        result = run_cli("--db", str(db), "load", "--source", str(raw_copy), "--wait", "0.5")
        assert time.monotonic() - started < 4.5
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == ExitCode.BUSY
    assert "busy" in result.stderr and "--wait" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_reader_during_a_write_answers_at_once_from_the_committed_state(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db, write=True) as wh:
        wh.execute("create table raw.plants as select 1 as n")
    holder = _hold(db, 30, "insert into raw.plants values (2)")
    try:
        with open_warehouse(db, wait=0) as wh:  # no waiting at all
            assert wh.rows("select n from raw.plants") == [(1,)]
        result = run_cli("--db", str(db), "query", "select n from raw.plants", "--format", "csv")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "n\n1\n"
    finally:
        holder.kill()  # killed mid-write: the warehouse stays as it was
        holder.wait()
    with open_warehouse(db, write=True) as wh:
        assert wh.rows("select n from raw.plants") == [(1,)]
        wh.execute("insert into raw.plants values (3)")
    with open_warehouse(db) as wh:
        assert wh.rows("select n from raw.plants order by n") == [(1,), (3,)]
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert leftovers == [], "the next writer removes what a killed writer left"


def test_memory_limit_is_bounded_by_default_and_set_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db, write=True) as wh:
        default = wh.scalar("select current_setting('memory_limit')")
    with open_warehouse(db) as wh:
        assert wh.scalar("select current_setting('memory_limit')") == default
    monkeypatch.setenv("GREENERY_MEMORY_LIMIT", "512MB")
    with open_warehouse(db) as wh:
        limited = wh.scalar("select current_setting('memory_limit')")
    monkeypatch.setenv("GREENERY_MEMORY_LIMIT", "none")
    with open_warehouse(db) as wh:
        unlimited = wh.scalar("select current_setting('memory_limit')")
    assert default == "2.7 GiB"  # 3GB, as DuckDB shows it
    assert limited == "488.2 MiB"  # 512MB
    assert unlimited not in (default, limited)  # DuckDB's own default, a share of RAM


def test_a_bad_memory_limit_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    with open_warehouse(db, write=True):
        pass
    monkeypatch.setenv("GREENERY_MEMORY_LIMIT", "lots")
    result = run_cli("--db", str(db), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "GREENERY_MEMORY_LIMIT='lots'" in result.stderr


READER = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*) from meta.runs").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the file open until told
print(con.execute("select count(*) from meta.runs").fetchone()[0], flush=True)
"""


def test_a_load_that_finds_nothing_changed_writes_in_place_unless_a_reader_holds_the_file(
    tmp_path: Path, raw_copy: Path
) -> None:
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(raw_copy)).exit_code == 0
    loaded = db.stat().st_ino

    def runs() -> list[tuple[str, str]]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("select command, status from meta.runs order by run_id").fetchall()

    # nothing changed and nobody reading: the bookkeeping goes into the file itself, no copy
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == 0, result.stderr
    assert "0 of 7 raw tables changed" in result.stderr
    assert db.stat().st_ino == loaded
    assert runs() == [("load", "success")] * 2
    # a reader holds the file: the same load goes to a copy and is published; the reader keeps
    # reading the file it opened
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "2"
        result = run_cli("--db", str(db), "load", "--wait", "0.5")
        assert result.exit_code == 0, result.stderr
        assert db.stat().st_ino != loaded
        assert runs() == [("load", "success")] * 3
    finally:
        out, _ = reader.communicate(input="\n", timeout=60)
    assert out.strip() == "2"
    # an export whose stat moved is not judged in place (its bytes are hashed on a copy)
    published = db.stat().st_ino
    os.utime(raw_copy / "promos.csv", ns=(time.time_ns(), time.time_ns()))
    assert run_cli("--db", str(db), "load").exit_code == 0
    assert db.stat().st_ino != published
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_reader_knows_which_tables_and_views_exist(tmp_path: Path) -> None:
    """A reader asks by binding the name, a writer by the catalogue: both answer the same, for
    tables, views, a view that no longer binds, odd names and what is missing."""
    db = tmp_path / "w.duckdb"
    asked = [
        ("raw", "t"),
        ("raw", "v"),
        ("raw", "broken"),
        ("raw", 'odd "name"'),
        ("raw", "missing"),
        ("nowhere", "t"),
        ("raw", "T"),  # DuckDB's names are case-insensitive
    ]
    with open_warehouse(db, write=True) as wh:
        wh.execute("create table raw.t (a int)")
        wh.execute("create table raw.gone (a int)")
        wh.execute("create view raw.v as select * from raw.t")
        wh.execute("create view raw.broken as select * from raw.gone")
        wh.execute("drop table raw.gone")
        wh.execute('create table raw."odd ""name""" (a int)')
        written = [wh.table_exists(s, t) for s, t in asked]
    with open_warehouse(db) as wh:
        read = [wh.table_exists(s, t) for s, t in asked]
        again = [wh.table_exists(s, t) for s, t in asked]
    assert written == [True, True, True, True, False, False, True]
    assert read == written
    assert again == read


def test_a_first_command_that_fails_leaves_no_file_behind(tmp_path: Path) -> None:
    folder = tmp_path / "warehouse"
    folder.mkdir()
    result = run_cli("--db", str(folder / "w.duckdb"), "load", "--source", str(tmp_path / "no"))
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert list(folder.iterdir()) == []  # neither a warehouse nor its lock file


def test_a_writer_waiting_on_a_removed_lock_file_locks_the_new_one(tmp_path: Path) -> None:
    """The first writer fails and removes the lock file while a second waits on it: the second
    then holds the lock of the file at the path, so a third must wait for it."""
    import threading

    from greenery_cli.errors import WarehouseBusy
    from greenery_cli.warehouse import _WriterLock

    db = tmp_path / "w.duckdb"
    first, second, third = _WriterLock(db), _WriterLock(db), _WriterLock(db)
    first.acquire(0)
    waiting = threading.Thread(target=second.acquire, args=(10,))
    waiting.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not waiting.is_alive():
        time.sleep(0.01)
    time.sleep(0.2)  # the second has opened the file and waits on its flock
    first.release()  # no warehouse was made: the lock file goes
    waiting.join(10)
    assert not waiting.is_alive()
    assert first.path.exists()  # the second locked a file of its own at the path
    with pytest.raises(WarehouseBusy):
        third.acquire(0)
    second.release()
    assert not first.path.exists()


class _CountingConnection:
    """A DuckDB connection that counts the catalogue listings asked of it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.listings = con, 0

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        self.listings += "from information_schema.tables" in sql
        return self.con.execute(sql, params)


def test_a_writer_lists_the_catalogue_once_until_a_statement_may_change_it(
    tmp_path: Path,
) -> None:
    from greenery_cli.warehouse import Warehouse

    counting = _CountingConnection(duckdb.connect(str(tmp_path / "w.duckdb")))
    wh = Warehouse(tmp_path / "w.duckdb", counting, read_only=False)  # type: ignore[arg-type]
    wh.execute("create schema raw")
    wh.execute("create table raw.t (a int)")
    asked = [wh.table_exists("raw", n) for n in ("t", "T", "u", "t")]
    assert asked == [True, True, False, True] and counting.listings == 1
    wh.execute("insert into raw.t values (1)")
    assert wh.scalar("select count(*) from raw.t") == 1
    assert wh.relations() == {"raw.t": "TABLE"} and counting.listings == 1
    # every kind of change is seen: a new table, a rename, a view, a drop, a rollback
    wh.execute("create table raw.u as select 1 as b")
    assert wh.table_exists("raw", "u") and counting.listings == 2
    wh.execute("alter table raw.u rename to w")
    assert (wh.table_exists("raw", "u"), wh.table_exists("raw", "w")) == (False, True)
    wh.execute("create view raw.v as select * from raw.t")
    assert wh.relations() == {"raw.t": "TABLE", "raw.w": "TABLE", "raw.v": "VIEW"}
    wh.execute("drop view raw.v")
    assert not wh.table_exists("raw", "v")
    with pytest.raises(RuntimeError), wh.transaction():
        wh.execute("create table raw.x (a int)")
        assert wh.table_exists("raw", "x")
        raise RuntimeError("undo it")
    assert not wh.table_exists("raw", "x")
    wh.create_temp_table("scratch", "select 1 as a")
    assert wh.table_exists("main", "scratch") and "main.scratch" not in wh.relations()


def test_recorded_files_are_read_once_and_again_after_each_write(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from greenery_cli.sources.fingerprints import FileStat, forget, recorded_files, remember

    export = tmp_path / "a.csv"
    export.write_text("x\n1\n")
    stat = FileStat.of(tmp_path, export)
    now = datetime.now(UTC)
    with open_warehouse(tmp_path / "w.duckdb", write=True) as wh:
        assert recorded_files(wh, "raw.a") == {}
        remember(wh, "raw.a", "here", stat, "abc", 1, 1, now)
        assert [(f.name, f.sha256) for f in recorded_files(wh, "raw.a").values()] == [
            ("a.csv", "abc")
        ]
        assert recorded_files(wh, "raw.b") == {}
        remember(wh, "raw.a", "here", stat, "def", 1, 2, now)  # replaces the record
        assert recorded_files(wh, "raw.a")["a.csv"].sha256 == "def"
        with pytest.raises(RuntimeError), wh.transaction():
            forget(wh, "raw.a")
            assert recorded_files(wh, "raw.a") == {}
            raise RuntimeError("undo it")
        assert recorded_files(wh, "raw.a")["a.csv"].sha256 == "def"  # rolled back
        forget(wh, "raw.a")
        assert recorded_files(wh, "raw.a") == {}
