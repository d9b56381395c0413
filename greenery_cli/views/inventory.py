"""How the inventory answers read on a terminal: tables titled with the runs they compare,
each product's inventory path drawn as a sparkline, and a one-line answer under each table.

The `*_view` functions return Rich renderables so `greenery report` can reuse them; the
`show_*` functions pick between those (table) and plain rows (json/csv/markdown) on stdout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from greenery_cli.output import emit, iso_utc, note, print_lines, stdout_console
from greenery_cli.tables import Col, Layout, fitted

if TYPE_CHECKING:
    from rich.console import RenderableType

    from greenery_cli.inventory import Fluctuations, InventoryChanges, Stockouts
    from greenery_cli.rows import Rows

SPARK_LEVELS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24  # the most recent states drawn; older ones are marked with an ellipsis
BAR_WIDTH = 12


def sparkline(values: Sequence[int | None], width: int = SPARK_WIDTH) -> str:
    """A product's inventory path, each state scaled from 0 to its own highest value."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    top = max(max(known), 1)
    shown = list(values)[-width:]
    prefix = "…" if len(values) > width else ""
    cells = [
        " " if v is None else SPARK_LEVELS[round(max(v, 0) / top * (len(SPARK_LEVELS) - 1))]
        for v in shown
    ]
    return prefix + "".join(cells)


def bar(value: float | None, largest: float, width: int = BAR_WIDTH) -> str:
    """A bar proportional to |value| against the largest |value| in the table."""
    if value is None or largest <= 0:
        return ""
    return "█" * max(1, round(abs(value) / largest * width)) if value else ""


def timeline(start: datetime, end: datetime | None, window: tuple[datetime, datetime]) -> str:
    """Where in the window a stockout spell lies: '·' in stock, '█' out."""
    first, last = window
    span = (last - first).total_seconds() or 1.0

    def cell(moment: datetime) -> int:
        return min(BAR_WIDTH - 1, max(0, int((moment - first).total_seconds() / span * BAR_WIDTH)))

    lo, hi = cell(start), BAR_WIDTH - 1 if end is None else max(cell(end) - 1, cell(start))
    return "".join("█" if lo <= i <= hi else "·" for i in range(BAR_WIDTH))


def short_time(moment: datetime | None) -> str:
    """A UTC time for a table cell (the title says UTC; the JSON carries full ISO-8601)."""
    return "" if moment is None else iso_utc(moment)[:16].replace("T", " ")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _signed_style(value: Any) -> str:
    if value is None or value == 0:
        return ""
    return "green" if value > 0 else "red"


def _display(rows: Rows, columns: dict[str, Callable[[dict[str, Any]], Any]]) -> Any:
    """The table's rows: each display column computed from the result row."""
    return [
        {name: make(row) for name, make in columns.items()} for row in rows.iter_rows(named=True)
    ]


def _name(**kw: Any) -> Col:
    """A product's name: never cut; wraps at a space only when the row cannot fit otherwise."""
    return Col("name", wrap=True, min_width=24, **kw)


# The three answers' tables (docs/output.md lists what gives way first at narrow widths).
INVENTORY_CHANGES = Layout(
    (
        _name(),
        Col("status"),
        Col("before"),
        Col("after"),
        Col("change", style=lambda v: _signed_style(v)),
        Col("size"),
    ),
    drops=("size",),
)
FLUCTUATIONS = Layout(
    (
        Col("rank"),
        _name(),
        Col("changes"),
        Col("total_change"),
        Col("low–high", numeric=True),
        Col("range"),
        Col("stddev"),
        Col("path"),
    ),
    drops=("stddev", "range", "low–high", "path"),
)
STOCKOUTS = Layout(
    (
        _name(),
        Col("out since"),
        Col("back in stock", style=lambda v: "red" if v == "still out" else ""),
        Col("restocked to"),
        Col("days out"),
        Col("in window"),
    ),
    drops=("in window", "restocked to"),
)


def _line(text: str) -> RenderableType:
    from rich.text import Text

    return Text(text)


# --- inventory-changes -------------------------------------------------------------------


def inventory_changes_title(result: InventoryChanges) -> str:
    title = f"Inventory changes from {result.before.label()} to {result.after.label()}"
    return f"{title} ({result.why})" if result.why else title


def inventory_changes_answer(result: InventoryChanges) -> str:
    changed, new, removed = (result.how_many(s) for s in ("changed", "new", "removed"))
    between = f"between run {result.before.run_id} and run {result.after.run_id}"
    if not (changed or new or removed):
        return f"No product's inventory changed {between} ({result.unchanged} unchanged)."
    return (
        f"{_plural(changed, 'product')} changed inventory {between}; {new} new, "
        f"{removed} removed, {result.unchanged} unchanged."
    )


def inventory_changes_view(result: InventoryChanges) -> list[RenderableType]:
    largest = float(max((abs(c) for c in result.rows["change"] if c is not None), default=0))
    display = _display(
        result.rows,
        {
            "name": lambda r: r["name"],
            "status": lambda r: r["status"],
            "before": lambda r: r["inventory_before"],
            "after": lambda r: r["inventory_after"],
            "change": lambda r: r["change"],
            "size": lambda r: bar(r["change"], largest),
        },
    )
    legend = (
        f"|change| drawn against the largest, {largest:,.0f} units = {'█' * BAR_WIDTH}"
        if largest
        else None
    )
    table = fitted(
        display,
        INVENTORY_CHANGES,
        title=inventory_changes_title(result),
        legends={"size": legend} if legend else None,
    )
    return [table, _line(inventory_changes_answer(result))]


