"""The hand-written contender: bench/handwritten/job.py as a whole Python process (start-up and
`import duckdb` included), running the hand-written SQL of bench/handwritten/."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import Plan, Step, shown

JOB = Path(__file__).resolve().parent.parent / "handwritten" / "job.py"
MEMORY_LIMIT_ENV = "BENCH_DUCKDB_MEMORY_LIMIT"  # read by job.py


def write_contract(path: Path) -> Path:
    """The raw contract (table -> column -> type) of the shop's project, for the job to read."""
    from greenery_cli.project import builtin_root, read_project

    tables = read_project(builtin_root()).sources
    path.write_text(json.dumps({t.name: t.columns for t in tables}, indent=1))
    return path


class HandWritten:
    def __init__(
        self,
        contract: Path,
        cwd: Path,
        python: str = sys.executable,
        memory_limit: str | None = None,
    ) -> None:
        """memory_limit: DuckDB's, set by the job on connecting; None: DuckDB's default."""
        self.contract = contract
        self.cwd = cwd
        self.python = python
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GREENERY_") and k != MEMORY_LIMIT_ENV
        }
        if memory_limit:
            self.env[MEMORY_LIMIT_ENV] = memory_limit

    def step(self, task: str, db: Path, *args: str, python: str | None = None) -> Step:
        argv = (python or self.python, str(JOB), task, str(db), *args)
        return Step(argv, self.env, self.cwd)

    def load(self, db: Path, source: Path) -> Step:
        return self.step("load", db, str(self.contract), str(source))

    def snapshot(self, db: Path, products: Path, at: str) -> Step:
        return self.step("snapshot", db, str(self.contract), str(products), at)

    def funnel_from_files(self, db: Path, source: Path) -> Step:
        return self.step("funnel-from-files", db, str(self.contract), str(source))

    def sql(self, db: Path, select: str, python: str | None = None) -> Step:
        return self.step("sql", db, select, python=python)

    def query_plan(
        self,
        db: Path,
        names: tuple[str, ...],
        answer: Callable[[dict[str, list[list[Any]]]], object],
        setup: Callable[[], object] | None = None,
    ) -> Plan:
        """Hand-written questions (bench/handwritten/NAME.sql) read-only; answer from their rows."""
        step = self.step("query", db, *names)
        return Plan((step,), lambda out: answer(json.loads(out)), shown(step), setup)
