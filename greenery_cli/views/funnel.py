"""The funnel on a terminal: bars for the steps, percentages for rates, what was counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenery_cli.funnel import FunnelResult
from greenery_cli.output import iso_utc

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

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


def _table(result: FunnelResult, what: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=title(result, what),
        caption=counted(result),
        title_justify="left",
        caption_justify="left",
    )


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


def by_step_view(result: FunnelResult) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    table = _table(result, "by step")
    table.add_column("step", no_wrap=True, min_width=14)
    table.add_column("count", justify="right", no_wrap=True, min_width=5)
    table.add_column("", no_wrap=True, overflow="crop", max_width=BAR_WIDTH)
    for name in ("%first", "%prev", "lost", "lost%"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("largest", no_wrap=True, min_width=8)
    for row in result.rows.iter_rows(named=True):
        largest = [
            flag
            for flag, on in (
                ("by count", row["largest_drop_off_by_count"]),
                ("by rate", row["largest_drop_off_by_rate"]),
            )
            if on
        ]
        table.add_row(
            f"{row['step']}. {row['event_type']}",
            f"{row['count']:,}",
            bar(row["pct_of_first"]),
            percent(row["pct_of_first"]),
            percent(row["conversion_from_previous"]),
            "" if row["drop_off"] is None else f"{row['drop_off']:,}",
            percent(row["drop_off_rate"]),
            ", ".join(largest),
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


def by_product_view(result: FunnelResult) -> RenderableType:
    """Counts per step and the overall conversion (the step rates are in JSON/CSV), then the
    views while out of stock and in stock, each with its conversion."""
    from rich.console import Group
    from rich.text import Text

    from greenery_cli.funnel import product_column, stock_summary

    table = _table(result, "by product")
    table.add_column("product", ratio=1, min_width=10)
    counts = [product_column(s) for s in result.steps]
    headers = {"viewed": "viewed", "added_to_cart": "carted", "checked_out": "bought"}
    for name in counts:
        table.add_column(headers.get(name, name), justify="right", no_wrap=True)
    has_conversion = "conversion" in result.rows.columns
    if has_conversion:
        table.add_column("conv", justify="right", no_wrap=True)
    stock = (
        "viewed_out_of_stock" in result.rows.columns
        and result.rows["viewed_out_of_stock"].null_count() < result.rows.height
    )
    if stock:
        # views while the history shows the product out of stock / in stock
        for name in ("out", "conv", "in", "conv"):
            table.add_column(name, justify="right", no_wrap=True)
        table.title = f"{table.title}; views while out of stock (out) and in stock (in)"
    for row in result.rows.iter_rows(named=True):
        # printed literally: the console reads no markup
        cells = [row["name"] or row["product_id"] or "", *(f"{row[c]:,}" for c in counts)]
        if has_conversion:
            cells.append(percent(row["conversion"]))
        if stock:
            cells += [
                _count(row["viewed_out_of_stock"]),
                percent(row["conversion_out_of_stock"]),
                _count(row["viewed_in_stock"]),
                percent(row["conversion_in_stock"]),
            ]
        table.add_row(*cells)
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
    table = _table(result, f"by {result.settings.by}")
    table.add_column(result.settings.by or "value")
    names = [s.event_type for s in result.steps]
    rates = [c for c in result.rows.columns if c.endswith("_rate") or c == "conversion"]
    for name in names:
        table.add_column(name, justify="right")
    for name in rates:
        table.add_column(name.removesuffix("_rate").replace("_", " ") + " %", justify="right")
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            str(row["value"]),  # printed literally: the console reads no markup
            *(f"{row[n]:,}" for n in names),
            *(percent(row[r]) for r in rates),
        )
    return _with_notes(result, table)


def units_view(result: FunnelResult) -> RenderableType:
    listing = result.settings.listing
    what = f"{listing.kind} at step {listing.step}" if listing else "units"
    table = _table(result, f"{result.total or 0:,} {result.settings.unit}s {what}")
    for name in ("session", "user", "entered at", "furthest step"):
        table.add_column(name, no_wrap=True)
    types = {s.step: s.event_type for s in result.steps}
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            row["session_id"] or "",  # printed literally: the console reads no markup
            row["user_id"] or "",
            iso_utc(row["entered_at"]),
            f"{row['furthest_step']}. {types.get(row['furthest_step'], '')}",
        )
    return _with_notes(result, table)


def trend_view(result: FunnelResult) -> RenderableType:
    table = _table(result, f"trend per {result.settings.period} of entry")
    table.add_column("period", no_wrap=True)
    for step in result.steps:
        table.add_column(step.event_type, justify="right")
    table.add_column("conversion", justify="right")
    table.add_column("window", no_wrap=True)
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            row["period_start"].date().isoformat(),
            *(f"{row[s.event_type]:,}" for s in result.steps),
            percent(row["conversion"]),
            "closed" if row["window_closed"] else "OPEN",
        )
    return _with_notes(result, table)


def time_to_convert_view(result: FunnelResult) -> RenderableType:
    table = _table(result, "time to convert")
    table.add_column("steps", no_wrap=True)
    for name in ("units", "median", "p90"):
        table.add_column(name, justify="right")
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            f"{row['from_step']}. {row['from_event_type']} → "
            f"{row['to_step']}. {row['to_event_type']}",
            f"{row['units']:,}",
            seconds(row["median_seconds"]),
            seconds(row["p90_seconds"]),
        )
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
