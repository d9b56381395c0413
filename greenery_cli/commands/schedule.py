from __future__ import annotations

import click

from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.options import global_settings


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["crontab", "json", "airflow", "table"]),
    default=None,
    help="crontab (default): lines for `crontab FILE`; json: the same as data; airflow: a DAG "
    "file; table: for people (the default with --check).",
)
@click.option(
    "--check",
    is_flag=True,
    help="List the nodes whose last build, snapshot or load is older than their frequency "
    "allows (exit 1 when any are), so cron itself can alert.",
)
@click.option(
    "--log-dir",
    metavar="DIR",
    default=None,
    help="Where scheduled runs append their output [default: logs/ beside the warehouse].",
)
@click.pass_context
def command(ctx: click.Context, fmt: str | None, check: bool, log_dir: str | None) -> int:
    """Turn the update-frequency matrix (seeds/schedule.csv) into a schedule: one task per cell.

    A cell of models runs `greenery build --frequency F --business-line B`, the snapshot's
    cell runs `greenery snapshot` and the source cell `greenery load`.
    """
    from dataclasses import asdict

    from greenery_cli.output import emit, stderr_console, to_json
    from greenery_cli.schedule import (
        ScheduleSettings,
        airflow_dag,
        cells_frame,
        check_line,
        check_overdue,
        crontab,
        missing_log_dirs,
        overdue_nodes,
        plan,
    )
    from greenery_cli.views.listings import OVERDUE, SCHEDULE

    db = global_settings(ctx).db
    if check:
        if fmt in ("crontab", "airflow"):
            raise UsageError(f"--check reports as table or json, not {fmt}")
        nodes = check_overdue(db)
        overdue = overdue_nodes(nodes)
        if overdue.height or fmt == "json":  # silence when all is well: cron mails any output
            emit(overdue, fmt or "table", title="Overdue against the matrix", layout=OVERDUE)
        stderr_console().print(f"{overdue.height} of {nodes.height} nodes overdue")
        return ExitCode.WORK_FAILED if overdue.height else ExitCode.OK
    settings = ScheduleSettings(db=db, log_dir=log_dir)
    cells = plan(settings)
    if fmt == "json":
        click.echo(to_json([asdict(cell) for cell in cells]))
    elif fmt == "airflow":
        click.echo(airflow_dag(cells), nl=False)
    elif fmt == "table":
        emit(
            cells_frame(cells),
            "table",
            title="The schedule, one task per matrix cell",
            layout=SCHEDULE,
        )
    else:
        click.echo(crontab(cells, check_line(settings)), nl=False)
    missing = missing_log_dirs(cells)
    if missing and fmt != "airflow":
        stderr_console().print(f"note: create the log folder first: mkdir -p {' '.join(missing)}")
    return 0
