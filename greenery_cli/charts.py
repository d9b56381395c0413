"""Geometry of the dashboard's pictures, computed in Python, drawn by the HTML template.

Only numbers and plain values live here; every piece of text reaches the page through the
template, whose autoescaping keeps a product named `<script>` a name. Bars are percentages of
their row (HTML, so their labels stay legible at any width); sparklines and stockout spells are
small SVGs of a fixed size that hold no text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SPARK_WIDTH = 120
SPARK_HEIGHT = 30
SPARK_PAD = 4  # room for the dots at the ends and the edges
SPELL_WIDTH = 160
SPELL_HEIGHT = 14


@dataclass(frozen=True)
class FunnelBar:
    step: int
    label: str
    count: int
    pct_of_first: float | None
    conversion_from_previous: float | None
    drop_off: int | None
    drop_off_rate: float | None
    largest_by_count: bool
    largest_by_rate: bool
    kept_pct: float  # the bar, as a share of the widest step
    lost_pct: float  # the units lost since the previous step, drawn after the bar


def funnel_bars(rows: Sequence[dict[str, Any]], labels: dict[int, str]) -> list[FunnelBar]:
    """One bar per step, as long as its count against the widest step."""
    widest = max((int(row["count"] or 0) for row in rows), default=0)
    bars = []
    previous = 0.0
    for i, row in enumerate(rows):
        count = int(row["count"] or 0)
        # a step with units keeps a sliver of bar so it never looks like zero
        kept = max(100.0 * count / widest, 0.5) if widest and count else 0.0
        bars.append(
            FunnelBar(
                step=int(row["step"]),
                label=labels.get(int(row["step"])) or str(row["event_type"]),
                count=count,
                pct_of_first=row["pct_of_first"],
                conversion_from_previous=row["conversion_from_previous"],
                drop_off=row["drop_off"],
                drop_off_rate=row["drop_off_rate"],
                largest_by_count=bool(row["largest_drop_off_by_count"]),
                largest_by_rate=bool(row["largest_drop_off_by_rate"]),
                kept_pct=round(kept, 2),
                lost_pct=round(max(previous - kept, 0.0), 2) if i else 0.0,
            )
        )
        previous = kept
    return bars


@dataclass(frozen=True)
class SparkPoint:
    x: float
    y: float
    inventory: int
    stockout: bool


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: list[SparkPoint]
    polyline: str  # "x,y x,y ..."
    baseline: float  # the y of inventory 0


def sparkline(path: Sequence[int | None]) -> Sparkline:
    """A product's inventory states left to right, each scaled from 0 to its own highest."""
    values = [int(v) for v in path if v is not None]
    top = max(max(values, default=0), 1)
    inner_w = SPARK_WIDTH - 2 * SPARK_PAD
    inner_h = SPARK_HEIGHT - 2 * SPARK_PAD
    baseline = SPARK_PAD + inner_h
    points = []
    for i, value in enumerate(values):
        x = SPARK_PAD + (inner_w * i / (len(values) - 1) if len(values) > 1 else inner_w / 2)
        y = baseline - inner_h * max(value, 0) / top
        points.append(SparkPoint(round(x, 1), round(y, 1), value, value <= 0))
    return Sparkline(
        width=SPARK_WIDTH,
        height=SPARK_HEIGHT,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        baseline=float(baseline),
    )


@dataclass(frozen=True)
class Spell:
    width: int
    height: int
    x: float  # where the spell starts inside the window
    length: float  # how much of the window it covers
    open_ended: bool  # still out at the window's end


def spell(
    out_since: datetime, ended_at: datetime | None, window: tuple[datetime, datetime]
) -> Spell:
    """A stockout spell drawn on its window: [out_since, ended_at), clipped to the window."""
    start, end = window
    span = (end - start).total_seconds() or 1.0

    def x_of(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return SPELL_WIDTH * share

    right = SPELL_WIDTH if ended_at is None else x_of(ended_at)
    left = min(x_of(out_since), SPELL_WIDTH - 2.0)  # a spell shorter than a pixel still shows
    return Spell(
        width=SPELL_WIDTH,
        height=SPELL_HEIGHT,
        x=round(left, 1),
        length=round(max(right - left, 2.0), 1),
        open_ended=ended_at is None or ended_at > end,
    )
