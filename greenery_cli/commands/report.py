from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@format_option
@click.option(
    "--html",
    "html",
    metavar="FILE",
    default=None,
    help="Also write the dashboard: one self-contained HTML page (no network needed) that says "
    "how fresh the data is, then every answer. Reads only: nothing is written to the warehouse.",
)
@wait_option(10.0)
@click.pass_context
def command(ctx: click.Context, fmt: str, html: str | None, wait: float) -> int:
    """Every week-4 answer of the warehouse: inventory changes from the previous to the latest
    snapshot, the most fluctuating products, stockouts in the last 3 weeks, the funnel by step
    with its largest drop-offs, and the funnel per product, each section titled with the
    question it answers.

    A section that cannot be answered yet (no snapshot history) says why instead.
    """
    from greenery_cli.output import stderr_console
    from greenery_cli.report import build_report
    from greenery_cli.views.report import print_report

    settings = global_settings(ctx)
    report = build_report(settings.db, html=html, wait=wait, engine=settings.engine)
    print_report(report, fmt)
    if html:
        stderr_console().print(f"wrote {html}")
    return 0
