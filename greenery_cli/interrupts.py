"""Ctrl-C and SIGTERM: stop at once, clean up, and say whether anything was changed.

The CLI installs one handler for both signals. It raises `Interrupted` (a KeyboardInterrupt,
so every `finally` and rollback runs) in the main thread; a watcher thread woken through
signal.set_wakeup_fd interrupts the DuckDB connections greenery opened, because a running
query holds the main thread until it returns. Critical sections (moving files into place)
defer the signal to their end so they are never cut in half.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The process got SIGINT or SIGTERM; its exit code is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_connections: weakref.WeakSet[Any] = weakref.WeakSet()
_changed: list[str] = []
_state = {"deferred": 0, "pending": 0, "raised": 0}


def register(connection: Any) -> None:
    """A DuckDB connection to interrupt when a signal arrives."""
    _connections.add(connection)


def changed(what: str) -> None:
    """Record that `what` (a file, a folder) now holds this run's result."""
    _changed.append(what)


def changes() -> tuple[str, ...]:
    return tuple(_changed)


def received() -> int:
    """The signal this command got (0: none)."""
    return _state["raised"] or _state["pending"]


def message() -> str:
    """What the user is told: nothing changed, or what had already been written."""
    if not _changed:
        return "interrupted; nothing was changed"
    return f"interrupted; {', '.join(dict.fromkeys(_changed))} had already been written"


def _handler(signum: int, _frame: Any) -> None:
    if _state["deferred"]:
        _state["pending"] = signum
        return
    if _state["raised"]:
        return  # cleaning up after the first signal: let it finish
    _state["raised"] = signum
    raise Interrupted(signum)


def _watch(read_fd: int) -> None:
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        if _state["deferred"]:
            continue
        for connection in list(_connections):
            try:
                connection.interrupt()
            except Exception:  # noqa: BLE001, S112 - closed connections cannot be interrupted
                continue


_pipe: list[int] = []  # the wakeup pipe's write end, made once per process


@contextmanager
def handling() -> Iterator[None]:
    """Handle SIGINT and SIGTERM while the block runs (the CLI wraps each command in it);
    the previous handlers come back afterwards. Outside the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _pipe:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        threading.Thread(
            target=_watch, args=(read_fd,), name="greenery-interrupts", daemon=True
        ).start()
        _pipe.append(write_fd)
    if not isinstance(sys.unraisablehook, _QuietAfterSignal):
        sys.unraisablehook = _QuietAfterSignal(sys.unraisablehook)
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    previous_fd = signal.set_wakeup_fd(_pipe[0], warn_on_full_buffer=False)
    _changed.clear()
    _state.update(deferred=0, pending=0, raised=0)
    for signum in HANDLED:
        signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)


class _QuietAfterSignal:
    """After a signal, cleanups it cut short (a generator closed on a dead connection, say)
    may fail as Python collects them; that is expected, so no 'Exception ignored' traceback."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, unraisable: Any) -> None:
        if received() and not os.environ.get("GREENERY_DEBUG"):
            return
        self.previous(unraisable)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, so the block is never cut in half."""
    _state["deferred"] += 1
    try:
        yield
    finally:
        _state["deferred"] -= 1
    pending = _state["pending"]
    if pending and not _state["deferred"]:
        _state["pending"] = 0
        _state["raised"] = pending
        raise Interrupted(pending)
