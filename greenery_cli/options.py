"""Options shared by several commands, defined once so every command spells them the same.

The global options (--db, --project-dir, --wait, --format) are taken before the command name
(`greenery --db x funnel`) or after it (`greenery funnel --db x`); the later spelling wins.
Every command is a `GreeneryCommand` (or `GreeneryGroup`), which adds --db and --project-dir
itself; a command that reads or writes the warehouse declares `wait_option`, and one that prints
rows `format_option`. Values are parsed by the ParamTypes below, so a bad duration or moment
gets the same one line (exit 2) whichever option it was given to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from greenery_cli.engines.url import DUCKDB, EngineSpec

F = TypeVar("F", bound=Callable[..., Any])
ROW_FORMATS = ("table", "json", "csv", "markdown")


class GlobalSettings:
    """What the global options said, wherever on the command line they were written (a plain
    class: a dataclass costs about a millisecond of every command's start-up to define)."""

    __slots__ = ("db", "engine", "engine_option", "fmt", "prepared", "project_dir", "wait")

    def __init__(self) -> None:
        self.db: str | None = None
        self.project_dir: str | None = None
        self.wait: float | None = None
        self.fmt: str | None = None
        self.prepared = False  # the project has been found and checked for this invocation
        self.engine_option: str | None = None  # --engine as given
        self.engine: EngineSpec = DUCKDB  # resolved by prepare()


def global_settings(ctx: click.Context) -> GlobalSettings:
    settings = ctx.find_object(GlobalSettings)
    return settings if settings is not None else GlobalSettings()


def _settings(ctx: click.Context) -> GlobalSettings:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalSettings):
        root.obj = GlobalSettings()
    settings: GlobalSettings = root.obj
    ctx.obj = settings
    return settings


# --- one parser per concept, as click types ------------------------------------------------------


class _GreeneryType(click.ParamType):  # type: ignore[type-arg]  # values are Any here
    """A ParamType over a parsing.py parser: its UsageError becomes click's one-line refusal."""

    parse: Callable[[str], Any]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from greenery_cli.errors import UsageError

        if not isinstance(value, str):
            return value  # a default already parsed, or a value given in Python
        try:
            return type(self).parse(value)
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


class DurationType(_GreeneryType):
    name = "duration"

    @staticmethod
    def parse(text: str) -> Any:
        from greenery_cli.parsing import parse_duration

        return parse_duration(text)


class MomentType(_GreeneryType):
    """A moment (ISO-8601 / bare date = 00:00 UTC) or a duration before the latest data."""

    name = "moment"

    @staticmethod
    def parse(text: str) -> Any:
        from greenery_cli.parsing import parse_when

        return parse_when(text)


class ExactMomentType(_GreeneryType):
    """A moment only: where there is no "latest data" to count back from (snapshot --at)."""

    name = "moment"

    @staticmethod
    def parse(text: str) -> Any:
        from greenery_cli.parsing import parse_moment

        return parse_moment(text)


class PointType(_GreeneryType):
    """A point of the snapshot history: a run id, or a moment as MomentType."""

    name = "point"

    @staticmethod
    def parse(text: str) -> Any:
        from greenery_cli.parsing import parse_point

        return parse_point(text)


class WaitType(_GreeneryType):
    """--wait: seconds (`600`, `0.5`) or a duration (`10m`)."""

    name = "seconds"

    @staticmethod
    def parse(text: str) -> Any:
        from greenery_cli.errors import UsageError
        from greenery_cli.parsing import DURATION_HINT, parse_duration

        try:
            seconds = float(text)
        except ValueError:
            try:
                return parse_duration(text).total_seconds()
            except UsageError:
                hint = DURATION_HINT.removeprefix("write ")
                raise UsageError(f"{text!r} is not a wait: write seconds (600) or {hint}") from None
        if not seconds >= 0:  # also refuses nan
            raise UsageError(f"{text!r} is not a wait: it cannot be negative")
        return seconds


DURATION = DurationType()
WAIT = WaitType()
MOMENT = MomentType()
EXACT_MOMENT = ExactMomentType()
POINT = PointType()
MOMENT_HELP = (
    "an ISO-8601 date or time (a date is 00:00 UTC; no offset = UTC) or a duration before the "
    "latest data (7d)"
)


# --- global options --------------------------------------------------------------------------


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        settings = _settings(ctx)
        if value is not None:
            setattr(settings, name, value)
        return getattr(settings, name)

    return callback


DB_HELP = "The warehouse file [env GREENERY_DB; default ./greenery.duckdb]."
PROJECT_DIR_HELP = (
    "The project (a folder with greenery.toml) [env GREENERY_PROJECT_DIR; default: the nearest "
    "greenery.toml from the working folder up, else the shop's project built in]."
)
WAIT_HELP = (
    "How long to wait for another greenery process to finish with the warehouse: seconds or a "
    "duration (10m)"
)
FORMAT_HELP = "Output format; table is for people, the others for machines (stdout only)"


