from __future__ import annotations

import click

from greenery_cli.options import format_option, global_settings


@click.command()
@click.argument("sql")
@format_option
@click.pass_context
def command(ctx: click.Context, sql: str, fmt: str) -> int:
    """Run read-only SQL against the warehouse (schemas raw, seeds, staging, intermediate,
    marts, snapshots, meta)."""
    from greenery_cli.output import emit
    from greenery_cli.query import run_query

    emit(run_query(global_settings(ctx).db, sql), fmt)
    return 0
