"""A bigger copy of an export folder: the raw tables repeated K times with suffixed ids.

A stand-in for the generator where `greenery generate` is not available: the same shapes,
rates and timestamps as the source, K times the users, addresses, orders and events (the
catalogue, promos and inventory weeks are kept as they are)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from handwritten.job import export_file, typed_reader

# the key columns renamed per copy; products and promos are shared by every copy
COPIED_KEYS = {
    "addresses": ("address_id",),
    "users": ("user_id", "address_id"),
    "orders": ("order_id", "user_id", "address_id", "tracking_id"),
    "order_items": ("order_id",),
    "events": ("event_id", "session_id", "user_id", "order_id"),
}


def replicate(source: Path, out: Path, copies: int, fmt: str) -> Path:
    """Write out/raw/<table>.<fmt> and out/inventory-weeks/ from source (raw/, inventory-weeks/)."""
    from greenery_cli.project import builtin_root, read_project

    raw_tables = read_project(builtin_root()).sources
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    options = "(format csv, header true)" if fmt == "csv" else "(format parquet)"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in raw_tables:
        reader = typed_reader(export_file(source / "raw", table.name), table.columns)
        keys = COPIED_KEYS.get(table.name)
        if keys:
            renamed = ", ".join(f"{k} || '-' || copy_no as {k}" for k in keys)
            select = (
                f"select * exclude (copy_no) replace ({renamed}) "
                f"from ({reader}), range({copies}) as copies(copy_no)"
            )
        else:
            select = reader
        con.execute(f"copy ({select}) to '{raw / f'{table.name}.{fmt}'}' {options}")
    weeks = out / "inventory-weeks"
    if weeks.exists():
        shutil.rmtree(weeks)
    shutil.copytree(source / "inventory-weeks", weeks)
    con.close()
    return out
