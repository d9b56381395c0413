"""The README is a page a new user can trust: short, every command on it runs, and every output
it shows is what the working tree prints (tests/readme_commands.py runs them)."""

from __future__ import annotations

import pytest
from conftest import REAL_DATA, REPO
from readme_commands import README, blocks, rewrite, run_all, shown

README_TEXT = (REPO / "README.md").read_text()


def test_readme_is_a_short_front_page() -> None:
    assert len(README_TEXT.splitlines()) <= 200


def test_readme_blocks_parse_and_every_command_is_greenery() -> None:
    found = list(blocks(README_TEXT))
    assert {b.context for b in found} == {"real", "empty"}
    shown_commands = [c.line for b in found if b.show for c in b.commands]
    for question in ("inventory-changes", "fluctuations", "stockouts", "funnel --by-step"):
        assert any(line.startswith(f"greenery {question}") for line in shown_commands), question


def test_the_runner_rewrites_only_shown_blocks() -> None:
    text = "<!-- run: empty show -->\n```console\n$ greenery x\nold\n```\n"
    (block,) = blocks(text)
    assert block.commands[0].shown == ["old"]

    class Ran:
        command = block.commands[0]
        stdout = "new   \nlines\n"

    assert rewrite(text, [(block, [Ran()])]) == (  # type: ignore[list-item]
        "<!-- run: empty show -->\n```console\n$ greenery x\nnew\nlines\n```\n"
    )
    assert shown(Ran()) == ["new", "lines"]  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_DATA / "raw" / "events.csv").is_file(), reason="no real dataset")
def test_every_readme_command_runs_and_shows_its_real_output() -> None:
    assert README == REPO / "README.md"
    for block, ran in run_all(README_TEXT):
        for r in ran:
            assert r.code == 0, f"greenery ... {r.command.line} exited {r.code}: {r.stderr}"
            if block.show:
                assert [line.rstrip() for line in r.command.shown] == shown(r), (
                    f"README.md shows another output for `{r.command.line}`: "
                    "run `python tests/readme_commands.py --write` and review the diff"
                )
