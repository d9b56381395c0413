"""The raw contract: the seven source tables greenery accepts, their columns and types.

The contract lives here, not in type guessing: a loader reads exactly these columns with
exactly these types, and anything else is refused with a message naming file, column and row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: dict[str, str]  # column -> DuckDB type, in export order
    primary_key: tuple[str, ...]
    freshness_column: str | None  # the table's own newest-record timestamp, if it has one
    not_null: tuple[str, ...] = ()


RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "addresses",
        {
            "address_id": "VARCHAR",
            "address": "VARCHAR",
            "zipcode": "INTEGER",
            "state": "VARCHAR",
            "country": "VARCHAR",
        },
        ("address_id",),
        None,
    ),
    RawTable(
        "users",
        {
            "user_id": "VARCHAR",
            "first_name": "VARCHAR",
            "last_name": "VARCHAR",
            "email": "VARCHAR",
            "phone_number": "VARCHAR",
            "created_at": "TIMESTAMPTZ",
            "updated_at": "TIMESTAMPTZ",
            "address_id": "VARCHAR",
        },
        ("user_id",),
        "updated_at",
    ),
    RawTable(
        "promos",
        {"promo_id": "VARCHAR", "discount": "INTEGER", "status": "VARCHAR"},
        ("promo_id",),
        None,
    ),
    RawTable(
        "products",
        {"product_id": "VARCHAR", "name": "VARCHAR", "price": "DOUBLE", "inventory": "INTEGER"},
        ("product_id",),
        None,
    ),
    RawTable(
        "orders",
        {
            "order_id": "VARCHAR",
            "user_id": "VARCHAR",
            "promo_id": "VARCHAR",
            "address_id": "VARCHAR",
            "created_at": "TIMESTAMPTZ",
            "order_cost": "DOUBLE",
            "shipping_cost": "DOUBLE",
            "order_total": "DOUBLE",
            "tracking_id": "VARCHAR",
            "shipping_service": "VARCHAR",
            "estimated_delivery_at": "TIMESTAMPTZ",
            "delivered_at": "TIMESTAMPTZ",
            "status": "VARCHAR",
        },
        ("order_id",),
        "created_at",
    ),
    RawTable(
        "order_items",
        {"order_id": "VARCHAR", "product_id": "VARCHAR", "quantity": "INTEGER"},
        ("order_id", "product_id"),
        None,
    ),
    RawTable(
        "events",
        {
            "event_id": "VARCHAR",
            "session_id": "VARCHAR",
            "user_id": "VARCHAR",
            "page_url": "VARCHAR",
            "created_at": "TIMESTAMPTZ",
            "event_type": "VARCHAR",
            "order_id": "VARCHAR",
            "product_id": "VARCHAR",
        },
        ("event_id",),
        "created_at",
        not_null=("session_id", "created_at", "event_type"),
    ),
)

RAW_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in RAW_TABLES)


def raw_table(name: str) -> RawTable:
    for table in RAW_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)
