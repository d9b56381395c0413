"""The weekly report on a terminal: each section titled with the question it answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenery_cli.report import QUESTIONS, WeeklyReport

if TYPE_CHECKING:
    from rich.console import RenderableType


def report_view(report: WeeklyReport) -> list[RenderableType]:
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
        parts.append(Rule(style="dim"))
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
    """The report on stdout: every section for people (table) or one JSON object."""
    import sys

    from greenery_cli.output import stdout_console, to_json
    from greenery_cli.report import report_json

    if fmt == "json":
        sys.stdout.write(to_json(report_json(report)) + "\n")
        return
    console = stdout_console()
    for part in report_view(report):
        console.print(part)
