from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option


@click.command(cls=GreeneryCommand)
@format_option
def command(fmt: str) -> int:
    """Which project is in use, where it was found, and what it declares: its sources (columns,
    key, freshness), the snapshot, models per layer, seeds, tests, macros and exposures."""
    from greenery_cli.project.describe import summarise
    from greenery_cli.views.project import show_project

    show_project(summarise(), fmt)
    return 0
