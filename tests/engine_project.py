"""A hand-built project for the build engine: one append-only source in batch files, one
whole-table source, and a model of each materialisation and incremental strategy.

    raw.events (events/*.csv) -> stg_events (view, event_time)
        -> fct_events          incremental delete+insert by created_at (joins stg_customers)
        -> fct_sessions        incremental merge by session_id (a whole session recomputed)
        -> fct_order_status    incremental merge by order_id (latest status wins, late or not)
        -> fct_event_log       incremental append, unique_key event_id (skips what it holds)
        -> fct_daily           incremental delete+insert by day, lookback 1d
        -> fct_daily_table     table
        -> int_paid (ephemeral) -> fct_paid_orders (table)
    raw.customers (customers.csv) -> stg_customers (view)

Every right answer is what a fresh full load over the same files gives, which the tests
compute independently by loading the files into a new warehouse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GREENERY_TOML = """
[project]
name = "engine_test"

[snapshot]
source = "customers"
unique_key = "session_id"
check_columns = ["region"]

[models]
materialized = "table"

[models.staging]
materialized = "view"
"""

SOURCES = """
[events]
primary_key = ["event_id"]
not_null = ["session_id", "created_at"]
freshness_column = "created_at"
incremental_column = "created_at"
[events.columns]
event_id = "VARCHAR"
session_id = "VARCHAR"
order_id = "VARCHAR"
status = "VARCHAR"
created_at = "TIMESTAMPTZ"

[customers]
primary_key = ["session_id"]
[customers.columns]
session_id = "VARCHAR"
region = "VARCHAR"
"""

STAGING_SCHEMA = """
[stg_events]
event_time = "created_at"
"""

MARTS_SCHEMA = """
[fct_events]
materialized = "incremental"
incremental_strategy = "delete+insert"
event_time = "created_at"
tags = ["events"]

[fct_sessions]
materialized = "incremental"
unique_key = "session_id"
event_time = "first_at"

[fct_order_status]
materialized = "incremental"
unique_key = "order_id"

[fct_event_log]
materialized = "incremental"
incremental_strategy = "append"
unique_key = "event_id"
tags = ["events"]

[fct_daily]
materialized = "incremental"
incremental_strategy = "delete+insert"
event_time = "day"
lookback = "1d"

[fct_daily.columns]
day = ["unique", "not_null"]

[fct_paid_orders.columns]
order_id = ["unique"]
"""

MODELS = {
    "staging/stg_events.sql": "-- events\nselect * from {{ source('events') }}",
    "staging/stg_customers.sql": "-- customers\nselect * from {{ source('customers') }}",
    "intermediate/int_paid.sql": (
        "-- paid orders\n{{ config(materialized='ephemeral') }}\n"
        "select distinct order_id from {{ ref('stg_events') }} where status = 'paid'"
    ),
    "marts/fct_events.sql": """-- events with the region of their session
select e.event_id, e.session_id, e.order_id, e.status, e.created_at, c.region
from {{ ref('stg_events') }} as e
left join {{ ref('stg_customers') }} as c using (session_id)
{% if is_incremental() %}
where e.created_at >= {{ new_data.start }} and e.created_at <= {{ new_data.end }}
{% endif %}""",
    "marts/fct_sessions.sql": """-- one row per session
select session_id, count(*) as events, min(created_at) as first_at, max(created_at) as last_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where session_id in (
    select session_id from {{ ref('stg_events') }}
    where created_at >= {{ new_data.start }} and created_at <= {{ new_data.end }}
)
{% endif %}
group by session_id""",
    "marts/fct_order_status.sql": """-- each order's latest status (ties: the greater event_id)
select order_id, status, created_at as status_at
from {{ ref('stg_events') }}
where order_id is not null
{% if is_incremental() %}
  and order_id in (
    select order_id from {{ ref('stg_events') }}
    where created_at >= {{ new_data.start }} and created_at <= {{ new_data.end }}
  )
{% endif %}
qualify row_number() over (partition by order_id order by created_at desc, event_id desc) = 1""",
    "marts/fct_event_log.sql": """-- every event once
select event_id, session_id, created_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where created_at >= {{ new_data.start }}
  and event_id not in (select event_id from {{ this }})
{% endif %}""",
    "marts/fct_daily.sql": """-- events per day
select date_trunc('day', created_at) as day, count(*) as events
from {{ ref('stg_events') }}
{% if is_incremental() %}
where date_trunc('day', created_at) >= {{ new_data.start }}
  and date_trunc('day', created_at) <= {{ new_data.end }}
{% endif %}
group by 1""",
    "marts/fct_daily_table.sql": """-- events per day, rebuilt whole
select date_trunc('day', created_at) as day, count(*) as events
from {{ ref('stg_events') }}
group by 1""",
    "marts/fct_paid_orders.sql": """-- paid orders with their latest status
select p.order_id, s.status
from {{ ref('int_paid') }} as p
join {{ ref('fct_order_status') }} as s using (order_id)""",
}

MARTS = (
    "fct_events",
    "fct_sessions",
    "fct_order_status",
    "fct_event_log",
    "fct_daily",
    "fct_daily_table",
    "fct_paid_orders",
)

SEEDS_TOML = "# no seeds\n"

HEADER = "event_id,session_id,order_id,status,created_at"

# a first day of events: two sessions, two orders (o2 paid)
DAY1_ROWS = [
    ("e01", "s1", "o1", "created", "2021-02-10T09:00:00Z"),
    ("e02", "s1", "", "view", "2021-02-10T09:05:00Z"),
    ("e03", "s2", "o2", "created", "2021-02-10T11:00:00Z"),
    ("e04", "s2", "o2", "paid", "2021-02-10T11:30:00Z"),
]


def make_engine_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (root / "queries" / "staging").mkdir(parents=True)
    (root / "queries" / "intermediate").mkdir()
    (root / "queries" / "marts").mkdir()
    (root / "seeds").mkdir()
    (root / "greenery.toml").write_text(GREENERY_TOML)
    (root / "queries" / "sources.toml").write_text(SOURCES)
    (root / "queries" / "staging" / "schema.toml").write_text(STAGING_SCHEMA)
    (root / "queries" / "marts" / "schema.toml").write_text(MARTS_SCHEMA)
    (root / "seeds" / "seeds.toml").write_text(SEEDS_TOML)
    for relative, sql in MODELS.items():
        (root / "queries" / relative).write_text(sql + "\n")
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(root))
    return root


def write_batch(folder: Path, name: str, rows: list[tuple[str, ...]]) -> Path:
    """events/<name>.csv holding `rows` (event_id, session_id, order_id, status, created_at)."""
    (folder / "events").mkdir(parents=True, exist_ok=True)
    path = folder / "events" / f"{name}.csv"
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    return path


def write_customers(folder: Path, rows: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["session_id,region", *(",".join(r) for r in rows)]
    (folder / "customers.csv").write_text("\n".join(lines) + "\n")
