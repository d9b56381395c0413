"""Timing and memory of commands run as child processes: median/min/max wall time, peak RSS."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: list[float]
    peak_rss_mb: float

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)


TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time: a small parent for the command


def run_once(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process; fails loudly.

    Linux carries a process's peak RSS across fork and exec, so a child of this (large) process
    would report at least this process's size; the command is started through GNU time, whose
    own size is a few MB, and its %M is the command's peak RSS. Without GNU time, ru_maxrss."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [TIME, "-f", "%M", "-o", rss.name, *argv] if TIME else list(argv)
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        stderr = process.stderr.read().decode() if process.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{stderr[-2000:]}")
        reported = rss.read().strip().splitlines() if TIME else []
    kib = float(reported[-1]) if reported and reported[-1].isdigit() else usage.ru_maxrss
    return elapsed, kib / 1024  # KiB on Linux


def measure(
    name: str,
    argv: Sequence[str],
    repeat: int,
    setup: Sequence[str] | Callable[[], object] | None = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run `argv` `repeat` times (after `setup` each time, untimed: a command or a callable)."""
    seconds, peaks = [], []
    for _ in range(repeat):
        if callable(setup):
            setup()
        elif setup:
            run_once(setup, env)
        elapsed, peak = run_once(argv, env)
        seconds.append(elapsed)
        peaks.append(peak)
    return Measurement(name, seconds, max(peaks))


def python_snippet(code: str) -> list[str]:
    """A hand-written DuckDB job as a child process, so its memory is measured the same way."""
    return [sys.executable, "-c", code]


def measure_inprocess(
    name: str,
    work: Callable[[], object],
    repeat: int,
    setup: Callable[[], object] | None = None,
) -> Measurement:
    """Time `work()` in this process `repeat` times (after `setup()` each time, untimed).

    Peak RSS is not attributable to one call in-process, so it is reported as NaN."""
    seconds = []
    for _ in range(repeat):
        if setup:
            setup()
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return Measurement(name, seconds, float("nan"))
