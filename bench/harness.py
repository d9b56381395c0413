"""Timing and memory of commands run as child processes: median/min/max wall time, peak RSS.

Also CPU time (user + system, every thread), which a machine shared with other jobs disturbs
far less than wall time, and in-process timing of hand-written baselines, interleaved with the
command's runs so both meet the same load."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Setup = Sequence[str] | Callable[[], object] | None


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: list[float]
    peak_rss_mb: float
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else float("nan")


TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time: a small parent for the command


def run_once(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MB) and CPU seconds of one child process; fails loudly.

    Linux carries a process's peak RSS across fork and exec, so a child of this (large) process
    would report at least this process's size; the command is started through GNU time, whose
    own size is a few MB, and its %M is the command's peak RSS. Without GNU time, ru_maxrss."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        wrapped = [TIME, "-f", "%M %U %S", "-o", report.name, *argv] if TIME else list(argv)
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        stderr = process.stderr.read().decode() if process.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{stderr[-2000:]}")
        lines = report.read().strip().splitlines() if TIME else []
    fields = lines[-1].split() if lines else []
    if len(fields) == 3:
        kib, cpu = float(fields[0]), float(fields[1]) + float(fields[2])
    else:
        kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    return elapsed, kib / 1024, cpu  # KiB on Linux


def _set_up(setup: Setup, env: dict[str, str] | None) -> None:
    if callable(setup):
        setup()
    elif setup:
        run_once(setup, env)


def _time_inprocess(work: Callable[[], object]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


def measure(
    name: str,
    argv: Sequence[str],
    repeat: int,
    setup: Setup = None,
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run `argv` `repeat` times (after `setup` each time, untimed: a command or a callable)."""
    seconds, peaks, cpu = [], [], []
    for _ in range(repeat):
        _set_up(setup, env)
        elapsed, peak, used = run_once(argv, env)
        seconds.append(elapsed)
        peaks.append(peak)
        cpu.append(used)
    return Measurement(name, seconds, max(peaks), cpu)


def measure_inprocess(
    name: str,
    work: Callable[[], object],
    repeat: int,
    setup: Callable[[], object] | None = None,
) -> Measurement:
    """Time `work()` in this process `repeat` times (after `setup()` each time, untimed).

    Peak RSS is not attributable to one call in-process, so it is reported as NaN."""
    seconds, cpu = [], []
    for _ in range(repeat):
        _set_up(setup, None)
        elapsed, used = _time_inprocess(work)
        seconds.append(elapsed)
        cpu.append(used)
    return Measurement(name, seconds, float("nan"), cpu)


def measure_pair(
    name: str,
    argv: Sequence[str],
    work: Callable[[], object],
    repeat: int,
    setup: Setup = None,
    work_setup: Callable[[], object] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Measurement, Measurement]:
    """The command and its in-process baseline, alternately: each run of one is next to a run
    of the other, so a burst of load from other jobs falls on both."""
    command: list[tuple[float, float, float]] = []
    baseline: list[tuple[float, float]] = []
    for _ in range(repeat):
        _set_up(setup, env)
        command.append(run_once(argv, env))
        _set_up(work_setup, None)
        baseline.append(_time_inprocess(work))
    return (
        Measurement(
            name, [c[0] for c in command], max(c[1] for c in command), [c[2] for c in command]
        ),
        Measurement(name, [b[0] for b in baseline], float("nan"), [b[1] for b in baseline]),
    )


def python_snippet(code: str) -> list[str]:
    """A hand-written DuckDB job as a child process, so its memory is measured the same way."""
    return [sys.executable, "-c", code]
