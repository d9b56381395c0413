from __future__ import annotations

import click

from greenery_cli.matrix import BUSINESS_LINES, FREQUENCIES
from greenery_cli.options import format_option, global_settings, wait_option


@click.command()
@click.option(
    "--select",
    "selectors",
    multiple=True,
    metavar="SEL",
    help="A model: 'name', 'name+' (and everything downstream), '+name' (and everything "
    "upstream). Repeat to add more.",
)
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
@format_option
@wait_option()
@click.pass_context
def command(
    ctx: click.Context,
    selectors: tuple[str, ...],
    frequency: str | None,
    business_line: str | None,
    fmt: str,
    wait: float,
) -> int:
    """Rebuild models from the loaded raw tables, in dependency order, all or nothing.

    With no selection every model is rebuilt. --select and the matrix options combine: a model
    is built when a selector picks it and it sits in the chosen cells. Each model's build is
    recorded in meta.model_builds, the run in meta.runs.
    """
    from greenery_cli.build import BuildSettings, build_models
    from greenery_cli.output import emit, stderr_console

    result = build_models(
        BuildSettings(
            db=global_settings(ctx).db,
            select=selectors,
            frequency=frequency,
            business_line=business_line,
            wait=wait,
        )
    )
    emit(result.frame(), fmt, title="Models built, in build order")
    stderr_console().print(
        f"built {len(result.models)} models, {sum(b.rows for b in result.models):,} rows "
        f"(run {result.run_id})"
    )
    return 0
