"""The week-4 inventory questions, answered from the snapshot history.

Each question takes an OPEN warehouse and a settings object and returns a small result: the
rows (a polars DataFrame) and the snapshot runs that label what was compared, so one
connection can answer all three (`greenery report`, the dashboard). `ask(db, question,
settings)` opens the warehouse read-only for a single question.

Points of history: a snapshot run id (`3`), an ISO datetime (`2024-10-22T06:00:00Z`, naive =
UTC), or a bare date (`2024-10-22`) meaning the state at the END of that UTC day. Every point
resolves to the latest snapshot run taken at or before it, because the history only changes
at run times.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from greenery_cli.errors import UsageError, WarehouseError
from greenery_cli.output import iso_utc
from greenery_cli.sql import render
from greenery_cli.warehouse import Warehouse, open_warehouse

if TYPE_CHECKING:
    import polars as pl

SNAPSHOT_TABLES = ("products_snapshot", "snapshot_runs")
RANK_BY = ("changes", "total_change", "range", "stddev")
# the default ranking breaks a tie in the number of changes by how far the inventory moved
_RANK_COLUMNS = {
    "changes": ("changes", "total_change"),
    "total_change": ("total_change",),
    "range": ('"range"',),
    "stddev": ("stddev",),
}
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"(\d+)\s*([wdhms])")
_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Result = TypeVar("Result")
Settings = TypeVar("Settings")


@dataclass(frozen=True)
class SnapshotPoint:
    """A point of history: the snapshot run whose state holds there, and what was asked for."""

    run_id: int
    taken_at: datetime
    asked: str | None = None  # how the user named the point, when it was not a run id

    def label(self) -> str:
        text = f"run {self.run_id} at {iso_utc(self.taken_at)}"
        return f"{text} (as of {self.asked})" if self.asked else text


@dataclass(frozen=True)
class InventoryChangesSettings:
    from_point: str | None = None  # run id, ISO date or datetime; None: the previous run
    to_point: str | None = None  # None: the latest run
    since: str | None = None  # a duration back from the latest run, e.g. 7d


@dataclass(frozen=True)
class InventoryChanges:
    rows: pl.DataFrame  # product_id, name, status, inventory_before, inventory_after, change
    before: SnapshotPoint
    after: SnapshotPoint
    unchanged: int  # products present at both points with the same inventory
    why: str | None = None  # how the default earlier point was chosen (None: --from/--since)

    def count(self, status: str) -> int:
        return int((self.rows["status"] == status).sum())


@dataclass(frozen=True)
class FluctuationsSettings:
    since: str | None = None  # a duration back from the latest run; None: all history
    from_point: str | None = None
    to_point: str | None = None
    rank_by: str = "changes"
    # keep ranks 1..top (products tied at rank `top` are all kept) of the products that moved
    top: int | None = None
    include_unchanged: bool = False  # list the products whose inventory never moved too


@dataclass(frozen=True)
class Fluctuations:
    rows: pl.DataFrame  # rank, product_id, name, changes, total_change, ..., path
    start: SnapshotPoint
    end: SnapshotPoint
    runs: int  # snapshot runs taken within the window
    rank_by: str
    products: int  # products with inventory history in the window, before --top
    products_changed: int  # of which changed inventory at least once
    unchanged_left_out: int = 0  # products that never moved, not listed


@dataclass(frozen=True)
class StockoutsSettings:
    weeks: int = 3  # counted back from the latest snapshot run, not the wall clock
    threshold: int = 0  # out of stock = inventory at or below this


@dataclass(frozen=True)
class Stockouts:
    rows: pl.DataFrame  # product_id, name, out_since, restocked_at, restocked_inventory, ...
    window_start: datetime
    end: SnapshotPoint
    first_run: SnapshotPoint | None  # the earliest run inside the window
    weeks: int
    threshold: int

    @property
    def products_out(self) -> int:
        return int(self.rows["product_id"].n_unique())

    @property
    def still_out(self) -> int:
        return int(self.rows.filter(self.rows["status"] == "still out")["product_id"].n_unique())


def parse_duration(text: str) -> timedelta:
    """'7d', '12h', '2w', '1d12h', '90m' -> a timedelta; anything else is a usage error."""
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not parts or _DURATION.sub("", compact).strip():
        raise UsageError(
            f"cannot read duration {text!r}: use a number and a unit w, d, h, m or s (e.g. 7d, 12h)"
        )
    total = timedelta()
    for amount, unit in parts:
        total += timedelta(**{_DURATION_UNITS[unit]: int(amount)})
    if total <= timedelta():
        raise UsageError(f"duration {text!r} must be longer than zero")
    return total


def parse_moment(text: str) -> datetime:
    """An ISO date or datetime as a UTC moment; a bare date is the last instant of that UTC day."""
    value = text.strip()
    if _BARE_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise UsageError(f"cannot read date {text!r}: {exc}") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            days=1, microseconds=-1
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a point of history: give a snapshot run id (e.g. 3), "
            "a date (2024-10-22) or a datetime (2024-10-22T06:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextmanager
def _sql_errors(what: str) -> Iterator[None]:
    """A broken snapshot table is named, never shown as a DuckDB traceback."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot answer {what} from snapshots.products_snapshot / snapshots.snapshot_runs: "
            f"{str(exc).splitlines()[0]}"
        ) from None


