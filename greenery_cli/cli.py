"""The `greenery` command: a thin shell that parses options, calls the library, renders, exits.

Commands are imported lazily so `greenery --help` never imports duckdb or polars.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from greenery_cli import __version__
from greenery_cli.errors import ExitCode, GreeneryError
from greenery_cli.options import shared_params

# command name -> module in greenery_cli.commands exposing `command`
COMMANDS: dict[str, str] = {
    "build": "build",
    "demo": "demo",
    "fluctuations": "fluctuations",
    "freshness": "freshness",
    "funnel": "funnel",
    "generate": "generate",
    "init": "init",
    "inventory-changes": "inventory_changes",
    "load": "load",
    "models": "models",
    "project": "project",
    "query": "query",
    "report": "report",
    "runs": "runs",
    "schedule": "schedule",
    "snapshot": "snapshot",
    "stockouts": "stockouts",
    "test": "test",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.6)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(f"greenery_cli.commands.{module}").command
        return command


@click.group(
    cls=LazyGroup,
    epilog=ExitCode.help_text(),
    params=shared_params(root=True),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="greenery")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """greenery: load the plant shop's data into a DuckDB warehouse, snapshot its inventory,
    and answer the team's weekly questions.

    stdout carries data; progress, warnings and errors go to stderr. Times are UTC. The global
    options (--db, --project-dir, --wait, --format) go before or after the command's name.
    """
    # the project is found and checked by the command itself (options.prepare), once every
    # option, also those after the command's name, has been read


def report_error(message: str) -> None:
    """One line on stderr, printed literally: a message is never markup, its controls visible."""
    from rich.text import Text

    from greenery_cli.output import stderr_console, visible

    # one line whatever the width: cron mails and log files read errors line by line
    line = Text("error:", style="bold red")
    line.append(" " + visible(message))
    stderr_console().print(line, highlight=False, soft_wrap=True)


def _is_interrupt(exc: BaseException) -> bool:
    """DuckDB's own 'interrupted' error (a query stopped by a signal) counts as the signal."""
    name = type(exc).__name__
    return name == "InterruptException" or (
        isinstance(exc, RuntimeError) and str(exc) == "Query interrupted"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and translate every outcome into one of the documented exit codes."""
    from greenery_cli import interrupts

    with interrupts.handling():
        code = _run(argv)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    from greenery_cli import interrupts
    from greenery_cli.project import use_project_dir

    try:
        result: Any = cli.main(args=argv, prog_name="greenery", standalone_mode=False)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        signum = interrupts.received()
        if signum or isinstance(exc, KeyboardInterrupt) or _is_interrupt(exc):
            # whatever surfaced (click's Abort, DuckDB's interrupted query, an error in the
            # cleanup it cut short), a signal came first: say so, and what was kept
            report_error(interrupts.message())
            return 128 + (signum or 2)
        return _failed(exc)
    finally:
        use_project_dir(None)  # --project-dir holds for this invocation only
    return int(result) if isinstance(result, int) else ExitCode.OK


def _failed(exc: BaseException) -> int:
    """The exit code for an error, reported on one line."""
    if isinstance(exc, click.exceptions.Abort):
        report_error("aborted")
        return 130
    if isinstance(exc, click.UsageError):
        # one line, as for every other refusal; the help is one command away
        where = exc.ctx.command_path if exc.ctx is not None else "greenery"
        report_error(f"{exc.format_message()} (see `{where} --help`)")
        return ExitCode.TOOL_ERROR
    if isinstance(exc, click.ClickException):
        exc.show()
        return ExitCode.TOOL_ERROR
    if isinstance(exc, GreeneryError):
        report_error(str(exc))
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    if os.environ.get("GREENERY_DEBUG"):
        raise exc
    from greenery_cli.errors import disk_full

    full = disk_full(exc)
    if full is not None:
        report_error(str(full))
        return full.exit_code
    report_error(
        f"internal error: {type(exc).__name__}: {_first_line(exc)} "
        "(set GREENERY_DEBUG=1 for a traceback)"
    )
    return ExitCode.TOOL_ERROR


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
