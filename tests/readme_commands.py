"""The README's commands, run for real: every `$ greenery ...` line of a block marked
`<!-- run: CONTEXT -->` or `<!-- run: CONTEXT show -->` is run as a whole process in a fresh
folder and must exit 0; in a `show` block, the lines under a command are its stdout, compared
exactly (so the README's outputs are real outputs of the working tree).

Contexts: `real` is a folder whose ./greenery.duckdb holds the real dataset with its four weekly
states replayed; `empty` is an empty folder. Outputs are rendered as an 80-column terminal
shows them (GREENERY_WIDTH=80), with the environment the tests pin (TZ far from UTC, no colour).

Regenerate the shown outputs after a change: python tests/readme_commands.py --write
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "greenery-data"
README = REPO / "README.md"
MARK = re.compile(r"^<!-- run: (?P<context>\w+)(?P<show> show)? -->$")
CONTEXTS = ("real", "empty")


@dataclass
class Command:
    line: str  # as written after "$ "
    shown: list[str] = field(default_factory=list)  # the output lines the README shows


@dataclass
class Block:
    context: str
    show: bool
    start: int  # index of the line after the opening fence
    end: int  # index of the closing fence
    commands: list[Command]


def blocks(text: str) -> Iterator[Block]:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        mark = MARK.match(line.strip())
        if not mark:
            continue
        if mark["context"] not in CONTEXTS:
            raise ValueError(f"README.md line {i + 1}: unknown context {mark['context']!r}")
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise ValueError(f"README.md line {i + 1}: a run mark must precede a code block")
        end = next((j for j in range(i + 2, len(lines)) if lines[j] == "```"), None)
        if end is None:
            raise ValueError(f"README.md line {i + 2}: the code block is never closed")
        commands: list[Command] = []
        for body in lines[i + 2 : end]:
            if body.startswith("$ "):
                commands.append(Command(body[2:]))
            elif commands:
                commands[-1].shown.append(body)
            elif body.strip():
                raise ValueError(f"README.md: output before any command in block at line {i + 1}")
        yield Block(mark["context"], bool(mark["show"]), i + 2, end, commands)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GREENERY_", "PG"))}
    env.update(
        TZ="Pacific/Kiritimati",
        COLUMNS="80",
        GREENERY_WIDTH="80",  # a pipe gets unwrapped plain lines; the README shows a terminal's
        NO_COLOR="1",
        TERM="dumb",
        HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
    )
    return env


def argv(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    if not words or words[0] != "greenery":
        raise ValueError(f"README.md: only greenery commands are run, not {line!r}")
    return [sys.executable, "-m", "greenery_cli", *words[1:]]


@dataclass
class Ran:
    command: Command
    code: int
    stdout: str
    stderr: str


def prepare(context: str, folder: Path, env: dict[str, str]) -> None:
    if context != "real":
        return
    if not (REAL_DATA / "raw" / "events.csv").is_file():
        raise FileNotFoundError(f"the real greenery dataset is not at {REAL_DATA}")
    for step in (
        ["load", "--source", str(REAL_DATA / "raw")],
        ["snapshot", "--replay", str(REAL_DATA / "inventory-weeks")],
    ):
        subprocess.run(
            [sys.executable, "-m", "greenery_cli", *step],
            cwd=folder, env=env, check=True, capture_output=True, timeout=600,
        )  # fmt: skip


def run_block(block: Block, folder: Path) -> list[Ran]:
    env = environment(folder.parent / "home")
    ran = []
    for command in block.commands:
        done = subprocess.run(
            argv(command.line), cwd=folder, env=env, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        ran.append(Ran(command, done.returncode, done.stdout, done.stderr))
    return ran


def run_all(text: str) -> list[tuple[Block, list[Ran]]]:
    """Every block in order; the blocks of one context share its folder (prepared once)."""
    out = []
    with tempfile.TemporaryDirectory(prefix="greenery-readme-") as tmp:
        folders: dict[str, Path] = {}
        for block in blocks(text):
            if block.context not in folders:
                folders[block.context] = Path(tmp) / block.context
                folders[block.context].mkdir()
                prepare(block.context, folders[block.context], environment(Path(tmp) / "home"))
            out.append((block, run_block(block, folders[block.context])))
    return out


def shown(ran: Ran) -> list[str]:
    """The output as the README shows it: trailing blanks dropped from every line."""
    lines = [line.rstrip() for line in ran.stdout.rstrip("\n").split("\n")]
    return lines if ran.stdout.strip() else []


def rewrite(text: str, results: list[tuple[Block, list[Ran]]]) -> str:
    lines = text.split("\n")
    for block, ran in reversed(results):
        if not block.show:
            continue
        body: list[str] = []
        for r in ran:
            body += [f"$ {r.command.line}", *shown(r)]
        lines[block.start : block.end] = body
    return "\n".join(lines)


def main(args: list[str]) -> int:
    text = README.read_text()
    results = run_all(text)
    failed = [r for _, ran in results for r in ran if r.code != 0]
    for r in failed:
        print(f"exit {r.code}: greenery ... {r.command.line}\n{r.stderr}", file=sys.stderr)
    if failed:
        return 1
    if "--write" in args:
        README.write_text(rewrite(text, results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
