"""`--by product`: the funnel per product, and how it went for views while out of stock.

No product-analytics tool knows the shop's inventory; greenery has its history. For each
product, the counted attempts are split by the product's stock at their entering view, read from
snapshots.products_snapshot (the version valid at that moment; out of stock = inventory <= 0).
Entries the history does not cover are unknown and said so, never counted as zeros.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import UsageError
from greenery_cli.funnel.engine import data_ends_at, exclusion_notes, frame, funnel_steps
from greenery_cli.funnel.settings import FunnelResult, FunnelSettings, FunnelStep, iso
from greenery_cli.rows import Rows

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

# by-product column names for the team's event types; any other step keeps its event type
PRODUCT_COLUMNS = {"page_view": "viewed", "add_to_cart": "added_to_cart", "checkout": "checked_out"}
STOCK_COLUMNS = (
    "viewed_out_of_stock",
    "converted_out_of_stock",
    "conversion_out_of_stock",
    "viewed_in_stock",
    "converted_in_stock",
    "conversion_in_stock",
    "viewed_stock_unknown",
)


def product_column(step: FunnelStep) -> str:
    return PRODUCT_COLUMNS.get(step.event_type, step.event_type)


def _history_starts(wh: Warehouse) -> datetime | None:
    if not all(wh.table_exists("snapshots", t) for t in ("products_snapshot", "snapshot_runs")):
        return None
    starts = wh.scalar("select min(taken_at) from snapshots.snapshot_runs")
    return starts if isinstance(starts, datetime) else None


def funnel_by_product(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """Per product: units that viewed it, added it to cart, checked out an order containing it;
    and the stock at the entering view of each unit's counted attempt."""

    if settings.order == "strict":
        raise UsageError(
            "--by product does not support --order strict: other products' events always sit "
            "between one product's steps; use --order any or ordered"
        )
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    starts = _history_starts(wh)
    with_stock = starts is not None
    raw = frame(
        wh,
        "reports/funnel_by_product.sql",
        settings,
        steps,
        need="time" if with_stock else "level",
        by_product=True,
        context={"with_stock": with_stock},
    )
    names = [product_column(s) for s in steps]
    renamed = {f"step_{s.step}": name for s, name in zip(steps, names, strict=True)}
    raw = Rows([renamed.get(c, c) for c in raw.columns], raw.rows(), _types(raw))
    notes += _stock_notes(raw, starts)
    covered = bool(with_stock and _covered(raw))
    if settings.top is not None and raw.height > settings.top:
        notes.append(f"{raw.height - settings.top} more product(s) are summed in the Other row")
        raw = _fold_products(raw, settings.top)
    rows = with_stock_columns(raw, names, covered=covered)
    return FunnelResult("by-product", rows, settings, steps, data_ends_at(wh), notes)


def _types(rows: Rows) -> list[str]:
    return [t.name for t in rows.schema.values()]


def _fold_products(raw: Rows, top: int) -> Rows:
    """The `top` most viewed products, then one Other row summing the rest."""
    rest = raw.to_dicts()[top:]
    other: dict[str, Any] = {"product_id": None, "name": f"Other ({len(rest)} products)"}
    for column, dtype in raw.schema.items():
        if dtype.is_integer():
            other[column] = sum(r[column] or 0 for r in rest)
    for column, pick in (("first_entry", min), ("last_entry", max)):
        if column in raw.columns:
            known = [r[column] for r in rest if r[column] is not None]
            other[column] = pick(known) if known else None
    kept = raw.rows()[:top]
    return Rows(raw.columns, [*kept, tuple(other.get(c) for c in raw.columns)], _types(raw))


def _covered(raw: Rows) -> int:
    return _sum(raw, "viewed_out_of_stock") + _sum(raw, "viewed_in_stock")


def _sum(frame: Rows, column: str) -> int:
    return int(sum(v for v in frame[column] if v is not None))


def _stock_notes(raw: Rows, starts: datetime | None) -> list[str]:
    if starts is None:
        return [
            "no snapshot history in the warehouse: stock at entry is unknown, so the stock "
            "columns are empty (`greenery snapshot` records the history)"
        ]
    unknown = _sum(raw, "viewed_stock_unknown")
    entries = unknown + _covered(raw)
    if not unknown:
        return []
    firsts = [v for v in raw["first_entry"] if v is not None]
    lasts = [v for v in raw["last_entry"] if v is not None]
    first, last = min(firsts, default=None), max(lasts, default=None)
    span = (
        f"{iso(first)} to {iso(last)}"
        if isinstance(first, datetime) and isinstance(last, datetime)
        else "?"
    )
    if unknown == entries:
        return [
            f"the snapshot history starts at {iso(starts)} and does not cover the entries "
            f"({span}): stock at entry is unknown, so the stock columns are empty"
        ]
    return [
        f"{unknown:,} of {entries:,} product entries fall where the snapshot history (from "
        f"{iso(starts)}) does not know the product's stock: they count in neither stock column"
    ]


def _rate(numerator: int | None, denominator: int | None) -> float | None:
    return numerator / denominator if denominator and numerator is not None else None


def with_stock_columns(raw: Rows, names: list[str], *, covered: bool) -> Rows:
    """The rates and the stock columns (null where the history says nothing)."""
    with_conversion = len(names) > 1
    records = []
    for row in raw.iter_rows(named=True):
        for prev, name in zip(names, names[1:], strict=False):
            row[f"{name}_rate"] = _rate(row[name], row[prev])
        if with_conversion:
            row["conversion"] = _rate(row[names[-1]], row[names[0]])
        if covered:
            row["conversion_out_of_stock"] = _rate(
                row["converted_out_of_stock"], row["viewed_out_of_stock"]
            )
            row["conversion_in_stock"] = _rate(row["converted_in_stock"], row["viewed_in_stock"])
        else:
            row.update(dict.fromkeys(STOCK_COLUMNS))
        records.append(row)
    given = raw.schema
    columns = _order(names, with_conversion)
    schema = {
        c: given[c].name
        if c in given and (covered or c not in STOCK_COLUMNS)
        else ("DOUBLE" if c.endswith("_rate") or c.startswith("conversion") else "BIGINT")
        for c in columns
    }
    return Rows.from_dicts(records, schema)


def _order(names: list[str], with_conversion: bool) -> list[str]:
    rates = [f"{n}_rate" for n in names[1:]] + (["conversion"] if with_conversion else [])
    return ["product_id", "name", *names, *rates, *STOCK_COLUMNS]


def stock_summary(result: FunnelResult) -> str | None:
    """One sentence comparing out-of-stock and in-stock entries, or None without the history."""
    rows = result.rows
    if (
        result.question != "by-product"
        or "viewed_out_of_stock" not in rows.columns
        or rows["viewed_out_of_stock"].null_count() == rows.height
    ):
        return None
    out, in_ = _sum(rows, "viewed_out_of_stock"), _sum(rows, "viewed_in_stock")
    unit = result.settings.unit
    if not out:
        return f"No {unit} viewed a product while the history shows it out of stock."

    def share(column: str, viewed: int) -> str:
        converted = _sum(rows, f"converted_{column}")
        return f"{converted / viewed * 100:.1f}%" if viewed else "n/a"

    last = result.steps[-1].event_type
    return (
        f"{out:,} {unit}-product entries were views of a product the history shows out of stock; "
        f"{share('out_of_stock', out)} of them reached {last}, against "
        f"{share('in_stock', in_)} of the {in_:,} in stock."
    )
