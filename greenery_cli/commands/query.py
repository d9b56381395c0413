from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@click.argument("sql")
@format_option
@wait_option(10.0)
@click.pass_context
def command(ctx: click.Context, sql: str, fmt: str, wait: float) -> int:
    """Run read-only SQL against the warehouse (schemas raw, seeds, staging, intermediate,
    marts, snapshots, meta)."""
    from greenery_cli.output import emit
    from greenery_cli.query import run_query

    settings = global_settings(ctx)
    emit(run_query(settings.db, sql, wait=wait, engine=settings.engine), fmt)
    return 0
