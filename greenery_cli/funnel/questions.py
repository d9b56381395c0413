"""The funnel's step questions: by step, summary, trend per period of entry, time to convert."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from greenery_cli.funnel.engine import data_ends_at, exclusion_notes, frame, funnel_steps
from greenery_cli.funnel.settings import FunnelResult, FunnelSettings, FunnelStep, iso
from greenery_cli.rows import Rows

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

STEP_SCHEMA = {
    "step": "BIGINT",
    "event_type": "VARCHAR",
    "count": "BIGINT",
    "pct_of_first": "DOUBLE",
    "conversion_from_previous": "DOUBLE",
    "drop_off": "BIGINT",
    "drop_off_rate": "DOUBLE",
    "largest_drop_off_by_count": "BOOLEAN",
    "largest_drop_off_by_rate": "BOOLEAN",
}
SUMMARY_SCHEMA = {
    "unit": "VARCHAR",
    "mode": "VARCHAR",
    "window_seconds": "BIGINT",
    "entered": "BIGINT",
    "converted": "BIGINT",
    "conversion": "DOUBLE",
    "largest_drop_off_by_count_step": "BIGINT",
    "largest_drop_off_by_count_event_type": "VARCHAR",
    "largest_drop_off_count": "BIGINT",
    "largest_drop_off_by_rate_step": "BIGINT",
    "largest_drop_off_by_rate_event_type": "VARCHAR",
    "largest_drop_off_rate": "DOUBLE",
}


def funnel_by_step(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """One row per step: count, share of the first step, conversion and drop-off from the last."""
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    counts = frame(wh, "reports/funnel_by_step.sql", settings, steps)
    by_step = dict(zip(counts["step"].to_list(), counts["count"].to_list(), strict=True))
    rows = step_rows([int(by_step.get(s.step, 0)) for s in steps], steps)
    return FunnelResult("by-step", rows, settings, steps, data_ends_at(wh), notes)


def step_rows(counts: list[int], steps: tuple[FunnelStep, ...]) -> Rows:
    """The by-step rows from the count reaching each step (rates are fractions)."""
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
    return Rows.from_dicts(records, STEP_SCHEMA)


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
    by_step = funnel_by_step(wh, settings)
    records = by_step.rows.to_dicts()
    counts = [r["count"] for r in records]
    entered, converted = (counts[0], counts[-1]) if counts else (0, 0)

    def flagged(flag: str) -> dict[str, Any]:
        return next((r for r in records if r[flag]), {})

    by_count, by_rate = flagged("largest_drop_off_by_count"), flagged("largest_drop_off_by_rate")
    summary = {
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
    return FunnelResult(
        "summary",
        Rows.from_dicts([summary], SUMMARY_SCHEMA),
        settings,
        by_step.steps,
        by_step.data_ends_at,
        by_step.notes,
    )


def funnel_trend(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """The funnel per period of entry; a period whose window has not closed yet is flagged."""
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    ends = data_ends_at(wh)
    counts = frame(
        wh,
        "reports/funnel_trend.sql",
        settings,
        steps,
        need="time",
        params={"period": settings.period},
    )
    length = timedelta(days=7 if settings.period == "week" else 1)
    first, last = f"step_{steps[0].step}", f"step_{steps[-1].step}"
    records = []
    for row in counts.iter_rows(named=True):
        period_end = row["period_start"] + length
        records.append(
            {
                "period_start": row["period_start"],
                "period_end": period_end,
                **{s.event_type: row[f"step_{s.step}"] for s in steps},
                "conversion": row[last] / row[first] if row[first] else None,
                # open: an entry late in the period could still convert after the data's last
                # event
                "window_closed": ends is not None and period_end + settings.window <= ends,
            }
        )
    types = counts.schema
    schema = {
        "period_start": types["period_start"].name,
        "period_end": types["period_start"].name,
        **{s.event_type: types[f"step_{s.step}"].name for s in steps},
        "conversion": "DOUBLE",
        "window_closed": "BOOLEAN",
    }
    rows = Rows.from_dicts(records, schema)
    open_periods = sum(1 for r in records if not r["window_closed"])
    if open_periods and ends is not None:
        notes.append(
            f"{open_periods} period(s) not closed: their window runs past the data's last event "
            f"({iso(ends)}), so later steps may still arrive"
        )
    return FunnelResult("trend", rows, settings, steps, ends, notes)


def time_to_convert(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """Per consecutive step pair: median and p90 seconds in the units' counted attempts."""
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    times = frame(wh, "reports/funnel_time_to_convert.sql", settings, steps, need="times")
    types = {s.step: s.event_type for s in steps}
    records = [
        {**r, "from_event_type": types[r["from_step"]], "to_event_type": types[r["to_step"]]}
        for r in times.iter_rows(named=True)
    ]
    given = times.schema
    schema = {
        "from_step": given["from_step"].name,
        "from_event_type": "VARCHAR",
        "to_step": given["to_step"].name,
        "to_event_type": "VARCHAR",
        "units": given["units"].name,
        "median_seconds": given["median_seconds"].name,
        "p90_seconds": given["p90_seconds"].name,
    }
    rows = Rows.from_dicts(records, schema)
    return FunnelResult("time-to-convert", rows, settings, steps, data_ends_at(wh), notes)
