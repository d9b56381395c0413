"""The results file (bench/results.json): every measured row with its raw samples, and the runs
(command, machine, load) that produced them. Rows measured now replace the same (dataset, item)
rows of earlier runs, so large scales can be measured on their own and shown in one table."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figures:
    """One contender's runs of one work item: wall and CPU seconds and peak RSS (MB) per run."""

    command: str
    wall: list[float]
    cpu: list[float]
    rss_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def peak_rss(self) -> float:
        return max(self.rss_mb)


@dataclass
class Row:
    dataset: str
    item: str  # the work item's key
    title: str
    run: int  # index into the runs
    contenders: dict[str, Figures] = field(default_factory=dict)
    answer: str = ""  # the answer every run matched, shortened
    skipped: str = ""  # why the item did not run
    load: list[float] = field(default_factory=list)  # 1-minute load average before and after
    took_s: float = 0.0  # the item's whole time in the benchmark, preparation included

    @staticmethod
    def from_json(data: dict[str, Any]) -> Row:
        figures = {k: Figures(**v) for k, v in data.pop("contenders").items()}
        return Row(contenders=figures, **data)


def ratio(a: Figures, b: Figures) -> float:
    return a.median / b.median if b.median > 0 else math.nan


def cpu_ratio(a: Figures, b: Figures) -> float:
    return a.cpu_median / b.cpu_median if b.cpu_median > 0 else math.nan


def seconds(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def read(path: Path) -> Results:
        if not path.exists():
            return Results()
        data = json.loads(path.read_text())
        if "rows" in data and data["rows"] and "contenders" not in data["rows"][0]:
            return Results()  # the earlier format (in-process baselines): not comparable
        return Results([Row.from_json(r) for r in data["rows"]], data["runs"])

    def merge(self, rows: list[Row], run: dict[str, Any]) -> None:
        """Add this run's rows, replacing earlier rows of the same dataset and item."""
        fresh = {(r.dataset, r.item) for r in rows}
        kept = [r for r in self.rows if (r.dataset, r.item) not in fresh]
        runs = sorted({r.run for r in kept})
        renumber = {old: new for new, old in enumerate(runs)}
        for row in kept:
            row.run = renumber[row.run]
        self.runs = [self.runs[old] for old in runs] + [run]
        for row in rows:
            row.run = len(self.runs) - 1
        self.rows = kept + rows

    def write(self, path: Path) -> None:
        data = {"rows": [asdict(r) for r in self.rows], "runs": self.runs}
        path.write_text(json.dumps(data, indent=1) + "\n")
