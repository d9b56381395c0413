"""The funnel's step questions: by step, summary, trend per period of entry, time to convert."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from greenery_cli.funnel.engine import data_ends_at, exclusion_notes, frame, funnel_steps
from greenery_cli.funnel.settings import FunnelResult, FunnelSettings, FunnelStep, iso

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.warehouse import Warehouse


def funnel_by_step(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """One row per step: count, share of the first step, conversion and drop-off from the last."""
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    counts = frame(wh, "reports/funnel_by_step.sql", settings, steps)
    by_step = dict(zip(counts["step"].to_list(), counts["count"].to_list(), strict=True))
    rows = step_rows([int(by_step.get(s.step, 0)) for s in steps], steps)
    return FunnelResult("by-step", rows, settings, steps, data_ends_at(wh), notes)


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
    return FunnelResult(
        "summary", summary, settings, by_step.steps, by_step.data_ends_at, by_step.notes
    )


def funnel_trend(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """The funnel per period of entry; a period whose window has not closed yet is flagged."""
    import polars as pl

    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    ends = data_ends_at(wh)
    frame_ = frame(
        wh,
        "reports/funnel_trend.sql",
        settings,
        steps,
        need="time",
        params={"period": settings.period},
    )
    length = timedelta(days=7 if settings.period == "week" else 1)
    frame_ = frame_.rename({f"step_{s.step}": s.event_type for s in steps})
    first, last = steps[0].event_type, steps[-1].event_type
    frame_ = frame_.with_columns(
        period_end=pl.col("period_start") + length,
        conversion=pl.when(pl.col(first) > 0).then(pl.col(last) / pl.col(first)).otherwise(None),
    ).with_columns(
        # open: an entry late in the period could still convert after the data's last event
        window_closed=(pl.col("period_end") + settings.window <= ends)
        if ends is not None
        else pl.lit(False)
    )
    order = ["period_start", "period_end", *(s.event_type for s in steps)]
    frame_ = frame_.select(*order, "conversion", "window_closed")
    open_periods = frame_.filter(~pl.col("window_closed")).height
    if open_periods and ends is not None:
        notes.append(
            f"{open_periods} period(s) not closed: their window runs past the data's last event "
            f"({iso(ends)}), so later steps may still arrive"
        )
    return FunnelResult("trend", frame_, settings, steps, ends, notes)


def time_to_convert(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """Per consecutive step pair: median and p90 seconds in the units' counted attempts."""
    import polars as pl

    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    frame_ = frame(wh, "reports/funnel_time_to_convert.sql", settings, steps, need="times")
    types = {s.step: s.event_type for s in steps}
    frame_ = frame_.with_columns(
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
    return FunnelResult("time-to-convert", frame_, settings, steps, data_ends_at(wh), notes)
