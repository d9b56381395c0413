"""The product funnel: how units (sessions or users) move through the funnel_steps seed's steps.

Every function takes an OPEN warehouse and a FunnelSettings, and returns a FunnelResult (rows
plus exactly what was counted), so the CLI, `greenery report` and the HTML dashboard share one
path. The rules (modes, ties, repeats, windows) are documented in the README's Funnel section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import DataError, UsageError, WarehouseError

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.warehouse import Warehouse

ORDERS = ("any", "ordered", "strict")
UNITS = ("session", "user")
PERIODS = ("day", "week")
QUESTIONS = ("summary", "by-step", "by-product", "trend", "time-to-convert")
DEFAULT_WINDOW = timedelta(hours=24)
# by-product column names for the team's event types; any other step keeps its event type
PRODUCT_COLUMNS = {"page_view": "viewed", "add_to_cart": "added_to_cart", "checkout": "checked_out"}
_MARTS = ("fct_funnel_events", "fct_event_path", "fct_product_funnel_events", "dim_products")


@dataclass(frozen=True)
class FunnelSettings:
    order: str = "any"  # any | ordered | strict
    window: timedelta = DEFAULT_WINDOW  # from the entering event, in every mode
    unit: str = "session"  # session | user
    since: datetime | None = None  # entering events at or after (UTC)
    until: datetime | None = None  # entering events before (UTC)
    period: str = "day"  # --trend: day | week

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise UsageError(f"--order {self.order}: choose one of {', '.join(ORDERS)}")
        if self.unit not in UNITS:
            raise UsageError(f"--unit {self.unit}: choose one of {', '.join(UNITS)}")
        if self.period not in PERIODS:
            raise UsageError(f"--trend {self.period}: choose one of {', '.join(PERIODS)}")
        if self.window <= timedelta(0):
            raise UsageError("--window must be longer than zero")
        if self.since and self.until and self.since >= self.until:
            raise UsageError("--since must be before --until")


@dataclass(frozen=True)
class FunnelStep:
    step: int
    event_type: str
    label: str


@dataclass(frozen=True)
class FunnelResult:
    """Rows of one funnel question and what was counted to get them."""

    question: str
    rows: pl.DataFrame
    settings: FunnelSettings
    steps: tuple[FunnelStep, ...]
    data_ends_at: datetime | None = None  # the latest event in the warehouse
    notes: list[str] = field(default_factory=list)

    @property
    def counted(self) -> str:
        """One line saying mode, window, unit and filters: every output states it."""
        s = self.settings
        parts = [f"mode {s.order}", f"window {format_window(s.window)}", f"unit {s.unit}"]
        if s.since:
            parts.append(f"entering from {_iso(s.since)}")
        if s.until:
            parts.append(f"entering before {_iso(s.until)}")
        return "counted: " + ", ".join(parts)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_WINDOW_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_window(text: str) -> timedelta:
    """'1h', '30m', '90s', '2d', '1h30m' -> a timedelta."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _WINDOW_PART.sub("", compact):
        raise UsageError(f"--window {text!r}: write a duration like 1h, 30m, 90s, 2d or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _WINDOW_PART.findall(compact))
    if seconds <= 0:
        raise UsageError(f"--window {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_window(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_time(text: str, option: str) -> datetime:
    """An ISO-8601 date or date-time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: write an ISO-8601 date or time, e.g. 2021-02-10 or "
            "2021-02-10T12:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- reading the warehouse ---


def funnel_steps(wh: Warehouse) -> tuple[FunnelStep, ...]:
    """The funnel's steps from seeds.funnel_steps, checked to be 1..n with distinct events."""
    _require_marts(wh)
    rows = wh.rows("select step, event_type, label from seeds.funnel_steps order by step")
    steps = tuple(FunnelStep(int(s), str(e), str(label or e)) for s, e, label in rows)
    if not steps:
        raise DataError("seeds/funnel_steps.csv has no steps")
    numbers = [s.step for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise DataError(f"seeds/funnel_steps.csv: steps must be numbered 1..n, found {numbers}")
    types = [s.event_type for s in steps]
    if len(set(types)) != len(types):
        raise DataError(f"seeds/funnel_steps.csv: each event_type may be one step only: {types}")
    return steps


def _require_marts(wh: Warehouse) -> None:
    missing = [m for m in _MARTS if not wh.table_exists("marts", m)]
    if missing or not wh.table_exists("seeds", "funnel_steps"):
        raise WarehouseError(
            f"{wh.path} has no funnel marts ({', '.join(missing) or 'seeds.funnel_steps'}); "
            "run `greenery load` to build them"
        )


def data_ends_at(wh: Warehouse) -> datetime | None:
    value = wh.scalar("select max(created_at_utc) from marts.fct_event_path")
    return value.astimezone(UTC) if value is not None else None


def _frame(
    wh: Warehouse, template: str, settings: FunnelSettings, n_steps: int, **extra: Any
) -> pl.DataFrame:
    import duckdb

    from greenery_cli.sql import render

    by_product = bool(extra.pop("by_product", False))
    sql = render(
        template,
        mode=settings.order,
        unit_column=f"{settings.unit}_id",
        run_column=f"{settings.unit}_run",
        by_product=by_product,
        n_steps=n_steps,
        has_since=settings.since is not None,
        has_until=settings.until is not None,
    )
    params: dict[str, Any] = {"window_seconds": int(settings.window.total_seconds()), **extra}
    if settings.since is not None:
        params["since"] = settings.since
    if settings.until is not None:
        params["until"] = settings.until
    try:
        return wh.frame(sql, params)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"funnel query queries/{template} failed: {str(exc).splitlines()[0]}"
        ) from None


# --- the questions ---


def funnel_by_step(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """One row per step: count, share of the first step, conversion and drop-off from the last."""
    steps = funnel_steps(wh)
    counts = _frame(wh, "reports/funnel_by_step.sql", settings, len(steps))
    by_step = dict(zip(counts["step"].to_list(), counts["count"].to_list(), strict=True))
    rows = step_rows([int(by_step.get(s.step, 0)) for s in steps], steps)
    return FunnelResult("by-step", rows, settings, steps, data_ends_at(wh))


def step_rows(counts: list[int], steps: tuple[FunnelStep, ...]) -> pl.DataFrame:
    """The by-step rows from the count reaching each step (rates are fractions)."""
    import polars as pl

    first = counts[0] if counts else 0
    records: list[dict[str, Any]] = []
    for i, (step, count) in enumerate(zip(steps, counts, strict=True)):
        previous = counts[i - 1] if i else None
        records.append(
            {
                "step": step.step,
                "event_type": step.event_type,
                "count": count,
                "pct_of_first": count / first if first else None,
                "conversion_from_previous": count / previous if previous else None,
                "drop_off": previous - count if previous is not None else None,
                "drop_off_rate": (previous - count) / previous if previous else None,
            }
        )
    by_count = _largest(records, "drop_off")
    by_rate = _largest(records, "drop_off_rate")
    for record in records:
        record["largest_drop_off_by_count"] = record["step"] == by_count
        record["largest_drop_off_by_rate"] = record["step"] == by_rate
    return pl.DataFrame(
        records,
        schema={
            "step": pl.Int64,
            "event_type": pl.String,
            "count": pl.Int64,
            "pct_of_first": pl.Float64,
            "conversion_from_previous": pl.Float64,
            "drop_off": pl.Int64,
            "drop_off_rate": pl.Float64,
            "largest_drop_off_by_count": pl.Boolean,
            "largest_drop_off_by_rate": pl.Boolean,
        },
    )


def _largest(records: list[dict[str, Any]], key: str) -> int | None:
    """The step losing the most (the earlier step on a tie); None when nothing is lost."""
    best: tuple[float, int] | None = None
    for record in records:
        value = record[key]
        if value is not None and value > 0 and (best is None or value > best[0]):
            best = (value, record["step"])
    return best[1] if best else None


def funnel_summary(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """One row: units in, units through, overall conversion, largest drop-off by count and rate."""
    import polars as pl

    by_step = funnel_by_step(wh, settings)
    rows = by_step.rows
    counts = rows["count"].to_list()
    entered, converted = (counts[0], counts[-1]) if counts else (0, 0)

    def flagged(flag: str) -> dict[str, Any]:
        hit = rows.filter(pl.col(flag))
        return hit.row(0, named=True) if hit.height else {}

    by_count, by_rate = flagged("largest_drop_off_by_count"), flagged("largest_drop_off_by_rate")
    summary = pl.DataFrame(
        [
            {
                "unit": settings.unit,
                "mode": settings.order,
                "window_seconds": int(settings.window.total_seconds()),
                "entered": entered,
                "converted": converted,
                "conversion": converted / entered if entered else None,
                "largest_drop_off_by_count_step": by_count.get("step"),
                "largest_drop_off_by_count_event_type": by_count.get("event_type"),
                "largest_drop_off_count": by_count.get("drop_off"),
                "largest_drop_off_by_rate_step": by_rate.get("step"),
                "largest_drop_off_by_rate_event_type": by_rate.get("event_type"),
                "largest_drop_off_rate": by_rate.get("drop_off_rate"),
            }
        ],
        schema_overrides={
            "conversion": pl.Float64,
            "largest_drop_off_by_count_step": pl.Int64,
            "largest_drop_off_by_count_event_type": pl.String,
            "largest_drop_off_count": pl.Int64,
            "largest_drop_off_by_rate_step": pl.Int64,
            "largest_drop_off_by_rate_event_type": pl.String,
            "largest_drop_off_rate": pl.Float64,
        },
    )
    return FunnelResult("summary", summary, settings, by_step.steps, by_step.data_ends_at)


def product_column(step: FunnelStep) -> str:
    return PRODUCT_COLUMNS.get(step.event_type, step.event_type)


def funnel_by_product(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """Per product: units that viewed it, added it to cart, checked out an order containing it."""
    import polars as pl

    if settings.order == "strict":
        raise UsageError(
            "--by product does not support --order strict: other products' events always sit "
            "between one product's steps; use --order any or ordered"
        )
    steps = funnel_steps(wh)
    frame = _frame(wh, "reports/funnel_by_product.sql", settings, len(steps), by_product=True)
    names = [product_column(s) for s in steps]
    frame = frame.rename({f"step_{s.step}": name for s, name in zip(steps, names, strict=True)})
    rates = [
        pl.when(pl.col(prev) > 0)
        .then(pl.col(name) / pl.col(prev))
        .otherwise(None)
        .alias(f"{name}_rate")
        for prev, name in zip(names, names[1:], strict=False)
    ]
    if len(names) > 1:
        rates.append(
            pl.when(pl.col(names[0]) > 0)
            .then(pl.col(names[-1]) / pl.col(names[0]))
            .otherwise(None)
            .alias("conversion")
        )
    return FunnelResult("by-product", frame.with_columns(rates), settings, steps, data_ends_at(wh))


def funnel_trend(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """The funnel per period of entry; a period whose window has not closed yet is flagged."""
    import polars as pl

    steps = funnel_steps(wh)
    ends = data_ends_at(wh)
    frame = _frame(wh, "reports/funnel_trend.sql", settings, len(steps), period=settings.period)
    length = timedelta(days=7 if settings.period == "week" else 1)
    frame = frame.rename({f"step_{s.step}": s.event_type for s in steps})
    first, last = steps[0].event_type, steps[-1].event_type
    frame = frame.with_columns(
        period_end=pl.col("period_start") + length,
        conversion=pl.when(pl.col(first) > 0).then(pl.col(last) / pl.col(first)).otherwise(None),
    ).with_columns(
        # open: an entry late in the period could still convert after the data's last event
        window_closed=(pl.col("period_end") + settings.window <= ends)
        if ends is not None
        else pl.lit(False)
    )
    order = ["period_start", "period_end", *(s.event_type for s in steps)]
    frame = frame.select(*order, "conversion", "window_closed")
    open_periods = frame.filter(~pl.col("window_closed")).height
    notes = (
        [
            f"{open_periods} period(s) not closed: their window runs past the data's last event "
            f"({_iso(ends)}), so later steps may still arrive"
        ]
        if open_periods and ends is not None
        else []
    )
    return FunnelResult("trend", frame, settings, steps, ends, notes)


def time_to_convert(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """Per consecutive step pair: median and p90 seconds, over units that made the later step."""
    import polars as pl

    steps = funnel_steps(wh)
    frame = _frame(wh, "reports/funnel_time_to_convert.sql", settings, len(steps))
    types = {s.step: s.event_type for s in steps}
    frame = frame.with_columns(
        from_event_type=pl.col("from_step").replace_strict(types, return_dtype=pl.String),
        to_event_type=pl.col("to_step").replace_strict(types, return_dtype=pl.String),
    ).select(
        "from_step",
        "from_event_type",
        "to_step",
        "to_event_type",
        "units",
        "median_seconds",
        "p90_seconds",
    )
    return FunnelResult("time-to-convert", frame, settings, steps, data_ends_at(wh))


QUESTION_FUNCTIONS = {
    "summary": funnel_summary,
    "by-step": funnel_by_step,
    "by-product": funnel_by_product,
    "trend": funnel_trend,
    "time-to-convert": time_to_convert,
}


def answer(db: str | Path | None, question: str, settings: FunnelSettings) -> FunnelResult:
    """Open the warehouse read-only and answer one funnel question (what the CLI calls)."""
    from greenery_cli.warehouse import open_warehouse

    if question not in QUESTION_FUNCTIONS:
        raise UsageError(f"unknown funnel question {question!r}")
    with open_warehouse(db) as wh:
        return QUESTION_FUNCTIONS[question](wh, settings)
