"""`greenery runs`: what greenery did and when, from meta.runs, in dbt's run-results words.

One meta.runs row is one greenery invocation, the unit of one dbt `run_results.json`; the
columns use dbt's names where the concept is the same (see README, "Trust").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.warehouse import Warehouse

if TYPE_CHECKING:
    import polars as pl


def ensure_trust_tables(wh: Warehouse) -> None:
    """Create meta.freshness_checks and meta.test_results if missing (writers only)."""
    from greenery_cli.sql import render

    for statement in render("meta/trust_tables.sql").split(";"):
        if statement.strip():
            wh.execute(statement)


@dataclass(frozen=True)
class RunsSettings:
    db: str | Path | None
    limit: int | None = 20
    command: str | None = None


def list_runs(settings: RunsSettings) -> pl.DataFrame:
    """Runs, newest first: command, args, status, start, completion, elapsed time, rows."""
    from greenery_cli.sql import render
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(settings.db) as wh:
        return wh.frame(
            render("runs/runs.sql", limit=settings.limit is not None),
            {"command": settings.command, "limit": settings.limit}
            if settings.limit is not None
            else {"command": settings.command},
        )


def run_results(runs: pl.DataFrame) -> list[dict[str, Any]]:
    """Runs as JSON objects: `args` as an object rather than its stored text."""
    from greenery_cli.output import records

    results = records(runs)
    for result in results:
        result["args"] = json.loads(result["args"]) if result["args"] else {}
    return results
