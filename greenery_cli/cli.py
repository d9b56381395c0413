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
    from greenery_cli.output import stderr_console

    # one line whatever the width: cron mails and log files read errors line by line
    stderr_console().print(
        f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True
    )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and translate every outcome into one of the documented exit codes."""
    try:
        result: Any = cli.main(args=argv, prog_name="greenery", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as exc:
        from rich.markup import escape

        # one line, as for every other refusal; the help is one command away
        where = exc.ctx.command_path if exc.ctx is not None else "greenery"
        report_error(escape(f"{exc.format_message()} (see `{where} --help`)"))
        sys.exit(ExitCode.TOOL_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.TOOL_ERROR)
    except GreeneryError as exc:
        from rich.markup import escape

        report_error(escape(str(exc)))
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(ExitCode.OK)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the edge: no traceback unless asked for
        if os.environ.get("GREENERY_DEBUG"):
            raise
        report_error(
            f"internal error: {type(exc).__name__}: {exc} (set GREENERY_DEBUG=1 for a traceback)"
        )
        sys.exit(ExitCode.TOOL_ERROR)
    finally:
        from greenery_cli.project import use_project_dir

        use_project_dir(None)  # --project-dir holds for this invocation only
    sys.exit(int(result) if isinstance(result, int) else ExitCode.OK)
