from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@format_option
@wait_option()
@click.pass_context
def command(ctx: click.Context, fmt: str, wait: float) -> int:
    """How fresh the data is: per raw table when it was last loaded, its newest record, their
    ages and a pass/warn/error status against warn_after/error_after (seeds/source_freshness.csv);
    then each model's and the snapshot's last build. Appends to meta.freshness_checks.

    Exit 1 when any table is in error; warnings alone exit 0.
    """
    from greenery_cli.freshness import FreshnessSettings, check_freshness, for_people
    from greenery_cli.output import emit, stderr_console
    from greenery_cli.views.listings import FRESHNESS

    settings = global_settings(ctx)
    report = check_freshness(FreshnessSettings(db=settings.db, wait=wait, engine=settings.engine))
    checks = for_people(report.checks) if fmt == "table" else report.checks
    emit(checks, fmt, title="Freshness (stale = strictly older than the limit)", layout=FRESHNESS)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
    stderr_console().print(f"freshness: {counts} (run {report.run_id})")
    return 1 if report.failed else 0
