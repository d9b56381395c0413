from __future__ import annotations

import click

from greenery_cli.options import (
    GreeneryCommand,
    allow_shrink_option,
    full_refresh_option,
    global_settings,
    select_option,
    source_option,
    wait_option,
)


@click.command(cls=GreeneryCommand)
@source_option
@select_option
@full_refresh_option
@allow_shrink_option
@wait_option()
@click.pass_context
def command(
    ctx: click.Context,
    source: str | None,
    selectors: tuple[str, ...],
    full_refresh: bool,
    allow_shrink: bool,
    wait: float,
) -> int:
    """Load what changed in the raw tables and seeds, then build what depends on it.

    A whole-table export that did not change is not reloaded; a folder of batch files
    (<table>/*.parquet) appends only its new files and refuses one that changed or vanished
    after it was loaded (--full-refresh rebuilds from the files present). A raw table that would
    lose more than its max_shrink of rows is refused unless --allow-shrink. A model is rebuilt only
    when its SQL, config, a macro it uses or one of its inputs changed (docs/models.md). With
    --select, only those models and the raw tables and seeds they read. All or nothing.
    """
    from greenery_cli.load import LoadSettings, load, load_summary
    from greenery_cli.output import say

    engine = global_settings(ctx).engine
    if engine.is_spark:
        from greenery_cli.engines.spark.load import spark_load

        summary = spark_load(engine, source, selectors, full_refresh, wait=wait)
        say(summary)
        return 0
    result = load(
        LoadSettings(
            db=global_settings(ctx).db,
            source=source,
            wait=wait,
            select=selectors,
            full_refresh=full_refresh,
            allow_shrink=allow_shrink,
        )
    )
    say(f"{load_summary(result)}; from {result.source_location} (run {result.run_id})")
    return 0
