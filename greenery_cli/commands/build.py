from __future__ import annotations

import click

from greenery_cli.matrix import BUSINESS_LINES, FREQUENCIES
from greenery_cli.options import (
    GreeneryCommand,
    format_option,
    full_refresh_option,
    global_settings,
    select_option,
    wait_option,
)


@click.command(cls=GreeneryCommand)
@select_option
@click.option(
    "--frequency",
    type=click.Choice(list(FREQUENCIES)),
    default=None,
    help="Only the models in this frequency's cells of the matrix (seeds/schedule.csv).",
)
@click.option(
    "--business-line",
    type=click.Choice(list(BUSINESS_LINES)),
    default=None,
    help="Only the models in this business line's cells of the matrix.",
)
@full_refresh_option
@format_option
@wait_option()
@click.pass_context
def command(
    ctx: click.Context,
    selectors: tuple[str, ...],
    frequency: str | None,
    business_line: str | None,
    full_refresh: bool,
    fmt: str,
    wait: float,
) -> int:
    """Bring models up to date from the loaded raw tables, in dependency order, all or nothing.

    A model is rebuilt only when its SQL, config, a macro it uses or one of its inputs changed
    since its last build (--full-refresh: always, from scratch); the output says what each
    chosen model got and why. With no selection every model is considered. --select and the
    matrix options combine: a model is chosen when a selector picks it and it sits in the
    chosen cells. Each decision is recorded in meta.model_builds, the run in meta.runs. On
    Spark (--engine sc://...) every chosen model is rebuilt, and not all or nothing
    (docs/spark.md).
    """
    from greenery_cli.build import BuildSettings, build_models, summary
    from greenery_cli.output import emit, stderr_console
    from greenery_cli.views.listings import BUILD

    result = build_models(
        BuildSettings(
            db=global_settings(ctx).db,
            select=selectors,
            frequency=frequency,
            business_line=business_line,
            wait=wait,
            full_refresh=full_refresh,
            engine=global_settings(ctx).engine,
        )
    )
    emit(result.frame(), fmt, title="Models, in build order", layout=BUILD)
    notes = "".join(f"; {note}" for note in result.notes)
    stderr_console().print(f"models: {summary(result.models)} (run {result.run_id}){notes}")
    return 0
