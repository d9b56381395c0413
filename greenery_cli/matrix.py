"""The update-frequency matrix: each model, the snapshot and the source loads sit in one cell.

A cell is (frequency, business line) and becomes one scheduled task. The matrix is the seed
seeds/schedule.csv; it is validated whenever it is read and whenever seeds are loaded.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from greenery_cli.errors import DataError, UsageError
from greenery_cli.project import current
from greenery_cli.resources import seeds_dir

if TYPE_CHECKING:
    from greenery_cli.models import Model
    from greenery_cli.seeds import Seed

SEED_NAME = "schedule"
COLUMNS = ("node", "node_type", "business_line", "frequency")
NODE_TYPES = ("model", "snapshot", "source")
BUSINESS_LINES = ("Core", "Logistics", "Marketing", "Product")
SNAPSHOTS = ("products_snapshot",)


class Frequency(NamedTuple):
    name: str
    period: timedelta  # the longest gap between two scheduled runs
    cron_hours_and_days: str  # the 4 cron fields after the minute

    @property
    def allowed_age(self) -> timedelta:
        """Overdue past period + half a period: one missed run shows before the next is due."""
        return self.period * 1.5


# Standard 5-field cron (minute hour day-of-month month day-of-week), in the cron daemon's
# local time; the minute is staggered per cell (see cron_minute).
FREQUENCIES: dict[str, Frequency] = {
    f.name: f
    for f in (
        Frequency("hourly", timedelta(hours=1), "* * * *"),  # every hour
        Frequency("every_4_hours", timedelta(hours=4), "*/4 * * *"),  # 00, 04, 08, 12, 16, 20h
        Frequency("daily", timedelta(days=1), "2 * * *"),  # 02h every night
        Frequency("weekly", timedelta(days=7), "3 * * 1"),  # 03h on Mondays
        Frequency("monthly", timedelta(days=31), "4 1 * *"),  # 04h on the 1st
    )
}


class Node(NamedTuple):
    """One row of the matrix; `line` is its line in the seed file (for error messages)."""

    node: str
    node_type: str
    business_line: str
    frequency: str
    line: int = 0

    @property
    def cell(self) -> tuple[str, str]:
        return (self.frequency, self.business_line)


def cell_name(frequency: str, business_line: str) -> str:
    return f"{frequency}/{business_line}"


def cron_minute(frequency: str, business_line: str) -> int:
    """A fixed minute per cell of the whole grid (3 minutes apart), so no two cells coincide
    and adding a cell never moves another."""
    position = list(FREQUENCIES).index(frequency) * len(BUSINESS_LINES)
    return 3 * (position + BUSINESS_LINES.index(business_line))


def cron_expression(frequency: str, business_line: str) -> str:
    return f"{cron_minute(frequency, business_line)} {FREQUENCIES[frequency].cron_hours_and_days}"


def matrix_path(folder: Path | None = None) -> Path:
    return (folder or seeds_dir()) / f"{SEED_NAME}.csv"


def read_matrix(path: Path) -> list[Node]:
    """The matrix rows as written, with their line numbers (not yet validated)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(
            f"{path} is missing: the update-frequency matrix declares each model's "
            f"cell there ({', '.join(COLUMNS)})"
        ) from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if tuple(header) != COLUMNS:
            raise DataError(f"{path} line 1: header {header} should be {list(COLUMNS)}")
        nodes = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(COLUMNS):
                raise DataError(
                    f"{path} line {reader.line_num}: {len(row)} fields, expected {len(COLUMNS)}"
                )
            node, node_type, business_line, frequency = row
            nodes.append(Node(node, node_type, business_line, frequency, reader.line_num))
    return nodes


def validate_matrix(nodes: list[Node], models: Iterable[str], where: str) -> None:
    """Raise one DataError listing every problem, each naming its seed line and node."""
    models = set(models)
    known = {"model": models, "snapshot": set(SNAPSHOTS), "source": set(current().source_names)}
    problems: list[str] = []
    first_seen: dict[str, Node] = {}
    for n in nodes:
        at = f"line {n.line} (node {n.node!r})"
        if n.node_type not in NODE_TYPES:
            problems.append(
                f"{at}: node_type {n.node_type!r} is not one of {', '.join(NODE_TYPES)}"
            )
        elif n.node not in known[n.node_type]:
            problems.append(
                f"{at}: no {n.node_type} named {n.node!r}"
                + (" (no such file in queries/)" if n.node_type == "model" else "")
            )
        if n.frequency not in FREQUENCIES:
            problems.append(
                f"{at}: frequency {n.frequency!r} is not one of {', '.join(FREQUENCIES)}"
            )
        if n.business_line not in BUSINESS_LINES:
            problems.append(
                f"{at}: business_line {n.business_line!r} is not one of {', '.join(BUSINESS_LINES)}"
            )
        if n.node in first_seen:
            earlier = first_seen[n.node]
            if earlier.cell == n.cell:
                problems.append(
                    f"{at}: listed twice in cell {cell_name(*n.cell)} (also line {earlier.line})"
                )
            else:
                problems.append(
                    f"{at}: in two cells, {cell_name(*earlier.cell)} (line {earlier.line}) "
                    f"and {cell_name(*n.cell)}; a node runs in exactly one cell"
                )
        else:
            first_seen[n.node] = n
    # a cell is one command (build, snapshot or load), so it holds one kind of node
    kinds: dict[tuple[str, str], Node] = {}
    for n in nodes:
        other = kinds.setdefault(n.cell, n)
        if other.node_type != n.node_type and n.node_type in NODE_TYPES:
            problems.append(
                f"line {n.line} (node {n.node!r}): a {n.node_type} in cell {cell_name(*n.cell)}, "
                f"which already holds a {other.node_type} (line {other.line}); a cell runs one "
                "command, so put each kind in its own cell"
            )
    source_cells = {n.cell for n in nodes if n.node_type == "source"}
    if len(source_cells) > 1:
        cells = ", ".join(sorted(cell_name(*c) for c in source_cells))
        problems.append(
            f"source loads are in several cells ({cells}); `greenery load` loads every raw "
            "table at once, so they belong in one cell"
        )
    for kind, names in known.items():
        missing = sorted(names - {n.node for n in nodes if n.node_type == kind})
        if missing:
            rows = "; ".join(f"{name},{kind},<business_line>,<frequency>" for name in missing)
            problems.append(
                f"{kind}(s) missing from the matrix: {', '.join(missing)}; add rows: {rows}"
            )
    if problems:
        raise DataError(
            f"{where}: the update-frequency matrix is invalid:\n  " + "\n  ".join(problems)
        )


def load_matrix(models: Iterable[str], folder: Path | None = None) -> list[Node]:
    """Read and validate seeds/schedule.csv against the project's models."""
    path = matrix_path(folder)
    nodes = read_matrix(path)
    validate_matrix(nodes, models, str(path))
    return nodes


def check_matrix_seed(seeds: Iterable[Seed], models: Iterable[Model]) -> None:
    """The load-time check: a project that declares the schedule seed must keep it valid."""
    for seed in seeds:
        if seed.name == SEED_NAME:
            validate_matrix(read_matrix(seed.path), (m.name for m in models), str(seed.path))