def shared_params(*, root: bool = False) -> list[click.Parameter]:
    """--db and --project-dir, as every command (and the root, with --wait/--format) takes them."""
    params: list[click.Parameter] = [
        click.Option(
            ["--db"],
            envvar="GREENERY_DB" if root else None,
            metavar="PATH",
            default=None,
            expose_value=False,
            callback=_store("db"),
            help=DB_HELP,
        ),
        click.Option(
            ["--project-dir"],
            metavar="DIR",
            default=None,
            expose_value=False,
            callback=_store("project_dir"),
            help=PROJECT_DIR_HELP,
        ),
    ]
    if root:
        params += [
            click.Option(
                ["--engine"],
                metavar="duckdb|URL",
                default=None,
                expose_value=False,
                callback=_store("engine_option"),
                help="Where the SQL runs: duckdb (the --db file) or a Spark Connect URL "
                "sc://host:port[/;token=...] [env GREENERY_ENGINE; else greenery.toml's engine; "
                "default duckdb]. docs/spark.md says what runs on Spark.",
            ),
            click.Option(
                ["--wait"],
                type=WAIT,
                default=None,
                metavar="SECONDS",
                expose_value=False,
                callback=_store("wait"),
                help=f"{WAIT_HELP}, for the command that takes it.",
            ),
            click.Option(
                ["--format", "fmt"],
                type=click.Choice(ROW_FORMATS),
                default=None,
                expose_value=False,
                callback=_store("fmt"),
                help=f"{FORMAT_HELP}, for the command that prints rows.",
            ),
        ]
    return params


def prepare(ctx: click.Context) -> None:
    """Find and check the project once, after every option of the command line was read."""
    from greenery_cli import project

    settings = _settings(ctx)
    if settings.prepared:
        return
    settings.prepared = True
    root = ctx.find_root()
    for name, key in (("wait", "wait"), ("format", "fmt")):
        if getattr(settings, key) is not None and not _takes(ctx, key):
            raise click.UsageError(f"`greenery {_path(ctx)}` does not take --{name}", ctx)
    project.use_project_dir(settings.project_dir)
    configured = None
    if root.invoked_subcommand != "init":
        used = project.verdict()  # a malformed project is refused before any command runs
        if not used.builtin:
            click.echo(f"greenery: using project {used.name} at {used.root} ({used.how})", err=True)
        configured = used.engine
    _choose_engine(settings, root.invoked_subcommand, configured)


def _choose_engine(settings: GlobalSettings, command: str | None, configured: str | None) -> None:
    """The engine in force; a command that does not run on Spark is refused before any work."""
    import os

    from greenery_cli.engines.url import SPARK_COMMANDS, resolve_engine
    from greenery_cli.errors import UsageError

    spec = resolve_engine(settings.engine_option, os.environ.get("GREENERY_ENGINE"), configured)
    if spec.is_spark and command is not None and command not in SPARK_COMMANDS:
        raise UsageError(
            f"greenery {command} does not run on the Spark engine yet ({spec.shown}); "
            "run it with --engine duckdb (docs/spark.md lists what runs on Spark)"
        )
    settings.engine = spec


def _takes(ctx: click.Context, key: str) -> bool:
    return any(p.name == key for p in ctx.command.params)


def _path(ctx: click.Context) -> str:
    return ctx.command_path.removeprefix(ctx.find_root().info_name or "").strip()


class GreeneryCommand(click.Command):
    """A command that takes the global options after its name too."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw["params"] = [*(kw.get("params") or []), *shared_params()]
        super().__init__(*args, **kw)

    def invoke(self, ctx: click.Context) -> Any:
        prepare(ctx)
        return super().invoke(ctx)


class GreeneryGroup(click.Group):
    """A command with subcommands (`snapshot list`) that may also run alone (`snapshot`)."""

    command_class = GreeneryCommand

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw["params"] = [*(kw.get("params") or []), *shared_params()]
        super().__init__(*args, **kw)

    def invoke(self, ctx: click.Context) -> Any:
        if not ctx._protected_args:  # run alone: this group is the command
            prepare(ctx)
        return super().invoke(ctx)


def deprecated(old: str, new: str) -> None:
    """The note an old spelling prints for one release (stderr, so data stays clean)."""
    click.echo(f"greenery: note: `{old}` is deprecated; use `{new}`", err=True)


# --- options several commands declare --------------------------------------------------------


def _resolved(name: str, default: Any) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        settings = _settings(ctx)
        if value is not None:
            setattr(settings, name, value)
        chosen = getattr(settings, name)
        return default if chosen is None else chosen

    return callback


def format_option(func: F) -> F:
    """--format for a command that prints rows: table (default), json, csv, markdown."""
    return format_choice_option(ROW_FORMATS, "table")(func)


def format_choice_option(
    choices: Sequence[str], default: str | None, help: str = f"{FORMAT_HELP} [default: table]."
) -> Callable[[F], F]:
    """--format with more choices than rows (schedule: crontab, airflow); None = the command's."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=None,
        callback=_resolved("fmt", default),
        help=help,
    )


def wait_option(default: float = 30.0) -> Callable[[F], F]:
    return click.option(
        "--wait",
        type=WAIT,
        default=None,
        metavar="SECONDS",
        callback=_resolved("wait", default),
        help=f"{WAIT_HELP} [default: {default:g}].",
    )


def source_option(func: F) -> F:
    return click.option(
        "--source",
        metavar="DIR|URL",
        default=None,
        help="A folder of <table>.csv/.parquet exports, or a postgresql://user@host/db?schema=NAME "
        "URL (password from PGPASSWORD or ~/.pgpass); default: the source of the last load.",
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