def _runs(
    wh: Warehouse, by: str, *, limit: int = 1, oldest_first: bool = False, **params: Any
) -> list[SnapshotPoint]:
    sql = render("reports/snapshot_runs.sql", by=by, oldest_first=oldest_first)
    if by != "window":
        params["limit"] = limit
    return [SnapshotPoint(int(run_id), taken_at) for run_id, taken_at in wh.rows(sql, params)]


def require_history(wh: Warehouse) -> SnapshotPoint:
    """The latest snapshot run, or a usage error saying how to start recording history."""
    missing = [t for t in SNAPSHOT_TABLES if not wh.table_exists("snapshots", t)]
    if missing:
        raise UsageError(
            f"no inventory history in {wh.path}: snapshots.{missing[0]} does not exist; "
            "run `greenery snapshot` (e.g. from cron) to start recording it"
        )
    with _sql_errors("the inventory questions"):
        latest = _runs(wh, "all")
    if not latest:
        raise UsageError(
            f"no inventory history in {wh.path}: snapshots.snapshot_runs is empty; "
            "run `greenery snapshot` to record the first state"
        )
    return latest[0]


def resolve_point(wh: Warehouse, text: str) -> SnapshotPoint:
    """A run id or an ISO date/datetime -> the snapshot run whose state holds then."""
    value = text.strip()
    if value.isdigit():
        found = _runs(wh, "id", run_id=int(value))
        if not found:
            raise UsageError(f"no snapshot run {value} in snapshots.snapshot_runs")
        return found[0]
    asked = f"end of {value} UTC" if _BARE_DATE.fullmatch(value) else value
    return _run_at(wh, parse_moment(value), asked)


def _run_at(wh: Warehouse, moment: datetime, asked: str) -> SnapshotPoint:
    found = _runs(wh, "at_or_before", moment=moment)
    if not found:
        first = _runs(wh, "all", oldest_first=True)[0]
        raise UsageError(
            f"{asked} ({iso_utc(moment)}) is before the first snapshot run "
            f"({first.label()}); there is no inventory history then"
        )
    return SnapshotPoint(found[0].run_id, found[0].taken_at, asked)


def _since(wh: Warehouse, latest: SnapshotPoint, since: str) -> SnapshotPoint:
    """The run holding at (latest run - duration); a window reaching before history starts at it."""
    moment = latest.taken_at - parse_duration(since)
    found = _runs(wh, "at_or_before", moment=moment)
    asked = f"{since} before the latest run"
    if found:
        return SnapshotPoint(found[0].run_id, found[0].taken_at, asked)
    first = _runs(wh, "all", oldest_first=True)[0]
    return SnapshotPoint(first.run_id, first.taken_at, f"{asked}, which is before the first run")


def _window(
    wh: Warehouse, from_point: str | None, to_point: str | None, since: str | None
) -> tuple[SnapshotPoint | None, SnapshotPoint]:
    """(from, to) as asked; from is None when not given (each question picks its own default)."""
    latest = require_history(wh)
    if since and (from_point or to_point):
        raise UsageError(
            "--since counts back from the latest run; give it or --from/--to, not both"
        )
    with _sql_errors("the inventory questions"):
        end = resolve_point(wh, to_point) if to_point else latest
        if since:
            start: SnapshotPoint | None = _since(wh, latest, since)
        else:
            start = resolve_point(wh, from_point) if from_point else None
    if start is not None and start.taken_at > end.taken_at:
        raise UsageError(f"--from ({start.label()}) is after --to ({end.label()})")
    return start, end


