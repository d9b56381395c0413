from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand


@click.command(cls=GreeneryCommand)
@click.argument("directory", metavar="DIR")
def command(directory: str) -> int:
    """Write a new greenery project into DIR: the shop's models, seeds, tests, sources, schedule
    and exposures, for the team to own and change. greenery finds it from DIR and the folders
    below it (greenery.toml), or with --project-dir / GREENERY_PROJECT_DIR. Overwrites nothing."""
    from greenery_cli.project.init import init_project

    result = init_project(directory)
    click.echo(f"wrote a greenery project of {len(result.files)} files to {result.root}", err=True)
    click.echo(f"next: cd {result.root} && greenery load --source DIR", err=True)
    return 0
