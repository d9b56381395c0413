"""`greenery report`: every week-4 answer of the warehouse, from one read-only connection (or
one session on the Spark engine: the question functions are the same)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.errors import UsageError
from greenery_cli.warehouse import Warehouse

if TYPE_CHECKING:
    from greenery_cli.dashboard import DashboardData
    from greenery_cli.funnel import FunnelResult
    from greenery_cli.inventory import Fluctuations, InventoryChanges, Stockouts

R = TypeVar("R")

# each section of the report and the weekly question it answers
QUESTIONS = {
    "inventory_changes": "Which products had their inventory change from the previous "
    "snapshot to the latest (week 3 to week 4)?",
    "fluctuations": "Which products had the most fluctuations in inventory?",
    "stockouts": "Did we have any items go out of stock in the last 3 weeks?",
    "funnel_by_step": "How are users moving through the product funnel, and which step has "
    "the largest drop-off?",
    "funnel_by_product": "How does each product move through the funnel?",
}
TOP_FLUCTUATIONS = 10
STOCKOUT_WEEKS = 3


@dataclass
class WeeklyReport:
    inventory_changes: InventoryChanges | None = None
    fluctuations: Fluctuations | None = None
    stockouts: Stockouts | None = None
    funnel_by_step: FunnelResult | None = None
    funnel_by_product: FunnelResult | None = None
    unanswered: dict[str, str] = field(default_factory=dict)  # section -> why not


def _attempt(report: WeeklyReport, section: str, question: Callable[[], R]) -> R | None:
    """An answer, or the reason there is none (e.g. no snapshot history yet) kept for the page."""
    try:
        return question()
    except UsageError as exc:
        report.unanswered[section] = str(exc)
        return None


def weekly_report(wh: Warehouse) -> WeeklyReport:
    from greenery_cli.funnel import FunnelSettings, funnel_by_product, funnel_by_step
    from greenery_cli.inventory import (
        FluctuationsSettings,
        InventoryChangesSettings,
        StockoutsSettings,
        fluctuations,
        inventory_changes,
        stockouts,
    )

    report = WeeklyReport()
    report.inventory_changes = _attempt(
        report, "inventory_changes", lambda: inventory_changes(wh, InventoryChangesSettings())
    )
    report.fluctuations = _attempt(
        report, "fluctuations", lambda: fluctuations(wh, FluctuationsSettings(top=TOP_FLUCTUATIONS))
    )
    report.stockouts = _attempt(
        report, "stockouts", lambda: stockouts(wh, StockoutsSettings(weeks=STOCKOUT_WEEKS))
    )
    report.funnel_by_step = _attempt(
        report, "funnel_by_step", lambda: funnel_by_step(wh, FunnelSettings())
    )
    report.funnel_by_product = _attempt(
        report, "funnel_by_product", lambda: funnel_by_product(wh, FunnelSettings())
    )
    return report


def report_json(report: WeeklyReport) -> dict[str, Any]:
    """One object with a key per section: the same rows the section's own command prints."""
    from greenery_cli.output import records

    sections: dict[str, Any] = {}
    for section in QUESTIONS:
        result = getattr(report, section)
        sections[section] = None if result is None else records(result.rows)
    sections["questions"] = QUESTIONS
    sections["unanswered"] = report.unanswered
    return sections


def dashboard_data(wh: Warehouse, report: WeeklyReport, now: datetime) -> DashboardData:
    """The page's data: the terminal report's answers, plus freshness measured read-only."""
    from greenery_cli.dashboard import DashboardData
    from greenery_cli.errors import GreeneryError
    from greenery_cli.freshness import measure_freshness
    from greenery_cli.schedule import node_ages

    try:
        schedule, schedule_problem = node_ages(wh, now), None
    except GreeneryError as exc:  # no or a broken seeds/schedule.csv: the page says so
        schedule, schedule_problem = None, str(exc)
    return DashboardData(
        report=report,
        freshness=measure_freshness(wh, now),
        schedule=schedule,
        schedule_problem=schedule_problem,
        generated_at=now,
    )


def build_report(
    db: str | Path | None,
    html: str | Path | None = None,
    wait: float = 10.0,
    now: datetime | None = None,
    engine: EngineSpec = DUCKDB,
) -> WeeklyReport:
    """Answer every weekly question; with `html`, also write the dashboard page there.

    Reads only: the page's freshness is measured, not recorded (`greenery freshness` records).
    `now` is the moment ages are measured at (default: the clock). On a Spark engine the
    answers and the page's freshness come from its tables; the page is written here.
    """
    from greenery_cli.engines import open_engine

    with open_engine(db, engine, wait=wait) as wh:
        report = weekly_report(wh)
        if html is not None:
            from greenery_cli.dashboard import write_dashboard

            at = now or datetime.now(UTC)
            write_dashboard(html, dashboard_data(wh, report, at))
    return report
