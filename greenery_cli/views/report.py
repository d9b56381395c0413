"""The weekly report on a terminal: each section titled with the question it answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenery_cli.report import QUESTIONS, WeeklyReport

if TYPE_CHECKING:
    from rich.console import RenderableType


RULE_WIDTH = 120  # the sections' rule: the terminal's width up to this (plain output: this)


def report_view(report: WeeklyReport) -> list[RenderableType]:
    from rich.constrain import Constrain
    from rich.rule import Rule
    from rich.text import Text

    from greenery_cli.views.funnel import funnel_view
    from greenery_cli.views.inventory import (
        fluctuations_view,
        inventory_changes_view,
        stockouts_view,
    )

    views: dict[str, Callable[[Any], list[RenderableType]]] = {
        "inventory_changes": inventory_changes_view,
        "fluctuations": fluctuations_view,
        "stockouts": stockouts_view,
        "funnel_by_step": lambda result: [funnel_view(result)],
        "funnel_by_product": lambda result: [funnel_view(result)],
    }
    parts: list[RenderableType] = []
    for number, (section, question) in enumerate(QUESTIONS.items(), start=1):
        parts.append(Constrain(Rule(style="dim"), RULE_WIDTH))
        parts.append(Text(f"{number}. {question}", style="bold"))
        result = getattr(report, section)
        if result is None:
            parts.append(
                Text(f"No answer: {report.unanswered.get(section, 'unknown')}", style="yellow")
            )
        else:
            parts.extend(views[section](result))
        parts.append(Text(""))
    return parts


def print_report(report: WeeklyReport, fmt: str) -> None:
    """The report on stdout: every section for people (table), one JSON object, or each
    section's rows as CSV / a Markdown table under a line naming its question."""
    import sys

    from greenery_cli.output import print_lines, stdout_console, to_csv, to_json, to_markdown
    from greenery_cli.report import report_json

    if fmt == "json":
        sys.stdout.write(to_json(report_json(report)) + "\n")
        return
    if fmt in ("csv", "markdown"):
        blocks = []
        for number, (section, question) in enumerate(QUESTIONS.items(), start=1):
            result = getattr(report, section)
            head = f"# {number}. {question}" if fmt == "csv" else f"## {number}. {question}\n"
            if result is None:
                why = report.unanswered.get(section, "unknown")
                body = f"# no answer: {why}\n" if fmt == "csv" else f"No answer: {why}\n"
            else:
                body = to_csv(result.rows) if fmt == "csv" else to_markdown(result.rows)
            blocks.append(f"{head}\n{body}")
        sys.stdout.write("\n".join(blocks))
        return
    print_lines(stdout_console(), *report_view(report))