def show_inventory_changes(result: InventoryChanges, fmt: str) -> None:
    _show(
        result.rows,
        fmt,
        inventory_changes_title(result),
        lambda: inventory_changes_view(result),
        inventory_changes_answer(result),
    )


# --- fluctuations ------------------------------------------------------------------------


def fluctuations_title(result: Fluctuations) -> str:
    order = "changes, then total_change" if result.rank_by == "changes" else result.rank_by
    return (
        f"Inventory fluctuations from {result.start.label()} to {result.end.label()} "
        f"({_plural(result.runs, 'snapshot run')}), ranked by {order}"
    )


def fluctuations_answer(result: Fluctuations) -> str:
    rows = result.rows
    if result.products == 0:
        return "No product has inventory history in this window."
    if result.products_changed == 0:
        return f"No product's inventory changed in this window ({result.products} products)."
    leaders = [r for r in rows.iter_rows(named=True) if r["rank"] == 1]
    names = ", ".join(str(r["name"]) for r in leaders)
    first = leaders[0]
    tied = " (tied)" if len(leaders) > 1 else ""
    left_out = (
        f" The {_plural(result.unchanged_left_out, 'product')} whose inventory never changed "
        "are not listed (--include-unchanged lists them)."
        if result.unchanged_left_out
        else ""
    )
    return (
        f"{_plural(result.products_changed, 'product')} of {result.products} changed inventory; "
        f"most by {result.rank_by}: {names}{tied} with {_plural(first['changes'], 'change')}, "
        f"{first['total_change']} units in total.{left_out}"
    )


def fluctuations_view(result: Fluctuations) -> list[RenderableType]:
    display = _display(
        result.rows,
        {
            "rank": lambda r: r["rank"],
            "name": lambda r: r["name"],
            "changes": lambda r: r["changes"],
            "total_change": lambda r: r["total_change"],
            "low–high": lambda r: f"{r['min_inventory']}–{r['max_inventory']}",
            "range": lambda r: r["range"],
            "stddev": lambda r: r["stddev"],
            "path": lambda r: (
                f"{sparkline(r['path'])} {r['first_inventory']}→{r['last_inventory']}"
            ),
        },
    )
    legend = (
        f"inventory at each snapshot run, oldest to newest ({SPARK_LEVELS[0]} none, "
        f"{SPARK_LEVELS[-1]} the product's highest; … earlier runs not drawn), then first→last"
    )
    table = fitted(
        display, FLUCTUATIONS, title=fluctuations_title(result), legends={"path": legend}
    )
    return [table, _line(fluctuations_answer(result))]


def show_fluctuations(result: Fluctuations, fmt: str) -> None:
    _show(
        result.rows,
        fmt,
        fluctuations_title(result),
        lambda: fluctuations_view(result),
        fluctuations_answer(result),
    )


# --- stockouts ---------------------------------------------------------------------------


def stockouts_title(result: Stockouts) -> str:
    level = "" if result.threshold == 0 else f" (inventory ≤ {result.threshold})"
    first = f"; first run inside: {result.first_run.label()}" if result.first_run else ""
    return (
        f"Stockouts{level} in the {_plural(result.weeks, 'week')} to {result.end.label()} "
        f"(from {iso_utc(result.window_start)}{first}); times UTC"
    )


def stockouts_answer(result: Stockouts) -> str:
    weeks = f"the last {_plural(result.weeks, 'week')}"
    level = "out of stock" if result.threshold == 0 else f"at or below {result.threshold}"
    if result.products_out == 0:
        return f"No product went {level} in {weeks}."
    verb = "was" if result.products_out == 1 else "were"
    still = (
        "none is"
        if result.still_out == 0
        else f"{result.still_out} {'is' if result.still_out == 1 else 'are'}"
    )
    return (
        f"{_plural(result.products_out, 'product')} {verb} {level} in {weeks}; "
        f"{still} still {level} at {result.end.label()}."
    )


def _back_in_stock(row: dict[str, Any]) -> str:
    if row["restocked_at"] is not None:
        return short_time(row["restocked_at"])
    if row["status"] == "removed":
        return f"removed {short_time(row['ended_at'])}"
    return "still out"


def stockouts_view(result: Stockouts) -> list[RenderableType]:
    window = (result.window_start, result.end.taken_at)
    display = _display(
        result.rows,
        {
            "name": lambda r: r["name"],
            "out since": lambda r: short_time(r["out_since"]),
            "back in stock": _back_in_stock,
            "restocked to": lambda r: r["restocked_inventory"],
            "days out": lambda r: r["days_out"],
            "in window": lambda r: timeline(r["out_since"], r["ended_at"], window),
        },
    )
    legend = (
        f"{short_time(window[0])} to {short_time(window[1])} left to right in {BAR_WIDTH} "
        "equal parts: █ out of stock, · in stock"
    )
    table = fitted(display, STOCKOUTS, title=stockouts_title(result), legends={"in window": legend})
    return [table, _line(stockouts_answer(result))]


def show_stockouts(result: Stockouts, fmt: str) -> None:
    _show(
        result.rows,
        fmt,
        stockouts_title(result),
        lambda: stockouts_view(result),
        stockouts_answer(result),
    )


def _show(
    rows: Rows,
    fmt: str,
    title: str,
    view: Callable[[], list[RenderableType]],
    answer: str,
) -> None:
    """Tables for people on stdout; machines get rows on stdout and the labels on stderr (the
    table view is built only when shown: machine output needs no Rich tables)."""
    if fmt == "table":
        print_lines(stdout_console(), *view())
        return
    emit(
        rows,
        fmt,
        title=title if fmt == "markdown" else None,
        caption=answer if fmt == "markdown" else None,
    )
    if fmt != "markdown":
        note(f"{title}: {answer}")
