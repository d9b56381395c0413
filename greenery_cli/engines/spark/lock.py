"""The writer lock on Spark: one greenery writer at a time per server, as on DuckDB.

A DuckDB warehouse has a lock file; a Spark server has its catalogue, whose CREATE VIEW (without
OR REPLACE) either makes the view or fails because it exists, at once for every client of the
server. So a writer holds the lock by creating the view `meta.greenery_writer` (no data, no
folder: a view has no location), with who holds it and since when in its properties, and gives
it up by dropping it. A writer that finds it waits up to `--wait` seconds (exit 3 after, as on
DuckDB). A holder that died without dropping it (killed, its machine gone) is recognised as
such when it ran on this machine and its process is gone, or when it has held the lock longer
than STALE_AFTER (longer than any run): the lock is then taken over, saying so on stderr.

Readers take no lock: a question reads tables a writer replaces by a rename or a view swap.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from greenery_cli.engines.spark.engine import SparkEngine
from greenery_cli.errors import WarehouseBusy

LOCK = "meta.greenery_writer"
STALE_AFTER = timedelta(hours=12)
POLL_SECONDS = 0.5
DEFAULT_WAIT = 10.0
_HELD: dict[int, int] = {}  # id(engine) -> how many times this process holds it (nested runs)


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder(engine: SparkEngine) -> tuple[str, datetime | None] | None:
    """(holder, since) of the lock as its properties say, or None when nobody holds it."""
    props = engine.marker(LOCK)
    if props is None:
        return None
    since = props.get("greenery.since")
    try:
        moment = datetime.fromisoformat(since) if since else None
    except ValueError:
        moment = None
    return props.get("greenery.holder", "unknown"), moment


def _dead(holder: str, since: datetime | None, now: datetime) -> str | None:
    """Why the holder cannot be writing any more, or None while it may be."""
    host, _, pid = holder.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return f"its process {pid} on this machine is gone"
        except PermissionError:
            pass  # alive, another user's
    if since is not None and now - since > STALE_AFTER:
        return f"it has held the lock since {since.isoformat()}, longer than any run"
    return None


def _try_create(engine: SparkEngine) -> bool:
    """Create the lock; False when another holds it."""
    since = datetime.now(UTC).isoformat(timespec="seconds")
    return engine.create_marker(LOCK, {"greenery.holder": _me(), "greenery.since": since})


@contextmanager
def writer_lock(engine: SparkEngine, wait: float = DEFAULT_WAIT) -> Iterator[None]:
    """Hold the server's writer lock for the block (re-entrant within this process)."""
    key = id(engine)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    deadline = time.monotonic() + max(wait, 0.0)
    engine.execute("create schema if not exists meta")
    while not _try_create(engine):
        found = _holder(engine)
        if found is None:  # given up between the two calls: try again, within the wait
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"engine {engine.path} is busy: other greenery processes keep taking its "
                    f"writer lock (waited {wait:g}s; see --wait)"
                )
            time.sleep(POLL_SECONDS / 10)
            continue
        holder, since = found
        why = _dead(holder, since, datetime.now(UTC))
        if why is not None:
            from greenery_cli.output import stderr_console

            stderr_console().print(
                f"note: took over the writer lock of {engine.path} from {holder}: {why}",
                markup=False,
            )
            engine.drop_marker(LOCK)
            continue
        if time.monotonic() >= deadline:
            shown = f" since {since.isoformat()}" if since else ""
            raise WarehouseBusy(
                f"engine {engine.path} is busy: another greenery process ({holder}{shown}) is "
                f"writing to it (waited {wait:g}s; see --wait)"
            )
        time.sleep(POLL_SECONDS)
    _HELD[key] = 1
    try:
        yield
    finally:
        _HELD.pop(key, None)
        try:
            found = _holder(engine)
            if found is not None and found[0] == _me():
                engine.drop_marker(LOCK)
        except Exception:  # the server gone: the lock goes with it, or is taken over as stale
            from greenery_cli.output import stderr_console

            stderr_console().print(
                f"note: could not give up the writer lock of {engine.path}; the next writer "
                "takes it over once this process has ended",
                markup=False,
            )
