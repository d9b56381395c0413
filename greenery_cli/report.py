"""`greenery report`: every week-4 answer of the warehouse, from one read-only connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from greenery_cli.errors import UsageError
from greenery_cli.warehouse import Warehouse, open_warehouse

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
}
TOP_FLUCTUATIONS = 10
STOCKOUT_WEEKS = 3


@dataclass
class WeeklyReport:
    inventory_changes: InventoryChanges | None = None
    fluctuations: Fluctuations | None = None
    stockouts: Stockouts | None = None
    funnel_by_step: FunnelResult | None = None
    unanswered: dict[str, str] = field(default_factory=dict)  # section -> why not


def _attempt(report: WeeklyReport, section: str, question: Callable[[], R]) -> R | None:
    """An answer, or the reason there is none (e.g. no snapshot history yet) kept for the page."""
    try:
        return question()
    except UsageError as exc:
        report.unanswered[section] = str(exc)
        return None


def weekly_report(wh: Warehouse) -> WeeklyReport:
    from greenery_cli.funnel import FunnelSettings, funnel_by_step
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


def data_as_of(wh: Warehouse) -> datetime | None:
    from greenery_cli.project import current
    from greenery_cli.sql import render

    tables = [t for t in current().sources if t.freshness_column and wh.table_exists("raw", t.name)]
    if not tables:
        return None
    return wh.scalar(render("reports/data_as_of.sql", tables=tables))


def dashboard_data(wh: Warehouse, report: WeeklyReport) -> DashboardData:
    """The page's data: the same answers as the terminal report, plus paths and freshness."""
    import polars as pl

    from greenery_cli.dashboard import DashboardData, inventory_paths, last_snapshot_and_load
    from greenery_cli.views.inventory import inventory_changes_title, stockouts_title

    def rows(result: Any) -> pl.DataFrame:
        return result.rows if result is not None else pl.DataFrame()

    empty_changes = pl.DataFrame(
        schema={
            "product_id": pl.String,
            "name": pl.String,
            "inventory_before": pl.Int64,
            "inventory_after": pl.Int64,
            "change": pl.Int64,
        }
    )
    empty_stockouts = pl.DataFrame(
        schema={
            "product_id": pl.String,
            "name": pl.String,
            "out_since": pl.Datetime("us", "UTC"),
            "restocked_at": pl.Datetime("us", "UTC"),
            "restocked_inventory": pl.Int64,
        }
    )
    funnel = report.funnel_by_step
    if funnel is None:
        raise UsageError(report.unanswered.get("funnel_by_step", "no funnel to draw"))
    snapshot_at, load_at = last_snapshot_and_load(wh)
    changes, outs = report.inventory_changes, report.stockouts
    return DashboardData(
        funnel_by_step=funnel.rows,
        funnel_caption=funnel.counted,
        inventory_paths=inventory_paths(wh),
        inventory_changes=changes.rows if changes is not None else empty_changes,
        changes_label=inventory_changes_title(changes)
        if changes is not None
        else report.unanswered.get("inventory_changes", ""),
        stockouts=outs.rows if outs is not None else empty_stockouts,
        stockouts_label=stockouts_title(outs)
        if outs is not None
        else report.unanswered.get("stockouts", ""),
        data_as_of=data_as_of(wh),
        last_snapshot_at=snapshot_at,
        last_load_at=load_at,
    )


def build_report(
    db: str | Path | None, html: str | Path | None = None, wait: float = 10.0
) -> WeeklyReport:
    """Answer every weekly question; with `html`, also write the dashboard page there."""
    with open_warehouse(db, wait=wait) as wh:
        report = weekly_report(wh)
        if html is not None:
            from greenery_cli.dashboard import write_dashboard

            write_dashboard(wh, html, lambda w: dashboard_data(w, report))
    return report
