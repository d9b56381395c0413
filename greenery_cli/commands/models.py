from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@format_option
@wait_option(10.0)
@click.pass_context
def command(ctx: click.Context, fmt: str, wait: float) -> int:
    """List each model: its layer, what it depends on, rows, and when it was last built."""
    from greenery_cli.models import catalogue
    from greenery_cli.output import emit
    from greenery_cli.views.listings import MODELS

    settings = global_settings(ctx)
    models = catalogue(settings.db, wait=wait, engine=settings.engine)
    if fmt == "table":
        models = models.drop("description")
    emit(models, fmt, title="Models, in build order", layout=MODELS)
    return 0
