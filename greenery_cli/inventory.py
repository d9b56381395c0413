"""The week-4 inventory questions, answered from the snapshot history.

Each question takes an OPEN warehouse and a settings object and returns a small result: the
rows (`Rows`, plain Python rows: greenery_cli/rows.py) and the snapshot runs that label what
was compared, so one connection can answer all three (`greenery report`, the dashboard).
`ask(db, question, settings)` opens the warehouse read-only for a single question.

Points of history (parsed by greenery_cli.parsing, docs/options.md): a snapshot run id (`3`),
an ISO datetime (`2024-10-22T06:00:00Z`, naive = UTC), a bare date (`2024-10-22`, 00:00 UTC as
everywhere), or a duration before the latest run (`7d`). Every point resolves to the latest
snapshot run taken at or before it, because the history only changes at run times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.errors import UsageError, WarehouseError
from greenery_cli.output import iso_utc
from greenery_cli.sql import render
from greenery_cli.warehouse import Warehouse

if TYPE_CHECKING:
    from greenery_cli.parsing import Before, Point
    from greenery_cli.rows import Rows

SNAPSHOT_TABLES = ("products_snapshot", "snapshot_runs")
RANK_BY = ("changes", "total_change", "range", "stddev")
# the default ranking breaks a tie in the number of changes by how far the inventory moved
_RANK_COLUMNS = {
    "changes": ("changes", "total_change"),
    "total_change": ("total_change",),
    "range": ('"range"',),
    "stddev": ("stddev",),
}

Result = TypeVar("Result")
Settings = TypeVar("Settings")


class SnapshotPoint(NamedTuple):
    """A point of history: the snapshot run whose state holds there, and what was asked for."""

    run_id: int
    taken_at: datetime
    asked: str | None = None  # how the user named the point, when it was not a run id

    def label(self) -> str:
        text = f"run {self.run_id} at {iso_utc(self.taken_at)}"
        return f"{text} (as of {self.asked})" if self.asked else text


class InventoryChangesSettings(NamedTuple):
    from_point: Point | str | None = None  # see parsing.parse_point; None: the previous run
    to_point: Point | str | None = None  # None: the latest run
    since: Point | str | None = None  # as --from, but a moment before the history is its start


class InventoryChanges(NamedTuple):
    rows: Rows  # product_id, name, status, inventory_before, inventory_after, change
    before: SnapshotPoint
    after: SnapshotPoint
    unchanged: int  # products present at both points with the same inventory
    why: str | None = None  # how the default earlier point was chosen (None: --from/--since)

    def how_many(self, status: str) -> int:
        """How many rows have this status (changed, new or removed)."""
        return sum(1 for s in self.rows["status"] if s == status)


class FluctuationsSettings(NamedTuple):
    since: Point | str | None = None  # as from_point, lenient before history; None: all history
    from_point: Point | str | None = None
    to_point: Point | str | None = None
    rank_by: str = "changes"
    # keep ranks 1..top (products tied at rank `top` are all kept) of the products that moved
    top: int | None = None
    include_unchanged: bool = False  # list the products whose inventory never moved too


class Fluctuations(NamedTuple):
    rows: Rows  # rank, product_id, name, changes, total_change, ..., path
    start: SnapshotPoint
    end: SnapshotPoint
    runs: int  # snapshot runs taken within the window
    rank_by: str
    products: int  # products with inventory history in the window, before --top
    products_changed: int  # of which changed inventory at least once
    unchanged_left_out: int = 0  # products that never moved, not listed


class StockoutsSettings(NamedTuple):
    weeks: int = 3  # counted back from the latest snapshot run, not the wall clock
    threshold: int = 0  # out of stock = inventory at or below this


class Stockouts(NamedTuple):
    rows: Rows  # product_id, name, out_since, restocked_at, restocked_inventory, ...
    window_start: datetime
    end: SnapshotPoint
    first_run: SnapshotPoint | None  # the earliest run inside the window
    weeks: int
    threshold: int

    @property
    def products_out(self) -> int:
        return len(set(self.rows["product_id"]))

    @property
    def still_out(self) -> int:
        rows = self.rows.iter_rows(named=True)
        return len({r["product_id"] for r in rows if r["status"] == "still out"})


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
    rows = wh.rows(sql, {**params, "limit": limit})
    return [SnapshotPoint(int(run_id), taken_at) for run_id, taken_at in rows]


class History:
    """The snapshot history's ends, read in one query (reports/snapshot_history.sql)."""

    __slots__ = ("first", "latest", "previous", "runs")

    def __init__(
        self, latest: SnapshotPoint, previous: SnapshotPoint | None, first: SnapshotPoint, runs: int
    ) -> None:
        self.latest = latest
        self.previous = previous  # the run before the latest; None when there is only one
        self.first = first
        self.runs = runs


