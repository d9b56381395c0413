"""The funnel on a terminal: bars for the steps, percentages for rates, what was counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenery_cli.funnel import FunnelResult

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
    return Group(table, Text(largest_drop_off(result)))


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
    return Group(Text(title(result, "summary"), style="italic"), *(Text(t) for t in lines))


def by_product_view(result: FunnelResult) -> RenderableType:
    from greenery_cli.funnel import product_column

    table = _table(result, "by product")
    table.add_column("product")
    counts = [product_column(s) for s in result.steps]
    rates = [c for c in result.rows.columns if c.endswith("_rate") or c == "conversion"]
    for name in counts:
        table.add_column(name.replace("_", " "), justify="right")
    for name in rates:
        table.add_column(name.removesuffix("_rate").replace("_", " ") + " %", justify="right")
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            row["name"] or row["product_id"],  # printed literally: the console reads no markup
            *(f"{row[c]:,}" for c in counts),
            *(percent(row[r]) for r in rates),
        )
    return table


def trend_view(result: FunnelResult) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

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
    notes = [Text(f"note: {n}") for n in result.notes]
    return Group(table, *notes) if notes else table


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
    return table


VIEWS = {
    "summary": summary_view,
    "by-step": by_step_view,
    "by-product": by_product_view,
    "trend": trend_view,
    "time-to-convert": time_to_convert_view,
}


def funnel_view(result: FunnelResult) -> RenderableType:
    """The renderable for any funnel result."""
    return VIEWS[result.question](result)
