from __future__ import annotations

from typing import TYPE_CHECKING

import click

from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.options import (
    ROW_FORMATS,
    GreeneryGroup,
    deprecated,
    format_choice_option,
    format_option,
    global_settings,
    wait_option,
)

if TYPE_CHECKING:
    from greenery_cli.schedule import ScheduleSettings

SCHEDULE_FORMATS = ("crontab", "airflow", *ROW_FORMATS)


@click.group(cls=GreeneryGroup, invoke_without_command=True)
@format_choice_option(
    SCHEDULE_FORMATS,
    None,
    "crontab (the default), airflow, or the cells as rows: table, json, csv, markdown.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Deprecated spelling of `greenery schedule check` (kept for one release).",
)
@click.option(
    "--log-dir",
    metavar="DIR",
    default=None,
    help="Where scheduled runs append their output [default: logs/ beside the warehouse].",
)
@wait_option(10.0)
@click.pass_context
def command(
    ctx: click.Context, fmt: str | None, check: bool, log_dir: str | None, wait: float
) -> int:
    """Turn the update-frequency matrix (seeds/schedule.csv) into a schedule: one task per cell.

    A cell of models runs `greenery build --frequency F --business-line B`, the snapshot's
    cell runs `greenery snapshot` and the source cell `greenery load`. --format crontab (the
    default): lines for `crontab FILE`, with an hourly `greenery schedule check`; airflow: a
    DAG file; table, json, csv, markdown: the cells as rows. `schedule check` says which nodes
    are overdue.
    """
    from dataclasses import asdict

    from greenery_cli.output import emit, stderr_console, to_json
    from greenery_cli.schedule import (
        airflow_dag,
        cells_frame,
        check_line,
        crontab,
        missing_log_dirs,
        plan,
    )
    from greenery_cli.views.listings import SCHEDULE

    if ctx.invoked_subcommand is not None:
        if check or log_dir:
            raise UsageError(
                f"`schedule {ctx.invoked_subcommand}` takes its options after its name"
            )
        return 0
    db = global_settings(ctx).db
    if check:
        deprecated("schedule --check", "schedule check")
        if log_dir:
            raise UsageError("--check takes no --log-dir")
        return _check(ctx, fmt, wait)
    settings, note = _jobs(ctx, db, log_dir)
    cells = plan(settings)
    if fmt == "json":
        click.echo(to_json([asdict(cell) for cell in cells]))
    elif fmt == "airflow":
        click.echo(airflow_dag(cells), nl=False)
    elif fmt in ROW_FORMATS:
        emit(
            cells_frame(cells),
            fmt,
            title="The schedule, one task per matrix cell",
            layout=SCHEDULE,
        )
    else:
        click.echo(crontab(cells, check_line(settings)), nl=False)
    missing = missing_log_dirs(cells)
    if missing and fmt != "airflow":
        stderr_console().print(
            f"note: create the log folder first: mkdir -p {' '.join(missing)}", markup=False
        )
    if note:
        stderr_console().print(f"note: {note}", markup=False)
    return 0


def _jobs(
    ctx: click.Context, db: str | None, log_dir: str | None
) -> tuple[ScheduleSettings, str | None]:
    """What every scheduled job must carry to do what this invocation would: the team's
    project, and its engine; and a note when the engine cannot be written into the jobs."""
    import os

    from greenery_cli.project import current
    from greenery_cli.schedule import ScheduleSettings as Settings

    project = current()
    project_dir = None if project.builtin else project.root
    spec = global_settings(ctx).engine
    engine: str | None = ""
    note = None
    if spec.is_spark:
        given = global_settings(ctx).engine_option or os.environ.get("GREENERY_ENGINE")
        if not given:
            engine = None  # the project's `engine`, which --project-dir brings along
        elif spec.params:
            engine = None  # its parameters (a token) are never written into a job
            note = (
                f"the jobs run on the Spark engine {spec.shown} only if GREENERY_ENGINE is set "
                "to its URL in their environment (a line GREENERY_ENGINE=... at the top of the "
                "crontab, or the Airflow worker's environment): its parameters are not written "
                "into them"
            )
        else:
            engine = spec.url
    return Settings(db=db, log_dir=log_dir, project_dir=project_dir, engine=engine), note


def _check(ctx: click.Context, fmt: str | None, wait: float) -> int:
    from greenery_cli.output import emit, stderr_console
    from greenery_cli.schedule import check_overdue, overdue_nodes
    from greenery_cli.views.listings import OVERDUE

    if fmt in ("crontab", "airflow"):
        raise UsageError(f"`schedule check` reports as table, json, csv or markdown, not {fmt}")
    settings = global_settings(ctx)
    nodes = check_overdue(settings.db, wait=wait, engine=settings.engine)
    overdue = overdue_nodes(nodes)
    if overdue.height or fmt not in (None, "table"):  # silence when all is well: cron mails
        emit(overdue, fmt or "table", title="Overdue against the matrix", layout=OVERDUE)
    stderr_console().print(f"{overdue.height} of {nodes.height} nodes overdue")
    return ExitCode.WORK_FAILED if overdue.height else ExitCode.OK


@command.command("check")
@format_option
@wait_option(10.0)
@click.pass_context
def check_command(ctx: click.Context, fmt: str, wait: float) -> int:
    """List the nodes whose last build, snapshot or load is older than their frequency allows
    (exit 1 when any are, silent on stdout when none are), so cron itself can alert."""
    return _check(ctx, fmt, wait)
