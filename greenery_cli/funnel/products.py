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

if TYPE_CHECKING:
    import polars as pl

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
    raw = raw.rename({f"step_{s.step}": name for s, name in zip(steps, names, strict=True)})
    notes += _stock_notes(raw, starts)
    covered = bool(with_stock and _covered(raw))
    if settings.top is not None and raw.height > settings.top:
        notes.append(f"{raw.height - settings.top} more product(s) are summed in the Other row")
        raw = _fold_products(raw, settings.top)
    rows = with_stock_columns(raw, names, covered=covered)
    return FunnelResult("by-product", rows, settings, steps, data_ends_at(wh), notes)


def _fold_products(raw: pl.DataFrame, top: int) -> pl.DataFrame:
    """The `top` most viewed products, then one Other row summing the rest."""
    import polars as pl

    rest = raw.slice(top)
    counts = [c for c, t in raw.schema.items() if t.is_integer()]
    other = rest.select(
        pl.lit(None, dtype=pl.String).alias("product_id"),
        pl.lit(f"Other ({rest.height} products)").alias("name"),
        *(pl.col(c).sum() for c in counts),
        *(
            getattr(pl.col(c), how)()
            for c, how in (("first_entry", "min"), ("last_entry", "max"))
            if c in raw.columns
        ),
    )
    return pl.concat([raw.head(top), other.select(raw.columns).cast(raw.schema)])


def _covered(raw: pl.DataFrame) -> int:
    return _sum(raw, "viewed_out_of_stock") + _sum(raw, "viewed_in_stock")


def _sum(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column].fill_null(0).sum())


def _stock_notes(raw: pl.DataFrame, starts: datetime | None) -> list[str]:
    if starts is None:
        return [
            "no snapshot history in the warehouse: stock at entry is unknown, so the stock "
            "columns are empty (`greenery snapshot` records the history)"
        ]
    unknown = _sum(raw, "viewed_stock_unknown")
    entries = unknown + _covered(raw)
    if not unknown:
        return []
    first, last = raw["first_entry"].drop_nulls().min(), raw["last_entry"].drop_nulls().max()
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


def with_stock_columns(raw: pl.DataFrame, names: list[str], *, covered: bool) -> pl.DataFrame:
    """The rates and the stock columns (null where the history says nothing)."""
    import polars as pl

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
    out = raw.with_columns(rates)
    if not covered:
        nulls: dict[str, Any] = {c: pl.lit(None, dtype=pl.Int64) for c in STOCK_COLUMNS}
        nulls["conversion_out_of_stock"] = pl.lit(None, dtype=pl.Float64)
        nulls["conversion_in_stock"] = pl.lit(None, dtype=pl.Float64)
        return out.with_columns(**nulls).select(_order(names, len(names) > 1))

    def rate(converted: str, viewed: str) -> pl.Expr:
        return pl.when(pl.col(viewed) > 0).then(pl.col(converted) / pl.col(viewed)).otherwise(None)

    out = out.with_columns(
        conversion_out_of_stock=rate("converted_out_of_stock", "viewed_out_of_stock"),
        conversion_in_stock=rate("converted_in_stock", "viewed_in_stock"),
    )
    return out.select(_order(names, len(names) > 1))


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