def history(wh: Warehouse) -> History:
    """The history's latest, previous and first runs, or a usage error saying how to start
    recording it."""
    found: History = wh.remembered("snapshot history", lambda: _read_history(wh))
    return found


def _read_history(wh: Warehouse) -> History:
    try:
        with _sql_errors("the inventory questions"):
            found = wh.rows(render("reports/snapshot_history.sql"))
    except WarehouseError:
        _require_tables(wh)  # a missing table is named as such; any other failure as it was
        raise
    if not found:
        raise UsageError(
            f"no inventory history in {wh.path}: snapshots.snapshot_runs is empty; "
            "run `greenery snapshot` to record the first state"
        )
    ends = {}
    for from_latest, from_first, run_id, taken_at, _ in found:
        point = SnapshotPoint(int(run_id), taken_at)
        if from_latest <= 2:
            ends[f"latest{from_latest}"] = point
        if from_first == 1:
            ends["first"] = point
    return History(ends["latest1"], ends.get("latest2"), ends["first"], int(found[0][4]))


def _require_tables(wh: Warehouse) -> None:
    missing = [t for t in SNAPSHOT_TABLES if not wh.table_exists("snapshots", t)]
    if missing:
        raise UsageError(
            f"no inventory history in {wh.path}: snapshots.{missing[0]} does not exist; "
            "run `greenery snapshot` (e.g. from cron) to start recording it"
        )


def require_history(wh: Warehouse) -> SnapshotPoint:
    """The latest snapshot run, or a usage error saying how to start recording history."""
    return history(wh).latest


def _runs_in_window(
    wh: Warehouse, start: datetime, end: datetime
) -> tuple[int, SnapshotPoint | None]:
    """How many snapshot runs were taken in [start, end], and the first of them."""
    found = wh.rows(render("reports/snapshot_runs_in_window.sql"), {"start": start, "end": end})
    if not found:
        return 0, None
    run_id, taken_at, runs = found[0]
    return int(runs), SnapshotPoint(int(run_id), taken_at)


def resolve_point(wh: Warehouse, point: Point | str, known: History | None = None) -> SnapshotPoint:
    """A run id, a moment or a duration before the latest run -> the run whose state holds then."""
    point = _parsed(point)
    if isinstance(point, int):
        found = _runs(wh, "id", run_id=point)
        if not found:
            raise UsageError(f"no snapshot run {point} in snapshots.snapshot_runs")
        return found[0]
    moment, asked = _moment(wh, point, known)
    return _run_at(wh, moment, asked, known)


def _parsed(point: Point | str) -> Point:
    # parsing is imported only when a point is asked for: the defaults need none
    from greenery_cli.parsing import parse_point

    return parse_point(point) if isinstance(point, str) else point


def _moment(wh: Warehouse, point: datetime | Before, known: History | None) -> tuple[datetime, str]:
    from greenery_cli.parsing import Before

    if isinstance(point, Before):
        latest = known.latest if known else require_history(wh)
        return point.resolve(latest.taken_at), f"{point.text} before the latest run"
    return point, iso_utc(point)


