from __future__ import annotations

import click

from greenery_cli.demo import DEMO_SEED
from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@click.option(
    "--force",
    is_flag=True,
    help="Replace the warehouse at --db even if the demo did not make it.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEMO_SEED,
    show_default=True,
    metavar="N",
    help="The sample data's seed (as for `greenery generate`).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    metavar="K",
    help="The sample data's size (1 = the real shop's).",
)
@format_option
@wait_option()
@click.pass_context
def command(ctx: click.Context, force: bool, seed: int, scale: float, fmt: str, wait: float) -> int:
    """Build a ready warehouse from built-in sample data and print the week-4 report.

    Generates sample data (cached in $GREENERY_CACHE_DIR, else $XDG_CACHE_HOME/greenery, else
    ~/.cache/greenery), loads it, replays its four weekly product states as snapshots at their
    scheduled moments, and prints what `greenery report` prints. The warehouse (--db) is built
    in a temporary file beside it and moved into place, so reruns are clean; a warehouse the
    demo did not make (or one loaded or snapshotted since) is refused with exit 2 unless
    --force.
    """
    from greenery_cli.demo import DemoSettings, demo
    from greenery_cli.output import stderr_console
    from greenery_cli.views.report import print_report

    result = demo(
        DemoSettings(db=global_settings(ctx).db, seed=seed, scale=scale, force=force, wait=wait)
    )
    err = stderr_console()
    made = "generated" if result.generated else "reused"
    err.print(f"sample data: {made} {result.sample}", highlight=False)
    err.print(
        f"warehouse: {'replaced' if result.replaced else 'built'} {result.db} "
        f"(loaded, then {len(result.snapshots)} weekly snapshots from {result.source})",
        highlight=False,
    )
    print_report(result.report, fmt)
    if result.stock:
        err.print(
            f"stock-aware funnel: {result.stock} (`greenery funnel --by product` per product)",
            markup=False,
            highlight=False,
        )
    return 0
