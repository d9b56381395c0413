from __future__ import annotations

from typing import TYPE_CHECKING

import click

from greenery_cli.commands.inventory_changes import POINT_HELP
from greenery_cli.options import POINT, GreeneryCommand, format_option, global_settings, wait_option

if TYPE_CHECKING:
    from greenery_cli.parsing import Point


@click.command(cls=GreeneryCommand)
@click.option(
    "--since",
    type=POINT,
    metavar="POINT",
    help="Window start, as --from, but a moment before the history starts means its first run "
    "(--since 2w: the last two weeks). Default: all history.",
)
@click.option(
    "--from",
    "from_point",
    type=POINT,
    metavar="POINT",
    help=f"Window start: {POINT_HELP}. Default: first run.",
)
@click.option(
    "--to",
    "to_point",
    type=POINT,
    metavar="POINT",
    help="Window end, a POINT as for --from. Default: latest run.",
)
@click.option(
    "--rank-by",
    type=click.Choice(["changes", "total_change", "range", "stddev"]),
    default="changes",
    show_default=True,
    help="What ranks the products; changes breaks its ties by total_change.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only ranks 1..N (products tied at rank N are all kept) of the products whose "
    "inventory changed.",
)
@click.option(
    "--include-unchanged",
    is_flag=True,
    help="List the products whose inventory never changed in the window too (left out by "
    "default, and counted in the answer line).",
)
@format_option
@wait_option(10.0)
@click.pass_context
def command(
    ctx: click.Context,
    since: Point | None,
    from_point: Point | None,
    to_point: Point | None,
    rank_by: str,
    top: int | None,
    include_unchanged: bool,
    fmt: str,
    wait: float,
) -> int:
    """Which products' inventory fluctuated most over the snapshot history.

    Per product: the number of inventory changes, the total absolute change, lowest and
    highest inventory, range, standard deviation of its states (the distinct consecutive
    inventory values, population stddev), first and last value, and its path. Ties share a
    rank. Products whose inventory never changed in the window are left out (the answer line
    says how many) unless --include-unchanged. Exit 2 when there is no snapshot history.
    """
    from greenery_cli.inventory import FluctuationsSettings, ask, fluctuations
    from greenery_cli.views.inventory import show_fluctuations

    settings = FluctuationsSettings(
        since=since,
        from_point=from_point,
        to_point=to_point,
        rank_by=rank_by,
        top=top,
        include_unchanged=include_unchanged,
    )
    show_fluctuations(ask(global_settings(ctx).db, fluctuations, settings, wait), fmt)
    return 0
