from __future__ import annotations

from typing import TYPE_CHECKING

import click

from greenery_cli.options import POINT, GreeneryCommand, format_option, global_settings, wait_option

if TYPE_CHECKING:
    from greenery_cli.parsing import Point

POINT_HELP = (
    "a snapshot run id (3), a moment (2024-10-22T06:00:00Z, no offset = UTC; a date "
    "2024-10-22 = 00:00 UTC) or a duration before the latest run (7d)"
)


@click.command(cls=GreeneryCommand)
@click.option(
    "--from",
    "from_point",
    type=POINT,
    metavar="POINT",
    help=f"Compare from: {POINT_HELP}. Default: the last run before --to whose inventory "
    "differs from it.",
)
@click.option(
    "--to",
    "to_point",
    type=POINT,
    metavar="POINT",
    help="Compare to: a POINT as for --from. Default: latest run.",
)
@click.option(
    "--since",
    type=POINT,
    metavar="POINT",
    help="As --from, but a moment before the history starts means its first run: e.g. "
    "--since 7d compares the run 7 days before the latest with the latest.",
)
@format_option
@wait_option(10.0)
@click.pass_context
def command(
    ctx: click.Context,
    from_point: Point | None,
    to_point: Point | None,
    since: Point | None,
    fmt: str,
    wait: float,
) -> int:
    """Which products' inventory changed between two points of the snapshot history.

    Default: the latest run against the last earlier run whose inventory differs (so runs
    that recorded no change, e.g. from a cron job every 15 minutes, never make the answer
    empty); the title names both runs and why. A point resolves to the latest snapshot run
    taken at or before it. Products that appear or
    disappear (deleted = absent) between the points are listed with status new / removed.
    Rows are ordered by the size of the change. Exit 2 when there is no history or fewer
    than two runs to compare.
    """
    from greenery_cli.inventory import InventoryChangesSettings, ask, inventory_changes
    from greenery_cli.views.inventory import show_inventory_changes

    settings = InventoryChangesSettings(from_point=from_point, to_point=to_point, since=since)
    show_inventory_changes(ask(global_settings(ctx).db, inventory_changes, settings, wait), fmt)
    return 0