def _first_run(wh: Warehouse, known: History | None) -> SnapshotPoint:
    return known.first if known else _runs(wh, "all", oldest_first=True)[0]


def _run_at(wh: Warehouse, moment: datetime, asked: str, known: History | None) -> SnapshotPoint:
    found = _runs(wh, "at_or_before", moment=moment)
    if not found:
        first = _first_run(wh, known)
        raise UsageError(
            f"{asked} ({iso_utc(moment)}) is before the first snapshot run "
            f"({first.label()}); there is no inventory history then"
        )
    return SnapshotPoint(found[0].run_id, found[0].taken_at, asked)


def _since(wh: Warehouse, known: History, since: Point | str) -> SnapshotPoint:
    """As --from, but a moment before the history starts at its first run (a window)."""
    since = _parsed(since)
    if isinstance(since, int):
        return resolve_point(wh, since)
    moment, asked = _moment(wh, since, known)
    found = _runs(wh, "at_or_before", moment=moment)
    if found:
        return SnapshotPoint(found[0].run_id, found[0].taken_at, asked)
    first = known.first
    return SnapshotPoint(first.run_id, first.taken_at, f"{asked}, which is before the first run")


def _window(
    wh: Warehouse,
    from_point: Point | str | None,
    to_point: Point | str | None,
    since: Point | str | None,
) -> tuple[SnapshotPoint | None, SnapshotPoint, History]:
    """(from, to) as asked, and the history's ends; from is None when not given (each question
    picks its own default)."""
    known = history(wh)
    if since is not None and from_point is not None:
        raise UsageError("--since and --from both name the start: give one of them")
    with _sql_errors("the inventory questions"):
        end = resolve_point(wh, to_point, known) if to_point is not None else known.latest
        if since is not None:
            start: SnapshotPoint | None = _since(wh, known, since)
        else:
            start = resolve_point(wh, from_point, known) if from_point is not None else None
    if start is not None and start.taken_at > end.taken_at:
        raise UsageError(f"--from ({start.label()}) is after --to ({end.label()})")
    return start, end, known


def inventory_changes(wh: Warehouse, settings: InventoryChangesSettings) -> InventoryChanges:
    """Products whose inventory differs between two points (default: previous run -> latest)."""
    before, after, known = _window(wh, settings.from_point, settings.to_point, settings.since)
    why = None
    rows = None
    if before is None:
        with _sql_errors("inventory-changes"):
            before, why, rows = _last_difference(wh, after, known)
    if before.run_id == after.run_id:
        raise UsageError(
            f"both points are the state of {after.label()}; nothing to compare "
            "(see `greenery snapshot list` for the runs)"
        )
    if rows is None:
        with _sql_errors("inventory-changes"):
            rows = _changes(wh, before, after)
    statuses = rows["status"]
    unchanged = sum(1 for s in statuses if s == "unchanged")
    changed = rows.where([s != "unchanged" for s in statuses])
    return InventoryChanges(changed, before, after, unchanged, why)


def _changes(wh: Warehouse, before: SnapshotPoint, after: SnapshotPoint) -> Rows:
    """Every product present at either point, with its status and inventory at both."""
    return wh.fetch(
        render("reports/inventory_changes.sql"),
        {"before": before.taken_at, "after": after.taken_at},
    )


