"""The funnel on a terminal: bars for the steps, percentages for rates, what was counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenery_cli.funnel import FunnelResult
from greenery_cli.output import iso_utc
from greenery_cli.tables import Col, Layout, fitted

if TYPE_CHECKING:
    from rich.console import RenderableType

BAR_WIDTH = 12


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 120:
        return f"{value:.0f}s"
    if abs(value) < 7200:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


def bar(fraction: float | None) -> str:
    return "█" * round((fraction or 0) * BAR_WIDTH)


def title(result: FunnelResult, what: str) -> str:
    return f"Funnel {what}, per {result.settings.unit}"


def counted(result: FunnelResult) -> str:
    return result.counted


def largest_drop_off(result: FunnelResult) -> str:
    """Name the largest drop-off; when count and rate disagree, say which is which."""
    rows = result.rows.to_dicts()
    by_count = next((r for r in rows if r["largest_drop_off_by_count"]), None)
    by_rate = next((r for r in rows if r["largest_drop_off_by_rate"]), None)
    if by_count is None or by_rate is None:
        return "No step loses any units."
    if by_count["step"] == by_rate["step"]:
        return (
            f"Largest drop-off: step {by_count['step']} {by_count['event_type']} "
            f"(lost {by_count['drop_off']:,}, {percent(by_count['drop_off_rate'])} of step "
            f"{by_count['step'] - 1})."
        )
    return (
        f"Largest drop-off by count: step {by_count['step']} {by_count['event_type']} "
        f"(lost {by_count['drop_off']:,}, {percent(by_count['drop_off_rate'])}). "
        f"Largest drop-off by rate: step {by_rate['step']} {by_rate['event_type']} "
        f"(lost {percent(by_rate['drop_off_rate'])}, {by_rate['drop_off']:,})."
    )


BY_STEP = Layout(
    (
        Col("step"),
        Col("count", numeric=True),
        Col("bar"),
        Col("%first", numeric=True),
        Col("%prev", numeric=True),
        Col("lost", numeric=True),
        Col("lost%", numeric=True),
        Col("largest"),
    ),
    drops=("largest", "bar", "%first"),
    simple=True,
)


def by_step_view(result: FunnelResult) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    rows = []
    for row in result.rows.iter_rows(named=True):
        largest = [
            flag
            for flag, on in (
                ("by count", row["largest_drop_off_by_count"]),
                ("by rate", row["largest_drop_off_by_rate"]),
            )
            if on
        ]
        rows.append(
            {
                "step": f"{row['step']}. {row['event_type']}",
                "count": f"{row['count']:,}",
                "bar": bar(row["pct_of_first"]),
                "%first": percent(row["pct_of_first"]),
                "%prev": percent(row["conversion_from_previous"]),
                "lost": "" if row["drop_off"] is None else f"{row['drop_off']:,}",
                "lost%": percent(row["drop_off_rate"]),
                "largest": ", ".join(largest),
            }
        )
    table = fitted(
        rows,
        BY_STEP,
        title=title(result, "by step"),
        caption=counted(result),
        legends={"bar": f"the step's share of step 1, {'█' * BAR_WIDTH} = 100%"},
    )
    return _with_notes(result, Group(table, Text(largest_drop_off(result))))


def summary_view(result: FunnelResult) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    row = result.rows.row(0, named=True)
    unit = result.settings.unit
    first, last = result.steps[0], result.steps[-1]
    lines = [
        f"{row['entered']:,} {unit}s entered ({first.event_type}); {row['converted']:,} got "
        f"through to {last.event_type}"
        + (f": {percent(row['conversion'])} overall conversion." if row["entered"] else "."),
    ]
    if row["largest_drop_off_by_count_step"] is None:
        lines.append("No step loses any units.")
    elif row["largest_drop_off_by_count_step"] == row["largest_drop_off_by_rate_step"]:
        lines.append(
            f"Largest drop-off: step {row['largest_drop_off_by_count_step']} "
            f"{row['largest_drop_off_by_count_event_type']} (lost "
            f"{row['largest_drop_off_count']:,}, {percent(row['largest_drop_off_rate'])})."
        )
    else:
        lines.append(
            f"Largest drop-off by count: step {row['largest_drop_off_by_count_step']} "
            f"{row['largest_drop_off_by_count_event_type']} (lost "
            f"{row['largest_drop_off_count']:,}). Largest drop-off by rate: step "
            f"{row['largest_drop_off_by_rate_step']} "
            f"{row['largest_drop_off_by_rate_event_type']} "
            f"({percent(row['largest_drop_off_rate'])} lost)."
        )
    lines.append(counted(result))
    lines += [f"note: {n}" for n in result.notes]
    return Group(Text(title(result, "summary"), style="italic"), *(Text(t) for t in lines))


def by_product_layout(counts: list[str], conversion: bool, stock: bool) -> Layout:
    """Products by step counts; the stock columns give way first, the conversions before the
    view counts."""
    columns = [Col("product", wrap=True, min_width=20), *(Col(n, numeric=True) for n in counts)]
    columns += [Col("conv", numeric=True)] if conversion else []
    stocked = ("out", "out conv", "in", "in conv") if stock else ()
    columns += [Col(name, numeric=True) for name in stocked]
    return Layout(
        tuple(columns), drops=("out conv", "in conv", "out", "in") if stock else (), simple=True
    )


BY_PRODUCT = by_product_layout(["viewed", "carted", "bought"], conversion=True, stock=True)


def by_product_view(result: FunnelResult) -> RenderableType:
    """Counts per step and the overall conversion (the step rates are in JSON/CSV), then the
    views while out of stock and in stock, each with its conversion."""
    from rich.console import Group
    from rich.text import Text

    from greenery_cli.funnel import product_column, stock_summary

    counts = [product_column(s) for s in result.steps]
    headers = {"viewed": "viewed", "added_to_cart": "carted", "checked_out": "bought"}
    has_conversion = "conversion" in result.rows.columns
    stock = (
        "viewed_out_of_stock" in result.rows.columns
        and result.rows["viewed_out_of_stock"].null_count() < result.rows.height
    )
    layout = by_product_layout([headers.get(c, c) for c in counts], has_conversion, stock)
    rows = []
    for row in result.rows.iter_rows(named=True):
        cells = {"product": row["name"] or row["product_id"] or ""}
        cells.update({headers.get(c, c): f"{row[c]:,}" for c in counts})
        if has_conversion:
            cells["conv"] = percent(row["conversion"])
        if stock:
            cells["out"] = _count(row["viewed_out_of_stock"])
            cells["out conv"] = percent(row["conversion_out_of_stock"])
            cells["in"] = _count(row["viewed_in_stock"])
            cells["in conv"] = percent(row["conversion_in_stock"])
        rows.append(cells)
    heading = title(result, "by product")
    if stock:
        heading += "; views while out of stock (out) and in stock (in), each with its conversion"
    table = fitted(rows, layout, title=heading, caption=counted(result))
    summary = stock_summary(result)
    lines = [Text(summary)] if summary else []
    return _with_notes(result, Group(table, *lines))


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _with_notes(result: FunnelResult, body: RenderableType) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    notes = [Text(f"note: {n}") for n in result.notes]
    return Group(body, *notes) if notes else body


def breakdown_view(result: FunnelResult) -> RenderableType:
    by = result.settings.by or "value"
    names = [s.event_type for s in result.steps]
    rates = [c for c in result.rows.columns if c.endswith("_rate") or c == "conversion"]
    rate_headers = [r.removesuffix("_rate").replace("_", " ") + " %" for r in rates]
    layout = Layout(
        (
            Col(by, wrap=True, min_width=20),
            *(Col(n, numeric=True) for n in names),
            *(Col(h, numeric=True) for h in rate_headers),
        ),
        # the step rates give way from the last; the counts and the conversion stay
        drops=tuple(h for h in reversed(rate_headers) if h != "conversion %"),
        simple=True,
    )
    rows = [
        {
            by: str(row["value"]),
            **{n: f"{row[n]:,}" for n in names},
            **{h: percent(row[r]) for h, r in zip(rate_headers, rates, strict=True)},
        }
        for row in result.rows.iter_rows(named=True)
    ]
    return _with_notes(
        result, fitted(rows, layout, title=title(result, f"by {by}"), caption=counted(result))
    )


UNITS = Layout(
    (Col("session"), Col("user"), Col("entered at"), Col("furthest step")),
    drops=("user",),
    simple=True,
)


def units_view(result: FunnelResult) -> RenderableType:
    listing = result.settings.listing
    what = f"{listing.kind} at step {listing.step}" if listing else "units"
    types = {s.step: s.event_type for s in result.steps}
    rows = [
        {
            "session": row["session_id"] or "",
            "user": row["user_id"] or "",
            "entered at": iso_utc(row["entered_at"]),
            "furthest step": f"{row['furthest_step']}. {types.get(row['furthest_step'], '')}",
        }
        for row in result.rows.iter_rows(named=True)
    ]
    heading = title(result, f"{result.total or 0:,} {result.settings.unit}s {what}")
    return _with_notes(result, fitted(rows, UNITS, title=heading, caption=counted(result)))


def trend_view(result: FunnelResult) -> RenderableType:
    names = [s.event_type for s in result.steps]
    layout = Layout(
        (
            Col("period"),
            *(Col(n, numeric=True) for n in names),
            Col("conversion", numeric=True),
            Col("window"),
        ),
        simple=True,
    )
    rows = [
        {
            "period": row["period_start"].date().isoformat(),
            **{n: f"{row[n]:,}" for n in names},
            "conversion": percent(row["conversion"]),
            "window": "closed" if row["window_closed"] else "OPEN",
        }
        for row in result.rows.iter_rows(named=True)
    ]
    heading = title(result, f"trend per {result.settings.period} of entry")
    return _with_notes(result, fitted(rows, layout, title=heading, caption=counted(result)))


TIME_TO_CONVERT = Layout(
    (
        Col("steps", wrap=True),
        Col("units", numeric=True),
        Col("median", numeric=True),
        Col("p90", numeric=True),
    ),
    simple=True,
)


def time_to_convert_view(result: FunnelResult) -> RenderableType:
    rows = [
        {
            "steps": f"{row['from_step']}. {row['from_event_type']} → "
            f"{row['to_step']}. {row['to_event_type']}",
            "units": f"{row['units']:,}",
            "median": seconds(row["median_seconds"]),
            "p90": seconds(row["p90_seconds"]),
        }
        for row in result.rows.iter_rows(named=True)
    ]
    layout = TIME_TO_CONVERT
    table = fitted(rows, layout, title=title(result, "time to convert"), caption=counted(result))
    return _with_notes(result, table)


VIEWS = {
    "summary": summary_view,
    "by-step": by_step_view,
    "by-product": by_product_view,
    "breakdown": breakdown_view,
    "units": units_view,
    "trend": trend_view,
    "time-to-convert": time_to_convert_view,
}


def funnel_view(result: FunnelResult) -> RenderableType:
    """The renderable for any funnel result."""
    return VIEWS[result.question](result)
