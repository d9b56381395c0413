"""`greenery models`: each model's materialisation, inputs, last build, what the last run that
considered it did and why, and whether it is up to date now."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.url import DUCKDB, EngineSpec

if TYPE_CHECKING:
    import polars as pl

COLUMNS = (
    "model",
    "layer",
    "materialized",
    "depends_on",
    "rows",
    "built_at",
    "duration_s",
    "last_action",
    "last_reason",
    "state",
    "description",
)


def catalogue(
    db: str | Path | None, *, wait: float = 10.0, engine: EngineSpec = DUCKDB
) -> pl.DataFrame:
    import polars as pl

    from greenery_cli.engine.state import BuildState
    from greenery_cli.engines import open_engine
    from greenery_cli.exposures import discover_exposures
    from greenery_cli.models import build_order, discover
    from greenery_cli.sql import render

    models = discover()
    exposures = discover_exposures(models)
    last_seen: dict[str, tuple[Any, ...]] = {}
    with open_engine(db, engine, wait=wait) as wh:
        state = BuildState.read(wh)
        if "meta.changes" in state.relations:  # else a warehouse from before the build engine
            for model, action, reason in wh.rows(render("build/last_decisions.sql")):
                last_seen[model] = (action, reason)
        stale = {name: state.stale_reason(models, m) for name, m in models.items()}
    rows: list[dict[str, Any]] = []
    for m in build_order(models):
        last = state.builds.get(m.name)
        action, reason = last_seen.get(m.name, (None, None))
        if not m.in_warehouse:
            now = "inlined into the models that read it"
        else:
            now = f"stale: {stale[m.name]}" if stale[m.name] else "up to date"
        built_at: datetime | None = last.finished_at if last else None
        rows.append(
            {
                "model": m.name,
                "layer": m.layer,
                "materialized": m.materialized,
                "depends_on": ", ".join(
                    [
                        *m.depends_on,
                        *(f"raw.{s}" for s in m.sources),
                        *(f"seeds.{s}" for s in m.seeds),
                    ]
                ),
                "rows": last.rows if last else None,
                "built_at": built_at,
                "duration_s": last.duration_s if last else None,
                "last_action": action,
                "last_reason": reason,
                "state": now,
                "description": m.description,
            }
        )
    rows += [
        {
            "model": e.name,
            "layer": "exposure",
            "depends_on": ", ".join(e.depends_on),
            "description": f"{e.description} (owner: {e.owner})",
        }
        for e in exposures
    ]
    return pl.DataFrame(
        [{c: row.get(c) for c in COLUMNS} for row in rows],
        schema={
            "model": pl.String,
            "layer": pl.String,
            "materialized": pl.String,
            "depends_on": pl.String,
            "rows": pl.Int64,
            "built_at": pl.Datetime("us", "UTC"),
            "duration_s": pl.Float64,
            "last_action": pl.String,
            "last_reason": pl.String,
            "state": pl.String,
            "description": pl.String,
        },
    )
