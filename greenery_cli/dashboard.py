"""The dashboard: one self-contained HTML page with the week-4 answers as pictures.

The page is drawn from a `DashboardData` (the answers as DataFrames plus labels saying what was
compared), so the same numbers the CLI prints are the ones on the page. No scripts, fonts or
images load from anywhere: CSS and SVG are inline, and a Content-Security-Policy forbids the
rest. Declared as the `weekly_report` exposure in queries/exposures.toml.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.warehouse import Warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"

# the columns each frame must carry: the data contract with the question modules
# (a funnel without `label` shows its event types; changes without `status` show none)
FUNNEL_COLUMNS = (
    "step",
    "event_type",
    "count",
    "pct_of_first",
    "conversion_from_previous",
    "drop_off",
    "drop_off_rate",
    "largest_drop_off_by_count",
    "largest_drop_off_by_rate",
)
INVENTORY_PATH_COLUMNS = ("product_id", "name", "snapshot_run_id", "taken_at", "inventory")
INVENTORY_CHANGE_COLUMNS = ("product_id", "name", "inventory_before", "inventory_after", "change")
STOCKOUT_COLUMNS = ("product_id", "name", "out_since", "restocked_at", "restocked_inventory")


@dataclass(frozen=True)
class DashboardData:
    """Everything the page shows; each frame is the matching command's JSON rows."""

    funnel_by_step: pl.DataFrame  # `greenery funnel --by-step` rows (+ `label` from the seed)
    funnel_caption: str  # what the funnel counted: mode, window, unit
    inventory_paths: pl.DataFrame  # `inventory_paths(wh)`: changed products at every run
    inventory_changes: pl.DataFrame  # `greenery inventory-changes` rows (+ `status`)
    changes_label: str  # which runs/times the changes compare
    stockouts: pl.DataFrame  # `greenery stockouts --weeks 3` rows
    stockouts_label: str  # the window the stockouts cover
    data_as_of: datetime | None = None  # newest record in the sources (freshness)
    last_snapshot_at: datetime | None = None
    last_load_at: datetime | None = None


def inventory_paths(wh: Warehouse) -> pl.DataFrame:
    """The inventory of every product whose inventory changed, at each snapshot run."""
    import polars as pl

    from greenery_cli.sql import render

    if not (
        wh.table_exists("snapshots", "products_snapshot")
        and wh.table_exists("snapshots", "snapshot_runs")
    ):
        return pl.DataFrame(
            schema={
                "product_id": pl.String,
                "name": pl.String,
                "snapshot_run_id": pl.Int64,
                "taken_at": pl.Datetime("us", "UTC"),
                "inventory": pl.Int32,
            }
        )
    return wh.frame(render("reports/inventory_paths.sql"))


def last_snapshot_and_load(wh: Warehouse) -> tuple[datetime | None, datetime | None]:
    """When the latest effective snapshot run was taken, and when greenery last loaded."""
    snapshot_at = (
        wh.scalar("select max(taken_at) from snapshots.snapshot_runs")
        if wh.table_exists("snapshots", "snapshot_runs")
        else None
    )
    load_at = (
        wh.scalar("select max(loaded_at) from meta.loads")
        if wh.table_exists("meta", "loads")
        else None
    )
    return snapshot_at, load_at


def _check_columns(df: pl.DataFrame, columns: tuple[str, ...], field: str) -> None:
    missing = [name for name in columns if name not in df.columns]
    if missing:
        raise ValueError(f"DashboardData.{field} lacks columns {', '.join(missing)}")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(value: datetime | None) -> str:
    return "unknown" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _day(value: datetime) -> str:
    return _utc(value).strftime("%b %d")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def _signed(value: int | None) -> str:
    if value is None:
        return "–"
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The HTML environment: autoescaped (names are text, never markup), StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, day=_day, pct=_pct, num=_num, signed=_signed)
    return env


def render_html(data: DashboardData, generated_at: datetime) -> str:
    """The whole page as one string of self-contained HTML."""
    from greenery_cli import charts

    _check_columns(data.funnel_by_step, FUNNEL_COLUMNS, "funnel_by_step")
    _check_columns(data.inventory_paths, INVENTORY_PATH_COLUMNS, "inventory_paths")
    _check_columns(data.inventory_changes, INVENTORY_CHANGE_COLUMNS, "inventory_changes")
    _check_columns(data.stockouts, STOCKOUT_COLUMNS, "stockouts")
    funnel_rows = data.funnel_by_step.sort("step").to_dicts()
    context: dict[str, Any] = {
        "data": data,
        "generated_at": generated_at,
        "funnel": charts.funnel_chart(funnel_rows),
        "paths": charts.inventory_paths_charts(data.inventory_paths.to_dicts()),
        "box": charts.path_box(),
        "changes": [{"status": None, **row} for row in data.inventory_changes.to_dicts()],
        "stockouts": data.stockouts.to_dicts(),
    }
    return environment().get_template("dashboard.html.j2").render(**context)


def write_dashboard(
    wh: Warehouse,
    path: str | os.PathLike[str],
    answers: Callable[[Warehouse], DashboardData],
    generated_at: datetime | None = None,
) -> Path:
    """Gather the answers from the warehouse and write the page atomically to `path`."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(f"--html {target}: is a folder; give a file name such as report.html")
    if not target.parent.is_dir():
        raise UsageError(f"--html {target}: folder {target.parent} does not exist")
    page = render_html(answers(wh), generated_at or datetime.now(UTC))
    # write beside the target, then rename: a reader never sees half a page
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
