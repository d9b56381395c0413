from __future__ import annotations

import click

from greenery_cli.options import global_settings, wait_option


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: every section for people; json: one object with a key per section.",
)
@click.option(
    "--html",
    "html",
    metavar="FILE",
    default=None,
    help="Also write the dashboard: one self-contained HTML page (no network needed).",
)
@wait_option(10.0)
@click.pass_context
def command(ctx: click.Context, fmt: str, html: str | None, wait: float) -> int:
    """Every week-4 answer of the warehouse: inventory changes from the previous to the latest
    snapshot, the most fluctuating products, stockouts in the last 3 weeks, and the funnel by
    step with its largest drop-off, each section titled with the question it answers.

    A section that cannot be answered yet (no snapshot history) says why instead.
    """
    import sys

    from greenery_cli.output import stderr_console, stdout_console, to_json
    from greenery_cli.report import build_report, report_json
    from greenery_cli.views.report import report_view

    report = build_report(global_settings(ctx).db, html=html, wait=wait)
    if fmt == "json":
        sys.stdout.write(to_json(report_json(report)) + "\n")
    else:
        console = stdout_console()
        for part in report_view(report):
            console.print(part)
    if html:
        stderr_console().print(f"wrote {html}")
    return 0
