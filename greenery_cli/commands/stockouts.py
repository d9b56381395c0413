from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@click.option(
    "--weeks",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    metavar="N",
    help="The window: N weeks back from the latest snapshot run (not from today).",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Out of stock means inventory at or below N.",
)
@format_option
@wait_option(10.0)
@click.pass_context
def command(ctx: click.Context, weeks: int, threshold: int, fmt: str, wait: float) -> int:
    """Did any product go out of stock in the last N weeks of snapshot history?

    Lists every spell during which a product's inventory was at or below the threshold and
    that overlaps the window: when it began, when it was restocked (empty while still out)
    and to what. A product deleted while out ends its spell with status removed. Exit 2 when
    there is no snapshot history.
    """
    from greenery_cli.inventory import StockoutsSettings, ask, stockouts
    from greenery_cli.views.inventory import show_stockouts

    settings = StockoutsSettings(weeks=weeks, threshold=threshold)
    show_stockouts(ask(global_settings(ctx).db, stockouts, settings, wait), fmt)
    return 0
