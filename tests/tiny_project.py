"""A hand-built greenery project (queries/, seeds/, a matrix) and a warehouse with two raw tables.

Its graph, whose right answers are obvious by eye:

    raw.products -> stg_products -> int_stock -> dim_stock
    raw.promos   -> stg_promos   -> fct_promos
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import RAW_TABLE_NAMES, REPO

from greenery_cli.warehouse import open_warehouse

MODELS = {
    "staging/stg_products.sql": "-- products\nselect product_id, name, inventory "
    "from {{ source('products') }}",
    "staging/stg_promos.sql": "-- promos\nselect promo_id, discount from {{ source('promos') }}",
    "intermediate/int_stock.sql": "-- stock\nselect product_id, inventory "
    "from {{ ref('stg_products') }}",
    "marts/dim_stock.sql": "-- in stock\nselect * from {{ ref('int_stock') }} where inventory > 0",
    "marts/fct_promos.sql": "-- promos\nselect * from {{ ref('stg_promos') }}",
}

# node, node_type, business_line, frequency
MATRIX = [
    *[(table, "source", "Core", "hourly") for table in RAW_TABLE_NAMES],
    ("stg_products", "model", "Product", "daily"),
    ("int_stock", "model", "Product", "daily"),
    ("dim_stock", "model", "Product", "weekly"),
    ("stg_promos", "model", "Marketing", "daily"),
    ("fct_promos", "model", "Marketing", "daily"),
    ("products_snapshot", "snapshot", "Product", "hourly"),
]

SEEDS_TOML = """
[schedule]
columns = { node = "VARCHAR", node_type = "VARCHAR", business_line = "VARCHAR", \
frequency = "VARCHAR" }
"""


def write_matrix(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    lines = ["node,node_type,business_line,frequency", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n")


def make_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for relative, sql in MODELS.items():
        (root / "queries" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "queries" / relative).write_text(sql + "\n")
    # the shop's declarations: greenery.toml and its seven sources (greenery's own SQL stays out)
    shutil.copy(REPO / "greenery.toml", root / "greenery.toml")
    # the marts as tables (the shop's layer defaults make the rest views)
    (root / "queries" / "marts" / "schema.toml").write_text(
        '[dim_stock]\nmaterialized = "table"\n\n[fct_promos]\nmaterialized = "table"\n'
    )
    shutil.copy(REPO / "queries" / "sources.toml", root / "queries" / "sources.toml")
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "seeds.toml").write_text(SEEDS_TOML)
    write_matrix(root / "seeds" / "schedule.csv", MATRIX)
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(root))
    return root


def make_warehouse(db: Path, products: list[tuple[str, str, int]]) -> Path:
    """A warehouse holding raw.products and raw.promos, as if loaded."""
    with open_warehouse(db, write=True) as wh:
        wh.execute(
            "create or replace table raw.products "
            "(product_id varchar, name varchar, price double, inventory integer)"
        )
        for product_id, name, inventory in products:
            wh.execute(
                "insert into raw.products values (?, ?, 1.0, ?)", [product_id, name, inventory]
            )
        wh.execute(
            "create or replace table raw.promos as "
            "select * from (values ('spring', 10, 'active')) as t(promo_id, discount, status)"
        )
    return db
