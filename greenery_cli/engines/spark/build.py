"""`greenery --engine sc://... build`: the chosen models rebuilt on Spark from what its raw and
seeds tables hold, in build order, logged in Spark's meta.* as DuckDB's build logs itself.

The selection is DuckDB's (greenery_cli/build.py: --select, the matrix cells, the missing-input
check), and so is each model's reason where DuckDB's engine would build it too (never built,
--full-refresh, its SQL or an input changed). Where DuckDB would skip a model or apply an
increment, Spark rebuilds it whole (REBUILT): with no transaction, a load that failed halfway
could have changed a raw table without logging it, so "up to date" is not trusted here. Each
model is built as the Spark load builds it (engines/spark/models.py). The first model that
fails stops the build: its previous table stays (scratch name + rename), the models after it
are not built, and those built before it stay built and are logged under the failed run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from greenery_cli.build import BuildResult, BuildSettings, check_inputs, choose, summary
from greenery_cli.engine.run import ModelBuild, decide
from greenery_cli.engine.selection import needs_state
from greenery_cli.engine.state import BuildState, Change, LastBuild
from greenery_cli.engines.spark.models import SparkBuilds, build_in_order, logged_rows
from greenery_cli.errors import GreeneryError, ModelError

if TYPE_CHECKING:
    from greenery_cli.engines.spark.engine import SparkEngine
    from greenery_cli.matrix import Node
    from greenery_cli.models import Model

REBUILT = "rebuilt: a Spark build builds every chosen model"
META_TABLES = ("model_builds", "changes")


def spark_reason(
    models: dict[str, Model], state: BuildState, model: Model, full_refresh: bool
) -> str:
    """Why Spark builds `model` now: DuckDB's reason when DuckDB would build it in full (an
    ephemeral model's always), else REBUILT."""
    decision = decide(models, state, model, full_refresh)
    if decision.action == "built" or model.materialized == "ephemeral":
        return decision.reason
    return REBUILT


def remember(state: BuildState, run_id: int, model: Model, built: ModelBuild) -> None:
    """What the models after this one read from `state`, as DuckDB's engine updates it."""
    assert model.fingerprint is not None
    state.builds[model.name] = LastBuild(
        run_id,
        model.fingerprint.as_json(),
        model.materialized,
        built.finished_at,
        built.rows,
        built.duration_s,
    )
    if model.in_warehouse:
        state.changes.append(Change(run_id, model.relation, rows=built.rows))
        state.relations[model.relation] = "VIEW" if model.materialized == "view" else "TABLE"
    else:
        state.relations.pop(model.relation, None)


def _log(engine: SparkEngine, run_id: int, models: dict[str, Model], done: SparkBuilds) -> None:
    from greenery_cli.engines.spark.meta import append

    decisions, changes = logged_rows(run_id, models, done.builds)
    append(engine, "model_builds", decisions)
    append(engine, "changes", changes)


def build_on_spark(
    settings: BuildSettings,
    models: dict[str, Model],
    matrix: list[Node] | None,
    args: dict[str, Any],
) -> BuildResult:
    """What build_models does when the engine is a Spark Connect URL."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.meta import ensure, recorded_run
    from greenery_cli.progress import progress

    with connect(settings.engine) as engine:
        with recorded_run(engine, "build", args, wait=settings.wait) as (_log_of_runs, run):
            ensure(engine, META_TABLES)
            on_spark: Any = engine  # BuildState reads through the engine's rows()
            state = BuildState.read(on_spark)
            modified = state.modified(models) if needs_state(settings.select) else None
            order = choose(
                models,
                settings.select,
                matrix,
                settings.frequency,
                settings.business_line,
                modified,
            )
            check_inputs(engine, models, order)
            done = SparkBuilds()

            def built(model: Model, result: ModelBuild) -> None:
                remember(state, run.run_id, model, result)
                bar.advance(result.model)

            try:
                with progress(len(order), "building") as bar:
                    build_in_order(
                        engine,
                        order,
                        lambda m: spark_reason(models, state, m, settings.full_refresh),
                        done,
                        built,
                    )
            except ModelError as exc:
                left = len(order) - len(done.builds) - 1
                try:
                    _log(engine, run.run_id, models, done)
                except GreeneryError:
                    pass  # the server that failed the model may be gone: its error is the news
                raise ModelError(
                    f"{exc}; Spark has no transaction: the {len(done.builds)} model(s) before it "
                    f"were rebuilt, it keeps its previous relation, the {left} after it were not "
                    "built"
                ) from None
            _log(engine, run.run_id, models, done)
            result = BuildResult(run.run_id, done.builds, done.notes)
            run.rows_affected = sum(b.rows or 0 for b in result.built)
            run.message = summary(result.models)
    return result
