"""Options shared by several commands, defined once so every command spells them the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalSettings:
    db: str | None


def global_settings(ctx: click.Context) -> GlobalSettings:
    settings = ctx.find_object(GlobalSettings)
    return settings if settings is not None else GlobalSettings(db=None)


def format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv", "markdown"]),
        default="table",
        show_default=True,
        help="Output format; table is for people, the others for machines (stdout only).",
    )(func)


def wait_option(default: float = 30.0) -> Callable[[F], F]:
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another greenery process to finish with the warehouse.",
    )


def source_option(func: F) -> F:
    return click.option(
        "--source",
        metavar="DIR|URL",
        default=None,
        help="A folder of <table>.csv/.parquet exports, or a postgresql://user@host/db?schema=NAME "
        "URL (password from PGPASSWORD or ~/.pgpass); default: the source of the last load.",
    )(func)


def report_format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="table: every section for people; json: one object with a key per section.",
    )(func)


def allow_shrink_option(func: F) -> F:
    return click.option(
        "--allow-shrink",
        is_flag=True,
        help="Accept a source that removes more rows than the project allows (max_shrink in "
        "queries/sources.toml, max_deleted in greenery.toml [snapshot]; default half).",
    )(func)


def select_option(func: F) -> F:
    return click.option(
        "--select",
        "selectors",
        multiple=True,
        metavar="SEL",
        help="Models: 'name', 'tag:x', 'layer:x', 'source:x', 'state:modified'; '+sel' adds "
        "everything upstream, 'sel+' everything downstream. Repeat to add more.",
    )(func)


def full_refresh_option(func: F) -> F:
    return click.option(
        "--full-refresh",
        is_flag=True,
        default=False,
        help="Rebuild from scratch, changed or not (incremental models too).",
    )(func)
