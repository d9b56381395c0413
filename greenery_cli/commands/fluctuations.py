from __future__ import annotations

import click

from greenery_cli.commands.inventory_changes import POINT_HELP
from greenery_cli.options import format_option, global_settings, wait_option


@click.command()
@click.option(
    "--since",
    metavar="DURATION",
    help="Only the window (latest run - DURATION) to the latest run, e.g. 7d, 2w; "
    "default: all history.",
)
@click.option(
    "--from", "from_point", metavar="POINT", help=f"Window start: {POINT_HELP}. Default: first run."
)
@click.option(
    "--to",
    "to_point",
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
    since: str | None,
    from_point: str | None,
    to_point: str | None,
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
