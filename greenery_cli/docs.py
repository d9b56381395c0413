"""The CLI reference (docs/cli.md), generated from the commands' own --help text.

Regenerate with: python -m greenery_cli.docs docs/cli.md
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

START = "<!-- commands:start -->"
END = "<!-- commands:end -->"
WIDTH = 100


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    # make_context applies the command's context_settings (help option names) like a real run
    return command.make_context(
        name,
        [],
        parent=parent,
        resilient_parsing=True,
        terminal_width=WIDTH,
        max_content_width=WIDTH,
    )


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    return command.get_help(_context(command, name, parent)).rstrip()


def command_reference() -> str:
    from greenery_cli.cli import cli

    root = _context(cli, "greenery", None)
    parts = ["## greenery", "", "```text", _help(cli, "greenery", None), "```"]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None
        parts += ["", f"## greenery {name}", "", "```text", _help(command, name, root), "```"]
        if isinstance(command, click.Group):  # `snapshot list`, `schedule check`
            group = _context(command, name, root)
            for sub in command.list_commands(group):
                subcommand = command.get_command(group, sub)
                assert subcommand is not None
                parts += ["", f"### greenery {name} {sub}", "", "```text"]
                parts += [_help(subcommand, sub, group), "```"]
    return "\n".join(parts)


def splice(readme: str, reference: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{reference}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/cli.md")
    text = path.read_text()
    if START not in text or END not in text:
        print(f"{path} has no {START} ... {END} block", file=sys.stderr)
        return 2
    path.write_text(splice(text, command_reference()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
