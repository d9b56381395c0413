"""`greenery schedule`: the matrix as a crontab, as data or as an Airflow DAG; overdue checks."""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.matrix import (
    BUSINESS_LINES,
    FREQUENCIES,
    Node,
    cell_name,
    cron_expression,
    load_matrix,
)
from greenery_cli.models import discover
from greenery_cli.warehouse import resolve_db_path

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.warehouse import Warehouse

# scheduled jobs queue this long on greenery's writer lock when another cell is writing
SCHEDULED_WAIT_SECONDS = 600
# the greenery command that runs each kind of cell
VERBS = {"model": "build", "snapshot": "snapshot", "source": "load"}


@dataclass(frozen=True)
class ScheduleSettings:
    db: str | Path | None
    log_dir: str | Path | None = None  # default: logs/ beside the warehouse
    executable: str | None = None  # default: the greenery this Python runs
    # the team's project, which every job names: cron runs jobs from $HOME, where the nearest
    # greenery.toml is not the project's (None: the built-in project, found anywhere)
    project_dir: str | Path | None = None
    # the jobs' engine: "" the warehouse file (--db), else the --engine argument they carry;
    # None: a Spark engine the jobs find themselves (the project's setting, GREENERY_ENGINE)
    engine: str | None = ""


@dataclass(frozen=True)
class ScheduledCell:
    """One cell of the matrix as one scheduled task."""

    cell: str
    frequency: str
    business_line: str
    node_type: str
    nodes: tuple[str, ...]
    cron: str
    command: str  # the greenery command alone (what Airflow runs)
    log_file: str
    lock_file: str
    crontab_line: str  # cron fields, overlap guard, command, log redirect


def greenery_executable() -> str:
    """An absolute path: cron's PATH rarely includes the virtualenv greenery lives in."""
    beside_python = Path(sys.executable).parent / "greenery"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("greenery") or "greenery"


def _head(settings: ScheduleSettings, exe: str, db: Path) -> list[str]:
    """The executable and the global options every job carries."""
    head = [exe]
    if settings.project_dir is not None:
        head += ["--project-dir", str(Path(settings.project_dir).expanduser().resolve())]
    if settings.engine == "":
        return [*head, "--db", str(db)]
    return [*head, "--engine", settings.engine] if settings.engine else head


def _command_argv(cell: list[Node], head: list[str]) -> list[str]:
    frequency, business_line = cell[0].cell
    wait = ["--wait", str(SCHEDULED_WAIT_SECONDS)]
    if cell[0].node_type == "model":
        return [*head, "build", "--frequency", frequency, "--business-line", business_line, *wait]
    return [*head, VERBS[cell[0].node_type], *wait]


def _crontab_escape(command: str) -> str:
    """cron turns an unescaped % into a newline."""
    return command.replace("%", "\\%")


def _paths(settings: ScheduleSettings) -> tuple[str, Path, Path]:
    """The greenery executable, the warehouse and the log folder, all absolute."""
    db = resolve_db_path(settings.db).resolve()
    log_dir = (
        Path(settings.log_dir).expanduser().resolve() if settings.log_dir else db.parent / "logs"
    )
    return settings.executable or greenery_executable(), db, log_dir


def check_line(settings: ScheduleSettings) -> str:
    """A crontab line for the overdue check: silent on stdout unless something is overdue, so
    cron mails (MAILTO) only then; its summary goes to a log."""
    exe, db, log_dir = _paths(settings)
    command = shlex.join([*_head(settings, exe, db), "schedule", "check"])
    log = shlex.quote(str(log_dir / "greenery-check.log"))
    return _crontab_escape(f"59 * * * * {command} 2>> {log}")


def plan(settings: ScheduleSettings, matrix: list[Node] | None = None) -> list[ScheduledCell]:
    """One ScheduledCell per non-empty cell, ordered by frequency then business line."""
    matrix = matrix if matrix is not None else load_matrix(discover())
    exe, db, log_dir = _paths(settings)
    head = _head(settings, exe, db)
    cells: dict[tuple[str, str], list[Node]] = {}
    for node in matrix:
        cells.setdefault(node.cell, []).append(node)
    planned = []
    for frequency in FREQUENCIES:
        for business_line in BUSINESS_LINES:
            nodes = cells.get((frequency, business_line))
            if not nodes:
                continue
            slug = f"{frequency}-{business_line.lower()}"
            log_file = log_dir / f"greenery-{slug}.log"
            lock_file = log_dir / f"greenery-{slug}.lock"
            command = shlex.join(_command_argv(nodes, head))
            cron = cron_expression(frequency, business_line)
            line = _crontab_escape(
                f"{cron} flock -n {shlex.quote(str(lock_file))} {command} "
                f">> {shlex.quote(str(log_file))} 2>&1"
            )
            planned.append(
                ScheduledCell(
                    cell=cell_name(frequency, business_line),
                    frequency=frequency,
                    business_line=business_line,
                    node_type=nodes[0].node_type,
                    nodes=tuple(n.node for n in nodes),
                    cron=cron,
                    command=command,
                    log_file=str(log_file),
                    lock_file=str(lock_file),
                    crontab_line=line,
                )
            )
    return planned


