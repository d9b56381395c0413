from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand


@click.command(cls=GreeneryCommand)
@click.argument("out", type=click.Path(file_okay=False, writable=True), metavar="OUT")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    metavar="K",
    help="Multiply users, addresses, sessions, orders and events by K (1 = the real shop's "
    "size: 130 users, 150 addresses, 578 sessions, 361 orders, about 3,500 events).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="The same seed and options write the same bytes.",
)
@click.option(
    "--weeks",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    metavar="N",
    help="How many weekly product states to write to OUT/inventory-weeks.",
)
@click.option(
    "--products",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Catalogue size, independent of --scale [default: 30].",
)
@click.option(
    "--file-format",
    "file_format",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="File format of OUT/raw (the weekly product states are always CSV) [default: csv].",
)
@click.option(
    "--format",
    "old_fmt",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="Deprecated spelling of --file-format (kept for one release).",
)
def command(
    out: str,
    scale: float,
    seed: int,
    weeks: int,
    products: int | None,
    file_format: str | None,
    old_fmt: str | None,
) -> int:
    """Write greenery-shaped sample data: OUT/raw/<table>.csv|.parquet (the seven raw tables,
    exactly the raw contract `greenery load` reads) and OUT/inventory-weeks/ (products_week1.csv
    .. products_weekN.csv (N = --weeks) and schedule.csv, one snapshot moment a week).

    Sessions view several products, add some to cart and check out at the real shop's rates;
    every checkout is an order whose items are the carted products; package_shipped only for
    shipped and delivered orders; about 11% of orders use a promo. Most products' inventory is
    steady; some change most weeks; a few sell out one week and are restocked the next.
    Files of an earlier run in OUT are replaced.
    """
    from pathlib import Path

    from greenery_cli.generate import GenerateSettings, generate
    from greenery_cli.options import deprecated
    from greenery_cli.output import stderr_console

    if old_fmt is not None:
        deprecated("generate --format", "generate --file-format")
    fmt = file_format or old_fmt or "csv"
    result = generate(
        GenerateSettings(
            out=Path(out), scale=scale, seed=seed, weeks=weeks, fmt=fmt, products=products
        )
    )
    rows = ", ".join(f"{n:,} {table}" for table, n in result.rows.items())
    stderr_console().print(
        f"wrote {rows} to {result.raw}; {len(result.schedule)} weekly product states and "
        f"schedule.csv to {result.inventory_weeks}",
        highlight=False,
    )
    return 0
