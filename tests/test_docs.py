"""The README stays in step with the commands."""

from __future__ import annotations

from conftest import REPO

from greenery_cli.cli import COMMANDS
from greenery_cli.docs import END, START, command_reference


def test_cli_reference_matches_help() -> None:
    reference = (REPO / "docs" / "cli.md").read_text()
    block = reference.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == command_reference().strip(), (
        "docs/cli.md is stale: run `python -m greenery_cli.docs docs/cli.md`"
    )


def test_cli_reference_documents_every_command() -> None:
    reference = (REPO / "docs" / "cli.md").read_text()
    for name in COMMANDS:
        assert f"## greenery {name}\n" in reference


def test_quickstart_has_exactly_two_setup_commands() -> None:
    readme = (REPO / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = quickstart.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("greenery demo")
    assert commands[1].endswith("pytest")
