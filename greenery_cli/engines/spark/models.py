"""Models on Spark, for `load` and `build`: each one materialised whole, in the order given.

A view is created or replaced; a table (an incremental model too: Spark builds it whole) is
built under a scratch name and renamed over the old one (SparkEngine.create_table_as), so a
model whose SQL fails leaves its previous table in place. An ephemeral model stores nothing
(its readers inline it); an old relation of its name is dropped. Spark has no transaction
across tables: the first model that fails stops the work, and the models built before it stay
built (`SparkBuilds` holds them, for the caller to log). What was built goes to
meta.model_builds and meta.changes in the rows DuckDB's build engine writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from greenery_cli.engine.run import ModelBuild
from greenery_cli.errors import DataError, ModelError, WarehouseError

if TYPE_CHECKING:
    from greenery_cli.engines.spark.engine import SparkEngine
    from greenery_cli.models import Model


@dataclass
class SparkBuilds:
    """What a run has built so far (kept when a model fails: Spark cannot undo the others)."""

    builds: list[ModelBuild] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # relation -> view | table
    notes: list[str] = field(default_factory=list)


def _materialise(engine: SparkEngine, model: Model) -> int | None:
    """Build one model whole; the rows of the table it made (None: a view, or nothing)."""
    if model.materialized == "ephemeral":
        engine.drop(model.relation)  # an old view or table of its name (DuckDB's make_room)
        return None
    if model.materialized == "view":
        engine.create_view_as(model.relation, model.sql)
        return None
    engine.create_table_as(model.relation, model.sql)
    return int(engine.scalar(f"select count(*) from {model.relation}"))


def build_in_order(
    engine: SparkEngine,
    order: Iterable[Model],
    reason: Callable[[Model], str],
    done: SparkBuilds,
    on_built: Callable[[Model, ModelBuild], None] | None = None,
) -> None:
    """Build each model of `order` in turn (`reason` asked just before, after the previous
    model's `on_built`), appending to `done`; the first failure is a ModelError naming the model
    and its file, as on DuckDB."""
    for model in order:
        why = reason(model)
        started, clock = datetime.now(UTC), time.perf_counter()
        try:
            rows = _materialise(engine, model)
        except (WarehouseError, DataError) as exc:  # the server unreachable stays SourceError
            raise ModelError(
                f"model {model.name} ({model.path.name}) failed: {str(exc).splitlines()[0]}"
            ) from None
        if model.in_warehouse:
            done.kinds[model.relation] = "view" if model.materialized == "view" else "table"
        if model.materialized == "incremental":
            done.notes.append(f"{model.relation}: incremental built whole on Spark")
        built = ModelBuild(
            model.name,
            model.layer,
            rows,
            started,
            datetime.now(UTC),
            time.perf_counter() - clock,
            model.materialized,
            "built",
            why,
        )
        done.builds.append(built)
        if on_built is not None:
            on_built(model, built)


def logged_rows(
    run_id: int, models: dict[str, Model], builds: list[ModelBuild]
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The rows of meta.model_builds and meta.changes for `builds` (each model rewritten whole:
    one `throughout` change per view or table, none for an ephemeral model, as on DuckDB)."""
    decisions: list[list[Any]] = []
    changes: list[list[Any]] = []
    for b in builds:
        model = models[b.model]
        assert model.fingerprint is not None
        decisions.append(
            [run_id, b.model, b.layer, b.rows, b.started_at, b.finished_at, b.duration_s]
            + [b.materialized, b.action, b.reason, model.fingerprint.as_json()]
        )
        if model.in_warehouse:
            changes.append([run_id, model.relation, "throughout", None, None, b.rows])
    return decisions, changes
