from __future__ import annotations

import click

from greenery_cli.options import allow_shrink_option, global_settings, source_option, wait_option


@click.command()
@source_option
@allow_shrink_option
@wait_option()
@click.pass_context
def command(ctx: click.Context, source: str | None, allow_shrink: bool, wait: float) -> int:
    """Load the seven raw tables and the seeds, then build every model (all or nothing)."""
    from greenery_cli.load import LoadSettings, load
    from greenery_cli.output import stderr_console

    settings = LoadSettings(
        db=global_settings(ctx).db, source=source, wait=wait, allow_shrink=allow_shrink
    )
    result = load(settings)
    rows = sum(result.tables.values())
    stderr_console().print(
        f"loaded {rows:,} rows into {len(result.tables)} raw tables, {len(result.seeds)} seeds, "
        f"built {len(result.models)} models from {result.source_location} (run {result.run_id})"
    )
    return 0
