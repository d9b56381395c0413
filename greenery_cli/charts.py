"""Geometry of the dashboard's SVG charts, computed in Python, drawn by the HTML template.

Only numbers and plain values live here; every piece of text reaches the page through the
template, whose autoescaping keeps a product named `<script>` a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FUNNEL_WIDTH = 960
FUNNEL_LABEL_WIDTH = 230
FUNNEL_BAR_AREA = 380
FUNNEL_ROW = 46
FUNNEL_GAP = 30  # room between bars for the drop-off note

PATH_WIDTH = 280
PATH_HEIGHT = 120
PATH_PAD_LEFT = 34
PATH_PAD_RIGHT = 8
PATH_INSET = 14  # keeps the first and last points clear of the axis labels
PATH_PAD_TOP = 14
PATH_PAD_BOTTOM = 26


@dataclass(frozen=True)
class FunnelBar:
    step: int
    event_type: str
    label: str
    count: int
    pct_of_first: float | None
    conversion_from_previous: float | None
    drop_off: int | None
    drop_off_rate: float | None
    largest_by_count: bool
    largest_by_rate: bool
    y: float  # top of the bar
    width: float
    lost_width: float  # the sessions lost since the previous step, drawn after the bar
    text_x: float
    note_y: float  # baseline of the drop-off note above this bar (steps after the first)


@dataclass(frozen=True)
class FunnelChart:
    width: int
    height: float
    label_width: int
    bar_x: int
    bar_height: int
    bars: list[FunnelBar]
    split_largest: bool  # the largest drop by count and by rate are different steps


def funnel_chart(rows: Sequence[dict[str, Any]]) -> FunnelChart:
    """One horizontal bar per step, as wide as its count against the widest step."""
    widest = max((int(row["count"] or 0) for row in rows), default=0)
    bars = []
    y = 8.0
    previous_width = 0.0
    for i, row in enumerate(rows):
        if i:
            y += FUNNEL_GAP
        count = int(row["count"] or 0)
        # a step with sessions keeps a sliver of bar so it never looks like zero
        width = max(FUNNEL_BAR_AREA * count / widest, 2.0) if widest and count else 0.0
        lost_width = max(previous_width - width, 0.0) if i else 0.0
        bars.append(
            FunnelBar(
                step=int(row["step"]),
                event_type=str(row["event_type"]),
                label=str(row.get("label") or row["event_type"]),
                count=count,
                pct_of_first=row["pct_of_first"],
                conversion_from_previous=row["conversion_from_previous"],
                drop_off=row["drop_off"],
                drop_off_rate=row["drop_off_rate"],
                largest_by_count=bool(row["largest_drop_off_by_count"]),
                largest_by_rate=bool(row["largest_drop_off_by_rate"]),
                y=y,
                width=round(width, 1),
                lost_width=round(lost_width, 1),
                text_x=round(FUNNEL_LABEL_WIDTH + 10 + width + lost_width + 8, 1),
                note_y=y - FUNNEL_GAP / 2 + 5,
            )
        )
        previous_width = width
        y += FUNNEL_ROW
    by_count = {bar.step for bar in bars if bar.largest_by_count}
    by_rate = {bar.step for bar in bars if bar.largest_by_rate}
    return FunnelChart(
        width=FUNNEL_WIDTH,
        height=y + 8,
        label_width=FUNNEL_LABEL_WIDTH,
        bar_x=FUNNEL_LABEL_WIDTH + 10,
        bar_height=FUNNEL_ROW - 10,
        bars=bars,
        split_largest=by_count != by_rate,
    )


def path_box() -> dict[str, int]:
    """The frame every small inventory chart shares."""
    return {
        "width": PATH_WIDTH,
        "height": PATH_HEIGHT,
        "left": PATH_PAD_LEFT,
        "right": PATH_WIDTH - PATH_PAD_RIGHT,
    }


@dataclass(frozen=True)
class PathPoint:
    x: float
    y: float
    inventory: int | None
    taken_at: datetime
    snapshot_run_id: int
    stockout: bool


@dataclass(frozen=True)
class Tick:
    x: float
    taken_at: datetime


@dataclass(frozen=True)
class InventoryPath:
    product_id: str
    name: str
    points: list[PathPoint]
    segments: list[str]  # polyline point lists, broken where the product was absent
    y_max: int
    y_zero: float
    y_top: float
    ticks: list[Tick]
    stockouts: int  # runs at which the product stood at 0
    first: int | None
    last: int | None


def inventory_paths_charts(rows: Sequence[dict[str, Any]]) -> list[InventoryPath]:
    """A small line chart per product, all on one time axis spanning every run in `rows`."""
    runs = sorted({(row["taken_at"], int(row["snapshot_run_id"])) for row in rows})
    if not runs:
        return []
    start, end = runs[0][0], runs[-1][0]
    span = (end - start).total_seconds()
    plot_w = PATH_WIDTH - PATH_PAD_LEFT - PATH_PAD_RIGHT - 2 * PATH_INSET
    plot_h = PATH_HEIGHT - PATH_PAD_TOP - PATH_PAD_BOTTOM

    def x_of(taken_at: datetime) -> float:
        if span <= 0:
            return PATH_PAD_LEFT + PATH_INSET + plot_w / 2
        return PATH_PAD_LEFT + PATH_INSET + plot_w * (taken_at - start).total_seconds() / span

    position = {run_id: i for i, (_, run_id) in enumerate(runs)}
    ticks = [Tick(x=round(x_of(t), 1), taken_at=t) for t, _ in runs]
    if len(ticks) > 8:  # a long history keeps its first and last date only
        ticks = [ticks[0], ticks[-1]]

    by_product: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_product.setdefault(str(row["product_id"]), []).append(row)

    charts = []
    for product_id, states in by_product.items():
        states.sort(key=lambda row: row["taken_at"])
        values = [int(row["inventory"]) for row in states if row["inventory"] is not None]
        y_max = max(max(values, default=0), 1)
        y_zero = PATH_PAD_TOP + plot_h

        def y_of(inventory: int, _y_max: int = y_max, _y_zero: float = y_zero) -> float:
            return _y_zero - plot_h * inventory / _y_max

        points = []
        segments: list[list[str]] = []
        previous: int | None = None
        for row in states:
            inventory = row["inventory"]
            run_position = position[int(row["snapshot_run_id"])]
            if inventory is None:
                previous = None
                continue
            point = PathPoint(
                x=round(x_of(row["taken_at"]), 1),
                y=round(y_of(int(inventory)), 1),
                inventory=int(inventory),
                taken_at=row["taken_at"],
                snapshot_run_id=int(row["snapshot_run_id"]),
                stockout=int(inventory) <= 0,
            )
            points.append(point)
            # a run at which the product was absent breaks the line instead of bridging it
            if previous is None or run_position != previous + 1:
                segments.append([])
            segments[-1].append(f"{point.x},{point.y}")
            previous = run_position
        charts.append(
            InventoryPath(
                product_id=product_id,
                name=str(states[-1]["name"]),  # the product's latest name labels its chart
                points=points,
                segments=[" ".join(segment) for segment in segments],
                y_max=y_max,
                y_zero=y_zero,
                y_top=float(PATH_PAD_TOP),
                ticks=ticks,
                stockouts=sum(point.stockout for point in points),
                first=values[0] if values else None,
                last=values[-1] if values else None,
            )
        )
    # stocked-out products first, then by name: the ones to look at lead
    charts.sort(key=lambda chart: (chart.stockouts == 0, chart.name.lower(), chart.product_id))
    return charts
