"""The command shell: help, exit codes, import hygiene."""

from __future__ import annotations

import subprocess
import sys

from conftest import run_cli

from greenery_cli.cli import COMMANDS
from greenery_cli.errors import ExitCode


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout
    assert "Exit codes" in result.stdout
    for code in ExitCode:
        assert f"{int(code)} " in ExitCode.help_text()


def test_every_command_has_help_text() -> None:
    for name in COMMANDS:
        result = run_cli(name, "--help")
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.splitlines()) > 3, name


def test_help_imports_neither_duckdb_nor_polars() -> None:
    code = (
        "import sys\n"
        "from greenery_cli.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('duckdb', 'polars', 'pyarrow') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout
    assert out.stderr.strip() == "HEAVY="


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert result.stdout == ""
    assert "No such command" in result.stderr


def test_missing_warehouse_is_a_clear_error(tmp_path) -> None:
    result = run_cli("--db", str(tmp_path / "nope.duckdb"), "query", "select 1")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "no warehouse at" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_mistyped_command_suggests_the_nearest_one() -> None:
    result = run_cli("fnunel", "--by-step")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "No such command 'fnunel'. Did you mean 'funnel'?" in result.stderr
    unrelated = run_cli("xyzzy")
    assert unrelated.exit_code == ExitCode.TOOL_ERROR
    assert "Did you mean" not in unrelated.stderr


def test_shell_completion_scripts_and_completions() -> None:
    for shell, marker in (
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --no-files --command greenery"),
    ):
        script = subprocess.run(
            [sys.executable, "-m", "greenery_cli"],
            env={"_GREENERY_COMPLETE": f"{shell}_source", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        assert marker in script.stdout, (shell, script.stdout[:200])
    words = subprocess.run(
        [sys.executable, "-m", "greenery_cli"],
        env={
            "_GREENERY_COMPLETE": "bash_complete",
            "COMP_WORDS": "greenery fun",
            "COMP_CWORD": "1",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
    )
    assert "plain,funnel" in words.stdout.split()
