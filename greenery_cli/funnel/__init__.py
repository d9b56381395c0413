"""The product funnel: how units (sessions or users) move through the funnel_steps seed's steps.

Every question takes an OPEN warehouse and a FunnelSettings, and returns a FunnelResult (rows
plus exactly what was counted), so the CLI, `greenery report` and the HTML dashboard share one
path. The rules (attempts, entry, modes, ties, repeats, windows, exclusions, which attempt a
breakdown or a time reads) are documented in docs/funnel.md; the SQL is in
queries/reports/funnel_*.sql.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError
from greenery_cli.funnel.breakdown import funnel_breakdown, properties
from greenery_cli.funnel.engine import data_ends_at, funnel_steps, require_marts
from greenery_cli.funnel.products import (
    PRODUCT_COLUMNS,
    STOCK_COLUMNS,
    funnel_by_product,
    product_column,
    stock_summary,
)
from greenery_cli.funnel.questions import (
    funnel_by_step,
    funnel_summary,
    funnel_trend,
    step_rows,
    time_to_convert,
)
from greenery_cli.funnel.settings import (
    DEFAULT_WINDOW,
    ENTRIES,
    LIST_KINDS,
    ORDERS,
    PERIODS,
    UNITS,
    Exclusion,
    FunnelResult,
    FunnelSettings,
    FunnelStep,
    UnitList,
    format_window,
    parse_exclusion,
    parse_list,
)
from greenery_cli.funnel.units import funnel_units

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

QUESTION_FUNCTIONS = {
    "summary": funnel_summary,
    "by-step": funnel_by_step,
    "by-product": funnel_by_product,
    "breakdown": funnel_breakdown,
    "units": funnel_units,
    "trend": funnel_trend,
    "time-to-convert": time_to_convert,
}
QUESTIONS = tuple(QUESTION_FUNCTIONS)

__all__ = [
    "DEFAULT_WINDOW",
    "ENTRIES",
    "LIST_KINDS",
    "ORDERS",
    "PERIODS",
    "PRODUCT_COLUMNS",
    "QUESTIONS",
    "QUESTION_FUNCTIONS",
    "STOCK_COLUMNS",
    "UNITS",
    "Exclusion",
    "FunnelResult",
    "FunnelSettings",
    "FunnelStep",
    "UnitList",
    "answer",
    "data_ends_at",
    "format_window",
    "funnel_breakdown",
    "funnel_by_product",
    "funnel_by_step",
    "funnel_steps",
    "funnel_summary",
    "funnel_trend",
    "funnel_units",
    "parse_exclusion",
    "parse_list",
    "product_column",
    "properties",
    "step_rows",
    "stock_summary",
    "time_to_convert",
]


def answer(
    db: str | Path | None, question: str, settings: FunnelSettings, *, wait: float = 10.0
) -> FunnelResult:
    """Open the warehouse read-only and answer one funnel question (what the CLI calls)."""
    from greenery_cli.warehouse import open_warehouse

    if question not in QUESTION_FUNCTIONS:
        raise UsageError(f"unknown funnel question {question!r}")
    with open_warehouse(db, wait=wait) as wh:
        return QUESTION_FUNCTIONS[question](wh, resolved(wh, settings))


def resolved(wh: Warehouse, settings: FunnelSettings) -> FunnelSettings:
    """--since/--until written as durations (`7d`) count back from the latest event."""
    from dataclasses import replace

    from greenery_cli.parsing import Before

    if not isinstance(settings.since, Before) and not isinstance(settings.until, Before):
        return settings
    require_marts(wh)
    latest = data_ends_at(wh)
    if latest is None:
        raise UsageError("--since/--until count back from the latest event, and there is none")
    since, until = settings.since, settings.until
    return replace(
        settings,
        since=since.resolve(latest) if isinstance(since, Before) else since,
        until=until.resolve(latest) if isinstance(until, Before) else until,
    )
