"""Ctrl-C (SIGINT, exit 130) and SIGTERM (exit 143) stop a command cleanly: one line saying
nothing was changed, no traceback, the warehouse or the generated folder as it was, no partial
files. And a full disk is one line naming where greenery was writing (exit 2)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]


def fingerprint(db: Path) -> dict[str, tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            name: con.execute(
                f"select count(*), sum(hash(r)::hugeint) from (select * from {name}) as r"
            ).fetchone()
            for (name,) in tables
        }


def greenery(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "greenery_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt_when(
    process: subprocess.Popen[str], started: Callable[[], bool], signum: int, delay: float
) -> tuple[int, str, str]:
    """Send `signum` `delay` seconds after `started()` holds (the work has begun)."""
    while not started() and process.poll() is None:
        time.sleep(0.005)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def assert_interrupted(code: int, expected: int, out: str, err: str) -> None:
    assert code == expected, (code, err)
    assert out == ""
    assert err.strip().splitlines()[-1] == "error: interrupted; nothing was changed", err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def locked_by(db: Path, pid: int) -> bool:
    try:
        return db.with_name(db.name + ".lock").read_text().strip() == str(pid)
    except FileNotFoundError:
        return False


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".work-" in p.name)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenery_cli.generate import GenerateSettings, generate

    root = tmp_path_factory.mktemp("shop")
    generate(GenerateSettings(out=root, seed=3, scale=30))
    return root / "raw"


@pytest.fixture(scope="module")
def loaded(shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenery_cli.load import LoadSettings, load

    db = tmp_path_factory.mktemp("loaded") / "w.duckdb"
    load(LoadSettings(db=db, source=str(shop)))
    return db


@pytest.mark.parametrize(
    "extra", [(), ("--full-refresh",)], ids=["nothing changed, in place", "a copy"]
)
@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_load_changes_nothing(
    signum: int, code: int, extra: tuple[str, ...], shop: Path, loaded: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(loaded, db)
    before = fingerprint(db)
    load = greenery("--db", str(db), "load", "--source", str(shop), *extra)
    # a load with nothing to change can be over within 0.1 s of taking the lock on a quiet
    # machine: signal it as soon as it holds the lock
    result = interrupt_when(load, lambda: locked_by(db, load.pid), signum, 0.5 if extra else 0.0)
    assert_interrupted(*result[:1], code, *result[1:])
    assert fingerprint(db) == before  # the run log too: an interrupted run is not kept
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_snapshot_changes_nothing(signum: int, code: int, tmp_path: Path) -> None:
    source = tmp_path / "exports"
    source.mkdir()
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'p' || i as product_id, 'Plant ' || i as name, 1.5 as price, "
            f"(i % 40)::int as inventory from range(300000) t(i)) to '{source / 'products.csv'}'"
        )
    db = tmp_path / "w.duckdb"
    first = run_cli(
        "--db", str(db), "snapshot", "--source", str(source), "--at", "2024-01-01T00:00:00Z"
    )
    assert first.exit_code == 0, first.stderr
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'p' || i as product_id, 'Plant ' || i as name, 1.5 as price, "
            f"(i % 41)::int as inventory from range(300000) t(i)) to '{source / 'products.csv'}'"
        )
    before = fingerprint(db)
    run = greenery("--db", str(db), "snapshot", "--at", "2024-01-08T00:00:00Z")
    result = interrupt_when(run, lambda: locked_by(db, run.pid), signum, 0.5)
    assert_interrupted(*result[:1], code, *result[1:])
    assert fingerprint(db) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_generate_leaves_no_partial_files(
    signum: int, code: int, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    run = greenery("generate", str(fresh), "--scale", "60")
    started = lambda: fresh.is_dir() and any(fresh.glob(".generate-*"))  # noqa: E731
    result = interrupt_when(run, started, signum, 0.5)
    assert_interrupted(*result[:1], code, *result[1:])
    assert not fresh.exists()  # the folder it made is gone with it
    # over an earlier sample: the earlier files stay exactly as they were
    kept = tmp_path / "kept"
    assert run_cli("generate", str(kept), "--scale", "1").exit_code == 0
    files = {p: p.read_bytes() for p in kept.rglob("*") if p.is_file()}
    run = greenery("generate", str(kept), "--scale", "60", "--seed", "5")
    result = interrupt_when(run, lambda: any(kept.glob(".generate-*")), signum, 0.5)
    assert_interrupted(*result[:1], code, *result[1:])
    assert {p: p.read_bytes() for p in kept.rglob("*") if p.is_file()} == files


# --- a full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 40 MB tmpfs (root can mount one), else skip: the test needs a real full device."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Fill the device so that about `leave` bytes stay free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with (folder / "filler").open("wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave
        while remaining > 0:
            handle.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)


@pytest.mark.parametrize("room", ["no room for the copy", "no room for the work"])
def test_a_full_disk_is_one_line_naming_the_warehouse(
    small_disk: Path, loaded_real_warehouse: Path, real_data: Path, room: str
) -> None:
    db = small_disk / "w.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    before = fingerprint(db)
    size = db.stat().st_size
    fill(small_disk, size // 2 if room == "no room for the copy" else size + (1 << 20))
    # --full-refresh: a load with nothing to change would write its few rows in place, no copy
    result = run_cli("--db", str(db), "load", "--source", str(real_data / "raw"), "--full-refresh")
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"error: no space left on the device writing warehouse {db}")
    after = fingerprint(db)
    if after != before:  # the failure is logged when there was room to, nothing else
        assert {k for k in after if after[k] != before[k]} == {"meta.runs"}
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute(
                "select status, message ilike '%no space left on%device%' from meta.runs "
                "order by run_id desc limit 1"
            ).fetchone() == ("error", True)
    assert [p.name for p in small_disk.iterdir() if ".work-" in p.name] == []
    (small_disk / "filler").unlink()
    again = run_cli("--db", str(db), "load", "--source", str(real_data / "raw"), "--full-refresh")
    assert again.exit_code == 0, again.stderr  # with room again, the same load works


def test_a_full_disk_during_generate_is_named(small_disk: Path) -> None:
    fill(small_disk, 2 << 20)
    out = small_disk / "sample"
    result = run_cli("generate", str(out), "--scale", "20")
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on the device writing" in lines[0], result.stderr
    assert not out.exists()
