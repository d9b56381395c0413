"""The layouts of the listing commands' tables (runs, freshness, snapshot runs, tests, models,
build, schedule, project sources): which columns answer the question and never give way, and
in what order the others leave the table or move beneath it when the width is short.

docs/output.md lists the same orders (tests/test_output.py checks it does).
"""

from __future__ import annotations

from typing import Any

from greenery_cli.tables import Col, Layout


def _seconds(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _hours(value: Any) -> str:
    return "" if value is None else f"{value:,.1f}"


RUNS = Layout(
    (
        Col("run_id", header="run"),
        Col("command"),
        Col("status"),
        Col("started_at", header="started (UTC)"),
        Col("elapsed_time", header="seconds", fmt=_seconds, numeric=True),
        Col("rows_affected", header="rows"),
        Col("message", wrap=True, min_width=20),
        Col("args", wrap=True, min_width=30),
        Col("completed_at", header="completed (UTC)"),
        Col("greenery_version", header="version"),
    ),
    drops=("greenery_version", "completed_at", "args", "message"),
    below=frozenset({"message"}),
)

FRESHNESS = Layout(
    (
        Col("name"),
        Col("status"),
        Col("loaded_at", header="loaded (UTC)"),
        Col("age"),
        Col("limits"),
        Col("newest_record_at", header="newest record (UTC)"),
        Col("record_age", header="record age"),
        Col("record_limits", header="record limits"),
        Col("took_s", fmt=_seconds, numeric=True),
        Col("note", wrap=True, min_width=20),
    ),
    drops=("took_s", "loaded_at", "newest_record_at", "record_limits", "note", "limits"),
    below=frozenset({"note"}),
)

SNAPSHOT_RUNS = Layout(
    (
        Col("snapshot_run_id", header="run"),
        Col("taken_at", header="taken (UTC)"),
        Col("rows_opened", header="opened"),
        Col("rows_closed", header="closed"),
        Col("rows_deleted", header="deleted"),
        Col("check_columns", header="checks", wrap=True),
        Col("missing_policy", header="missing"),
        Col("source", wrap=True),
    ),
    drops=("missing_policy", "check_columns", "source"),
    below=frozenset({"source"}),
)

TESTS = Layout(
    (
        Col("test"),
        Col("status"),
        Col("failures"),
        Col("examples", wrap=True, min_width=30),
        Col("note", wrap=True, min_width=30),
    ),
    drops=("examples", "note"),
    below=frozenset({"examples", "note"}),
)

MODELS = Layout(
    (
        Col("model"),
        Col("layer"),
        Col("materialized"),
        Col("depends_on", header="depends on", wrap=True, min_width=24),
        Col("rows"),
        Col("built_at", header="built (UTC)"),
        Col("duration_s", header="seconds", fmt=_seconds, numeric=True),
        Col("last_action", header="last action"),
        Col("last_reason", header="why", wrap=True),
        Col("state"),
    ),
    drops=("duration_s", "last_reason", "last_action", "built_at", "depends_on", "materialized"),
    below=frozenset({"depends_on"}),
)

BUILD = Layout(
    (
        Col("model"),
        Col("layer"),
        Col("materialized"),
        Col("action"),
        Col("rows"),
        Col("duration_s", header="seconds", fmt=_seconds, numeric=True),
        Col("reason", wrap=True),
    ),
    drops=("duration_s", "materialized", "layer", "reason"),
    below=frozenset({"reason"}),
)

SCHEDULE = Layout(
    (Col("cell"), Col("cron"), Col("runs"), Col("nodes", wrap=True, min_width=20)),
    simple=True,  # a plan like the crontab it prints; borders would not leave the names room
)

OVERDUE = Layout(
    (
        Col("node"),
        Col("node_type", header="type"),
        Col("cell"),
        Col("last_run_at", header="last run (UTC)"),
        Col("age_hours", header="age h", fmt=_hours, numeric=True),
        Col("allowed_hours", header="allowed h", fmt=_hours, numeric=True),
        Col("status"),
    ),
    drops=("cell", "node_type", "last_run_at"),
)

SOURCES = Layout(
    (
        Col("source"),
        Col("columns"),
        Col("primary_key", header="primary key", wrap=True),
        Col("freshness_column", header="freshness column"),
        Col("warn / error after"),
        Col("max shrink"),
    ),
    drops=("max shrink", "warn / error after", "freshness_column"),
)

# name -> layout, for docs/output.md
LAYOUTS = {
    "runs": RUNS,
    "freshness": FRESHNESS,
    "snapshot list": SNAPSHOT_RUNS,
    "test": TESTS,
    "models": MODELS,
    "build": BUILD,
    "schedule": SCHEDULE,
    "schedule check": OVERDUE,
    "project": SOURCES,
}