CRONTAB_HEADER = """\
# greenery's update-frequency matrix (seeds/schedule.csv): one line per cell.
# Generated by `greenery schedule`; install with `crontab FILE` (it replaces the current crontab).
# Fields: minute hour day-of-month month day-of-week, in the cron daemon's local time.
#   hourly: M * * * *   every_4_hours: M */4 * * *   daily: M 2 * * *
#   weekly: M 3 * * 1 (Mondays)   monthly: M 4 1 * * (the 1st); M is staggered per cell.
# `flock -n` skips a run while the same cell's previous run is still going; --wait lets
# different cells queue on greenery's own writer lock instead of failing busy (exit 3).
"""


def crontab(cells: list[ScheduledCell], check: str | None = None) -> str:
    """The crontab text; `check` (see check_line) is offered as a commented-out line."""
    lines = [CRONTAB_HEADER]
    if check:
        lines[0] += (
            f"# To have cron mail you (MAILTO) when a node is overdue, uncomment:\n# {check}\n"
        )
    for cell in cells:
        lines.append(f"# {cell.cell} ({cell.node_type}): {', '.join(cell.nodes)}")
        lines.append(cell.crontab_line)
    return "\n".join(lines) + "\n"


def cells_frame(cells: list[ScheduledCell]) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(
        [
            {
                "cell": c.cell,
                "cron": c.cron,
                "runs": VERBS[c.node_type],
                "nodes": ", ".join(c.nodes),
            }
            for c in cells
        ],
        schema={"cell": pl.String, "cron": pl.String, "runs": pl.String, "nodes": pl.String},
    )


def missing_log_dirs(cells: list[ScheduledCell]) -> list[str]:
    """Log folders that do not exist yet (cron's `>>` would fail in them)."""
    return sorted(
        {str(Path(c.log_file).parent) for c in cells if not Path(c.log_file).parent.is_dir()}
    )


def airflow_dag(cells: list[ScheduledCell]) -> str:
    """A DAG file: one DAG per cell (each cell has its own schedule), one BashOperator each."""
    from greenery_cli.sql import render

    context = [
        {
            # values go into Python source as literals, never pasted raw
            "dag_id": repr(f"greenery_{cell.frequency}_{cell.business_line.lower()}"),
            "task_id": repr(VERBS[cell.node_type]),
            "description": repr(f"{cell.cell}: {', '.join(cell.nodes)}"),
            "schedule": repr(cell.cron),
            "tags": repr(["greenery", cell.frequency, cell.business_line]),
            "command": repr(cell.command),
            "timeout_s": int(FREQUENCIES[cell.frequency].period.total_seconds()),
        }
        for cell in cells
    ]
    return render("schedule/airflow_dag.py.j2", cells=context)


def last_runs(wh: Warehouse) -> dict[tuple[str, str], datetime]:
    """(node_type, node) -> when it last ran: model builds, source loads, snapshot runs."""
    from greenery_cli.sql import render

    sql = render(
        "schedule/last_runs.sql", snapshot_runs=wh.table_exists("snapshots", "snapshot_runs")
    )
    return {(node_type, node): at for node_type, node, at in wh.rows(sql)}


def overdue_nodes(checked: pl.DataFrame) -> pl.DataFrame:
    """The nodes --check reports: overdue or never run."""
    return checked.filter(checked["status"] != "ok")


def check_overdue(
    db: str | Path | None,
    now: datetime | None = None,
    matrix: list[Node] | None = None,
    *,
    wait: float = 10.0,
    engine: EngineSpec = DUCKDB,
) -> pl.DataFrame:
    """Each node of the matrix with its last run, its age and ok | overdue | never: from the
    warehouse's run log, or the Spark engine's (its `meta.*` tables)."""
    from greenery_cli.engines import open_engine

    with open_engine(db, engine, wait=wait) as wh:
        return node_ages(wh, now, matrix)


def node_ages(
    wh: Warehouse, now: datetime | None = None, matrix: list[Node] | None = None
) -> pl.DataFrame:
    """check_overdue on an open warehouse (read only): one row per node of the matrix."""
    import polars as pl

    now = now or datetime.now(UTC)
    matrix = matrix if matrix is not None else load_matrix(discover())
    last = last_runs(wh)
    rows = []
    for node in matrix:
        at = last.get((node.node_type, node.node))
        allowed = FREQUENCIES[node.frequency].allowed_age
        age = now - at if at is not None else None
        status = "never" if age is None else ("overdue" if age > allowed else "ok")
        rows.append(
            {
                "node": node.node,
                "node_type": node.node_type,
                "cell": cell_name(*node.cell),
                "last_run_at": at,
                "age_hours": age.total_seconds() / 3600 if age is not None else None,
                "allowed_hours": allowed.total_seconds() / 3600,
                "status": status,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "node": pl.String,
            "node_type": pl.String,
            "cell": pl.String,
            "last_run_at": pl.Datetime("us", "UTC"),
            "age_hours": pl.Float64,
            "allowed_hours": pl.Float64,
            "status": pl.String,
        },
    )
