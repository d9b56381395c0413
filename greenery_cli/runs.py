"""`greenery runs`: what greenery did and when, from meta.runs, in dbt's run-results words.

One meta.runs row is one greenery invocation, the unit of one dbt `run_results.json`; the
columns use dbt's names where the concept is the same (see README, "Trust").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.warehouse import Warehouse

if TYPE_CHECKING:
    import polars as pl


def ensure_trust_tables(wh: Warehouse) -> None:
    """Create meta.freshness_checks and meta.test_results if missing (writers only)."""
    from greenery_cli.sql import render

    for statement in render("meta/trust_tables.sql").split(";"):
        if statement.strip():
            wh.execute(statement)


def require_warehouse(db: str | Path | None) -> None:
    """Writers create a missing warehouse; checking commands must not, so they refuse first."""
    from greenery_cli.errors import UsageError
    from greenery_cli.warehouse import resolve_db_path

    path = resolve_db_path(db)
    if not path.exists():
        raise UsageError(
            f"no warehouse at {path}: run `greenery load --source DIR` first, "
            "or point --db / GREENERY_DB at one"
        )


@dataclass(frozen=True)
class RunsSettings:
    db: str | Path | None
    limit: int | None = 20
    command: str | None = None
    wait: float = 10.0
    engine: EngineSpec = DUCKDB  # a Spark Connect engine reads its own meta.runs


@contextmanager
def _open(settings: RunsSettings) -> Iterator[Any]:
    """The engine whose run log is read (on Spark, refused when it has none yet)."""
    from greenery_cli.engines import open_engine

    with open_engine(settings.db, settings.engine, wait=settings.wait) as wh:
        if settings.engine.is_spark and not wh.table_exists("meta", "runs"):
            from greenery_cli.errors import UsageError

            raise UsageError(
                f"no run log on {settings.engine.shown}: nothing has run there yet "
                "(`greenery load --source DIR` starts it)"
            )
        yield wh


def list_runs(settings: RunsSettings) -> pl.DataFrame:
    """Runs, newest first: command, args, status, start, completion, elapsed time, rows."""
    with _open(settings) as wh:
        return _runs(wh, settings)


def _runs(wh: Warehouse, settings: RunsSettings) -> pl.DataFrame:
    from greenery_cli.sql import render

    params: dict[str, Any] = {"command": settings.command}
    if settings.limit is not None:
        params["limit"] = settings.limit
    return wh.frame(render("runs/runs.sql", limit=settings.limit is not None), params)


def run_results(settings: RunsSettings) -> list[dict[str, Any]]:
    """Runs as JSON objects shaped like dbt's run_results: `args` an object, and `results`
    listing each model built, test run or freshness check with its own status and timing."""
    from greenery_cli.output import records
    from greenery_cli.sql import render

    with _open(settings) as wh:
        runs = records(_runs(wh, settings))
        present = {
            table: wh.table_exists("meta", table)
            for table in ("model_builds", "test_results", "freshness_checks")
        }
        nodes: dict[int, list[dict[str, Any]]] = {}
        if runs and any(present.values()):  # a Spark server that only snapshots has none
            sql = render("runs/node_results.sql", **present)
            for node in records(wh.frame(sql, {"run_ids": [r["run_id"] for r in runs]})):
                nodes.setdefault(node.pop("run_id"), []).append(_dbt_node(node))
    for run in runs:
        run["args"] = json.loads(run["args"]) if run["args"] else {}
        run["results"] = nodes.get(run["run_id"], [])
    return runs


def _dbt_node(node: dict[str, Any]) -> dict[str, Any]:
    """One node result in dbt's shape: timing list and adapter_response."""
    return {
        "unique_id": node["unique_id"],
        "status": node["status"],
        "execution_time": node["execution_time"],
        "timing": [
            {
                "name": "execute",
                "started_at": node["started_at"],
                "completed_at": node["completed_at"],
            }
        ],
        "adapter_response": {"rows_affected": node["rows_affected"]}
        if node["rows_affected"] is not None
        else {},
        "failures": node["failures"],
        "message": node["message"],
    }
