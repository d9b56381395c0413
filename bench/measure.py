"""Measurement: every contender's run is whole child processes, interleaved within each repeat.

A contender's part in a work item is a `Plan`: an untimed set-up, one or more commands run one
after the other (their wall and CPU times add up; peak RSS is the largest), and how to read the
answer from the last command's stdout (or from what the commands wrote). `interleave` runs every
contender once per repeat, in an order that rotates from repeat to repeat, and checks each run's
answer against the reference answer: a mismatch stops the benchmark (`AnswerMismatch`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

LAUNCH = Path(__file__).resolve().parent / "launch.py"


@dataclass(frozen=True)
class Step:
    """One child process: its argv, its whole environment (None: this process's), its cwd."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None


@dataclass(frozen=True)
class Plan:
    """What one contender does in one run of a work item."""

    steps: tuple[Step, ...]
    answer: Callable[[str], object]  # the last step's stdout -> a comparable answer
    shown: str  # the commands as BENCHMARKS.md shows them
    setup: Callable[[], object] | None = None  # untimed, before every run


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass
class Outcome:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    answer: object = None  # the reference answer every run matched


class CommandFailed(RuntimeError):
    pass


class AnswerMismatch(RuntimeError):
    pass


def run_step(step: Step, scratch: Path) -> tuple[Sample, str]:
    """Run one command through the launcher: its figures and its stdout (stderr on failure)."""
    figures, out, err = scratch / "figures.json", scratch / "stdout", scratch / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        subprocess.run(
            [sys.executable, "-I", "-S", str(LAUNCH), str(figures), *step.argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(step.env) if step.env is not None else None,
            cwd=step.cwd,
            check=False,
        )
    result = json.loads(figures.read_text()) if figures.exists() else {"exit": -1}
    figures.unlink(missing_ok=True)
    if result["exit"] != 0:
        tail = err.read_text(errors="replace")[-3000:]
        raise CommandFailed(f"`{' '.join(step.argv)}` exited {result['exit']}:\n{tail}")
    return Sample(result["wall"], result["cpu"], result["rss_mb"]), out.read_text(errors="replace")


def run_plan(plan: Plan, scratch: Path) -> tuple[Sample, object]:
    """One timed run of a contender (after its untimed set-up): figures and answer."""
    if plan.setup is not None:
        plan.setup()
    wall = cpu = rss = 0.0
    stdout = ""
    for step in plan.steps:
        sample, stdout = run_step(step, scratch)
        wall, cpu, rss = wall + sample.wall, cpu + sample.cpu, max(rss, sample.rss_mb)
    # through JSON, so that tuples and lists, or int and str keys, compare as they read
    answer = json.loads(json.dumps(plan.answer(stdout), default=str))
    return Sample(wall, cpu, rss), answer


def difference(expected: object, got: object) -> str:
    """Where two answers differ, shortly: the first keys or positions that differ."""
    if isinstance(expected, dict) and isinstance(got, dict):
        keys = [k for k in {**expected, **got} if expected.get(k, "-") != got.get(k, "-")]
        lines = [
            f"  {k}: expected {describe(expected.get(k, '(none)'), 200)}, "
            f"got {describe(got.get(k, '(none)'), 200)}"
            for k in keys[:5]
        ]
        more = f"\n  ... and {len(keys) - 5} more" if len(keys) > 5 else ""
        return "\n".join(lines) + more
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        at = next(i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b)
        return f"  at position {at}: expected {describe(expected[at])}, got {describe(got[at])}"
    return f"  expected {describe(expected)}\n  got      {describe(got)}"


def describe(answer: object, limit: int = 300) -> str:
    text = json.dumps(answer, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " ..."


def interleave(
    what: str,
    plans: Mapping[str, Plan],
    repeat: int,
    expected: object = None,
    reference: str = "greenery",
    warmup: int = 0,
) -> Outcome:
    """Run every plan `warmup` (untimed) plus `repeat` times, interleaved, checking answers.

    The reference answer is `expected` when given (worked out independently of the contenders),
    else the first answer of the `reference` contender (or of the first plan)."""
    names = list(plans)
    if reference in names:  # the reference answers first
        names.remove(reference)
        names.insert(0, reference)
    outcome = Outcome({name: [] for name in names}, expected)
    with tempfile.TemporaryDirectory(prefix="greenery-bench-run-") as folder:
        scratch = Path(folder)
        for round_no in range(warmup + repeat):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                sample, answer = run_plan(plans[name], scratch)
                if outcome.answer is None:
                    outcome.answer = answer
                elif answer != outcome.answer:
                    raise AnswerMismatch(
                        f"{what}: {name} answered differently from "
                        f"{'the expected answer' if expected is not None else names[0]}:\n"
                        + difference(outcome.answer, answer)
                    )
                if round_no >= warmup:
                    outcome.samples[name].append(sample)
    return outcome


def shown(*steps: Step) -> str:
    """The commands as a person would type them (each executable by its name)."""
    return " && ".join(" ".join([Path(s.argv[0]).name, *s.argv[1:]]) for s in steps)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_untimed(step: Step) -> str:
    """A preparation command (not measured): its stdout; fails loudly."""
    done = subprocess.run(
        step.argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(step.env) if step.env is not None else None,
        cwd=step.cwd,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(
            f"`{' '.join(step.argv)}` exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done.stdout
