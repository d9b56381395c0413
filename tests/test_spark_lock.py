"""The writer lock on Spark (engines/spark/lock.py): one writer at a time per server, --wait as on
DuckDB (exit 3), a dead holder's lock taken over.

Fast: through the stand-in engine, whose markers are DuckDB tables (a second CREATE refused as
Spark's catalogue refuses a second view). Slow: two sessions on the test run's Spark Connect
server, whose catalogue is what makes the lock atomic.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from spark_stand_in import STAND_IN, BuildingStandIn
from tiny_project import make_project, make_warehouse

from greenery_cli.errors import ExitCode, WarehouseBusy

pytest.importorskip("sqlglot", reason="the spark extra is not installed")

from greenery_cli.engines.spark.lock import LOCK, STALE_AFTER, writer_lock  # noqa: E402


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _held_by(engine: Any, holder: str, since: datetime) -> None:
    assert engine.create_marker(
        LOCK, {"greenery.holder": holder, "greenery.since": since.isoformat()}
    )


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_stand_in: dict[str, Path]) -> Path:
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    on_stand_in["db"] = db
    return db


def _markers(db: Path) -> dict[str, str] | None:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, write=True) as wh:
        return BuildingStandIn(wh).marker(LOCK)


def test_a_writer_waits_for_a_live_holder_then_exits_busy(tiny: Path) -> None:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(tiny, write=True) as wh:
        engine = BuildingStandIn(wh)
        _held_by(engine, f"{socket.gethostname()}:1", datetime.now(UTC))  # pid 1 never ends
    result = run_cli("--engine", STAND_IN, "build", "--select", "stg_products", "--wait", "0.3")
    assert result.exit_code == ExitCode.BUSY, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"engine {STAND_IN} is busy: another greenery process ({socket.gethostname()}:1" in line
    assert "(waited 0.3s; see --wait)" in line
    held = _markers(tiny)  # still theirs: a busy writer takes nothing
    assert held is not None and held["greenery.holder"] == f"{socket.gethostname()}:1"


def test_a_dead_holders_lock_is_taken_over_and_given_up_after(tiny: Path) -> None:
    from greenery_cli.warehouse import open_warehouse

    pid = _dead_pid()
    with open_warehouse(tiny, write=True) as wh:
        _held_by(BuildingStandIn(wh), f"{socket.gethostname()}:{pid}", datetime.now(UTC))
    result = run_cli("--engine", STAND_IN, "build", "--select", "stg_products", "--wait", "0")
    assert result.exit_code == 0, result.stderr
    assert f"took over the writer lock of {STAND_IN} from" in result.stderr
    assert f"its process {pid} on this machine is gone" in result.stderr
    assert _markers(tiny) is None  # given up when the run ended
    failing = run_cli("--engine", STAND_IN, "build", "--select", "nope")
    assert failing.exit_code == ExitCode.TOOL_ERROR and _markers(tiny) is None


@pytest.mark.parametrize(
    ("age", "taken"), [(STALE_AFTER + timedelta(minutes=1), True), (timedelta(hours=1), False)]
)
def test_a_holder_elsewhere_is_stale_only_after_longer_than_any_run(
    tiny: Path, age: timedelta, taken: bool
) -> None:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(tiny, write=True) as wh:
        engine = BuildingStandIn(wh)
        _held_by(engine, "another-host:4242", datetime.now(UTC) - age)
        if taken:
            with writer_lock(engine, wait=0):
                held = engine.marker(LOCK)
                assert held is not None and held["greenery.holder"].endswith(f":{os.getpid()}")
            assert engine.marker(LOCK) is None
        else:
            with pytest.raises(WarehouseBusy, match=r"another-host:4242 since"):
                with writer_lock(engine, wait=0):
                    pass
            assert engine.marker(LOCK) is not None


def test_the_lock_is_reentrant_within_a_process(tiny: Path) -> None:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(tiny, write=True) as wh:
        engine = BuildingStandIn(wh)
        with writer_lock(engine, wait=0):
            with writer_lock(engine, wait=0):
                assert engine.marker(LOCK) is not None
            assert engine.marker(LOCK) is not None  # the outer hold goes on
        assert engine.marker(LOCK) is None


@pytest.mark.slow
def test_two_sessions_on_a_spark_server_take_turns(spark_server: Any) -> None:
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.url import parse_engine

    spec = parse_engine(spark_server.url)
    with connect(spec) as first, connect(spec) as second:
        second.drop_marker(LOCK)
        with writer_lock(first, wait=0):
            assert first.marker(LOCK) is not None
            with pytest.raises(WarehouseBusy, match=r"is busy: another greenery process \("):
                with writer_lock(second, wait=1):
                    pass
        with writer_lock(second, wait=0):  # given up: the other takes it at once
            held = second.marker(LOCK)
            assert held is not None and held["greenery.holder"].endswith(f":{os.getpid()}")
        assert first.marker(LOCK) is None
        _held_by(first, f"{socket.gethostname()}:{_dead_pid()}", datetime.now(UTC))
        with writer_lock(second, wait=0):  # a dead holder's, taken over
            pass
        assert second.marker(LOCK) is None


@pytest.mark.parametrize(
    "args", [("snapshot",), ("snapshot", "--dry-run"), ("snapshot", "revert")], ids=" ".join
)
def test_a_snapshot_waits_for_the_lock_from_its_first_read(tiny: Path, args: tuple[str]) -> None:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(tiny, write=True) as wh:
        _held_by(BuildingStandIn(wh), f"{socket.gethostname()}:1", datetime.now(UTC))
    result = run_cli("--engine", STAND_IN, *args, "--wait", "0.2")
    assert result.exit_code == ExitCode.BUSY, result.stderr
    assert "is busy: another greenery process" in result.stderr


def test_a_lock_that_cannot_be_read_is_waited_for_within_the_wait(tiny: Path) -> None:
    """The lock exists but its holder cannot be read (given up and taken again between the
    two calls, every time): the writer still stops at --wait."""
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(tiny, write=True) as wh:
        engine = BuildingStandIn(wh)
        _held_by(engine, "another-host:1", datetime.now(UTC))
        asked: list[str] = []
        engine.marker = lambda relation: asked.append(relation)  # type: ignore[method-assign]
        with pytest.raises(WarehouseBusy, match="keep taking its writer lock"):
            with writer_lock(engine, wait=0.3):
                pass
        assert 1 <= len(asked) <= 10  # it paused between tries: 0.3 s of 0.05 s pauses