def _last_difference(
    wh: Warehouse, after: SnapshotPoint, known: History
) -> tuple[SnapshotPoint, str, Rows | None]:
    """The last run before `after` whose inventory differs from it, why it was chosen (a cron
    job snapshotting every 15 minutes must not make the default answer empty), and the changes
    between them when they were read on the way."""
    if after == known.latest:  # the history's own ends answer it: no query
        earlier = [known.latest] if known.previous is None else [known.latest, known.previous]
    else:
        earlier = _runs(wh, "at_or_before", limit=2, moment=after.taken_at)
    if len(earlier) < 2:
        raise UsageError(
            f"only one snapshot run ({after.label()}) at or before that point: inventory "
            "changes need two; run `greenery snapshot` again after the inventory is updated"
        )
    why = f"the last run before run {after.run_id} whose inventory differs"
    # the previous run is that run whenever its inventory differs, as it does week by week:
    # then its changes are the answer, and the history need not be searched
    previous = _changes(wh, earlier[1], after)
    if any(status != "unchanged" for status in previous["status"]):
        return earlier[1], why, previous
    found = wh.rows(render("reports/inventory_last_difference.sql"), {"to": after.taken_at})
    if not found:
        return (
            earlier[1],
            f"no earlier run's inventory differs from run {after.run_id}, so this is the "
            "previous run",
            previous,
        )
    before = SnapshotPoint(int(found[0][0]), found[0][1])
    between = int(found[0][2]) - 2  # the runs from `before` to `after`, both left out
    if between:
        why += f"; the {between} run(s) between recorded the same inventory as run {after.run_id}"
    return before, why, None


def fluctuations(wh: Warehouse, settings: FluctuationsSettings) -> Fluctuations:
    """Per product over a window (default all history): changes, spread and path, ranked."""
    if settings.rank_by not in RANK_BY:
        raise UsageError(f"--rank-by must be one of {', '.join(RANK_BY)}, not {settings.rank_by!r}")
    if settings.top is not None and settings.top < 1:
        raise UsageError("--top must be at least 1")
    start, end, known = _window(wh, settings.from_point, settings.to_point, settings.since)
    with _sql_errors("fluctuations"):
        start = start or known.first
        if start == known.first and end == known.latest:
            runs = known.runs  # the whole history: no query
        else:
            runs = _runs_in_window(wh, start.taken_at, end.taken_at)[0]
        rows = wh.fetch(
            render("reports/fluctuations.sql", rank_columns=_RANK_COLUMNS[settings.rank_by]),
            {"start": start.taken_at, "end": end.taken_at},
        )
    moved = [c > 0 for c in rows["changes"]]
    changed = sum(moved)
    # a product whose inventory never moved did not fluctuate: left out unless asked for
    shown = rows if settings.include_unchanged else rows.where(moved)
    if settings.top is not None:
        top = settings.top
        shown = shown.where(
            [r <= top and c > 0 for r, c in zip(shown["rank"], shown["changes"], strict=True)]
        )
    left_out = 0 if settings.include_unchanged else rows.height - changed
    return Fluctuations(shown, start, end, runs, settings.rank_by, rows.height, changed, left_out)


def stockouts(wh: Warehouse, settings: StockoutsSettings) -> Stockouts:
    """Spells at or below the threshold overlapping the last N weeks before the latest run."""
    if settings.weeks < 1:
        raise UsageError("--weeks must be at least 1")
    known = history(wh)
    end = known.latest
    window_start = end.taken_at - timedelta(weeks=settings.weeks)
    with _sql_errors("stockouts"):
        if window_start <= known.first.taken_at:
            first_run: SnapshotPoint | None = known.first  # the whole history is inside
        else:
            first_run = _runs_in_window(wh, window_start, end.taken_at)[1]
        rows = wh.fetch(
            render("reports/stockouts.sql"),
            {"start": window_start, "end": end.taken_at, "threshold": settings.threshold},
        )
    return Stockouts(rows, window_start, end, first_run, settings.weeks, settings.threshold)


def ask(
    db: str | Path | None,
    question: Callable[[Warehouse, Settings], Result],
    settings: Settings,
    wait: float = 10.0,
    engine: EngineSpec = DUCKDB,
) -> Result:
    """Open the warehouse read-only (or a session on the Spark engine) and answer one question."""
    from greenery_cli.engines import open_engine

    with open_engine(db, engine, wait=wait) as wh:
        return question(wh, settings)