def inventory_changes(wh: Warehouse, settings: InventoryChangesSettings) -> InventoryChanges:
    """Products whose inventory differs between two points (default: previous run -> latest)."""
    import polars as pl

    before, after = _window(wh, settings.from_point, settings.to_point, settings.since)
    why = None
    if before is None:
        with _sql_errors("inventory-changes"):
            before, why = _last_difference(wh, after)
    if before.run_id == after.run_id:
        raise UsageError(
            f"both points are the state of {after.label()}; nothing to compare "
            "(see `greenery snapshot --list` for the runs)"
        )
    with _sql_errors("inventory-changes"):
        rows = wh.frame(
            render("reports/inventory_changes.sql"),
            {"before": before.taken_at, "after": after.taken_at},
        )
    unchanged = int((rows["status"] == "unchanged").sum())
    changed = rows.filter(pl.col("status") != "unchanged")
    return InventoryChanges(changed, before, after, unchanged, why)


def _last_difference(wh: Warehouse, after: SnapshotPoint) -> tuple[SnapshotPoint, str]:
    """The last run before `after` whose inventory differs from it, and why it was chosen: a
    cron job snapshotting every 15 minutes must not make the default answer empty."""
    earlier = _runs(wh, "at_or_before", limit=2, moment=after.taken_at)
    if len(earlier) < 2:
        raise UsageError(
            f"only one snapshot run ({after.label()}) at or before that point: inventory "
            "changes need two; run `greenery snapshot` again after the inventory is updated"
        )
    found = wh.rows(render("reports/inventory_last_difference.sql"), {"to": after.taken_at})
    if not found:
        return earlier[1], (
            f"no earlier run's inventory differs from run {after.run_id}, so this is the "
            "previous run"
        )
    before = SnapshotPoint(int(found[0][0]), found[0][1])
    between = len(_runs(wh, "window", start=before.taken_at, end=after.taken_at)) - 2
    why = f"the last run before run {after.run_id} whose inventory differs"
    if between:
        why += f"; the {between} run(s) between recorded the same inventory as run {after.run_id}"
    return before, why


def fluctuations(wh: Warehouse, settings: FluctuationsSettings) -> Fluctuations:
    """Per product over a window (default all history): changes, spread and path, ranked."""
    if settings.rank_by not in RANK_BY:
        raise UsageError(f"--rank-by must be one of {', '.join(RANK_BY)}, not {settings.rank_by!r}")
    if settings.top is not None and settings.top < 1:
        raise UsageError("--top must be at least 1")
    start, end = _window(wh, settings.from_point, settings.to_point, settings.since)
    with _sql_errors("fluctuations"):
        if start is None:
            start = _runs(wh, "all", oldest_first=True)[0]
        runs = len(_runs(wh, "window", start=start.taken_at, end=end.taken_at))
        rows = wh.frame(
            render("reports/fluctuations.sql", rank_columns=_RANK_COLUMNS[settings.rank_by]),
            {"start": start.taken_at, "end": end.taken_at},
        )
    changed = int((rows["changes"] > 0).sum())
    # a product whose inventory never moved did not fluctuate: left out unless asked for
    shown = rows if settings.include_unchanged else rows.filter(rows["changes"] > 0)
    if settings.top is not None:
        shown = shown.filter((shown["rank"] <= settings.top) & (shown["changes"] > 0))
    left_out = 0 if settings.include_unchanged else rows.height - changed
    return Fluctuations(shown, start, end, runs, settings.rank_by, rows.height, changed, left_out)


def stockouts(wh: Warehouse, settings: StockoutsSettings) -> Stockouts:
    """Spells at or below the threshold overlapping the last N weeks before the latest run."""
    if settings.weeks < 1:
        raise UsageError("--weeks must be at least 1")
    end = require_history(wh)
    window_start = end.taken_at - timedelta(weeks=settings.weeks)
    with _sql_errors("stockouts"):
        inside = _runs(wh, "window", start=window_start, end=end.taken_at)
        rows = wh.frame(
            render("reports/stockouts.sql"),
            {"start": window_start, "end": end.taken_at, "threshold": settings.threshold},
        )
    return Stockouts(
        rows, window_start, end, inside[-1] if inside else None, settings.weeks, settings.threshold
    )


def ask(
    db: str | Path | None,
    question: Callable[[Warehouse, Settings], Result],
    settings: Settings,
    wait: float = 10.0,
) -> Result:
    """Open the warehouse read-only and answer one question."""
    with open_warehouse(db, wait=wait) as wh:
        return question(wh, settings)
