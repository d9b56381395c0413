from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    metavar="N",
    help="Show at most this many runs, newest first.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every run (ignores --limit).")
@click.option("--command", "command_name", metavar="NAME", help="Only runs of this command.")
@format_option
@wait_option(10.0)
@click.pass_context
def command(
    ctx: click.Context, limit: int, show_all: bool, command_name: str | None, fmt: str, wait: float
) -> int:
    """What greenery did and when, from meta.runs: each writing command's arguments, status
    (success, fail, error), start, completion, elapsed time, rows affected and version.
    JSON uses dbt's run_results names where the concept is the same, with each run's
    `results`: the models it built, the tests it ran, the freshness it checked."""
    from greenery_cli.output import emit, to_json
    from greenery_cli.runs import RunsSettings, list_runs, run_results
    from greenery_cli.views.listings import RUNS

    settings = RunsSettings(
        db=global_settings(ctx).db,
        limit=None if show_all else limit,
        command=command_name,
        wait=wait,
        engine=global_settings(ctx).engine,
    )
    if fmt == "json":
        click.echo(to_json(run_results(settings)))
    else:
        emit(list_runs(settings), fmt, title="Runs, newest first", layout=RUNS)
    return 0
