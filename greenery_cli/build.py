"""`greenery build`: rebuild chosen models from the already-loaded raw tables, all or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from greenery_cli.engine.run import ModelBuild, build
from greenery_cli.engine.selection import needs_state, split
from greenery_cli.engine.state import BuildState
from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.errors import UsageError
from greenery_cli.matrix import Node, cell_name, load_matrix
from greenery_cli.models import Model, build_order, discover, select
from greenery_cli.progress import progress
from greenery_cli.runlog import recorded_run
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, open_warehouse

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class BuildSettings:
    db: str | Path | None
    select: tuple[str, ...] = ()  # selectors: greenery_cli/engine/selection.py
    frequency: str | None = None  # matrix selectors: the models in those cells
    business_line: str | None = None
    wait: float = DEFAULT_WAIT_SECONDS
    full_refresh: bool = False  # rebuild every chosen model from scratch, changed or not
    engine: EngineSpec = DUCKDB  # a Spark Connect URL: engines/spark/build.py


@dataclass
class BuildResult:
    run_id: int
    models: list[ModelBuild] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where the engine differs (Spark)

    @property
    def built(self) -> list[ModelBuild]:
        return [b for b in self.models if b.action != "skipped"]

    def frame(self) -> pl.DataFrame:
        return builds_frame(self.models)


def builds_frame(builds: list[ModelBuild]) -> pl.DataFrame:
    """One row per model the command considered: what it did and why."""
    import polars as pl

    return pl.DataFrame(
        [
            {
                "model": b.model,
                "layer": b.layer,
                "materialized": b.materialized,
                "action": b.action,
                "rows": b.rows,
                "duration_s": b.duration_s,
                "reason": b.reason,
            }
            for b in builds
        ],
        schema={
            "model": pl.String,
            "layer": pl.String,
            "materialized": pl.String,
            "action": pl.String,
            "rows": pl.Int64,
            "duration_s": pl.Float64,
            "reason": pl.String,
        },
    )


def in_cells(matrix: Iterable[Node], frequency: str | None, business_line: str | None) -> set[str]:
    """The models in the matrix cells matching a frequency and/or a business line."""
    cells = [
        n
        for n in matrix
        if (frequency is None or n.frequency == frequency)
        and (business_line is None or n.business_line == business_line)
    ]
    chosen = {n.node for n in cells if n.node_type == "model"}
    if not chosen:
        runners = {"snapshot": "greenery snapshot", "source": "greenery load"}
        held = "; ".join(
            f"{n.node} ({n.node_type}, run by `{runners[n.node_type]}`)"
            for n in cells
            if n.node_type in runners
        )
        raise UsageError(
            f"no model in matrix cell(s) {cell_name(frequency or '*', business_line or '*')}"
            + (f"; it holds {held}" if held else "")
        )
    return chosen


def choose(
    models: dict[str, Model],
    selectors: Iterable[str] = (),
    matrix: Iterable[Node] | None = None,
    frequency: str | None = None,
    business_line: str | None = None,
    modified: set[str] | None = None,
) -> list[Model]:
    """The models to build, in dependency order.

    --select picks by selector (union of the selectors; `modified` answers state:modified);
    --frequency/--business-line pick the models in those matrix cells; given both, a model must
    be picked by each.
    """
    selectors = split(selectors)  # "a+ b" works too
    chosen = select(models, selectors, modified) if selectors else set(models)
    if frequency is not None or business_line is not None:
        if matrix is None:
            raise UsageError("--frequency/--business-line need the matrix (seeds/schedule.csv)")
        chosen &= in_cells(matrix, frequency, business_line)
        if not chosen:
            raise UsageError(
                f"--select {' '.join(selectors)} and matrix cell(s) "
                f"{cell_name(frequency or '*', business_line or '*')} share no model"
            )
    return build_order(models, chosen)


class Catalogue(Protocol):
    """What check_inputs asks of an engine (DuckDB's Warehouse, or a SparkEngine)."""

    def relations(self) -> dict[str, str]: ...


def check_inputs(wh: Catalogue, models: dict[str, Model], order: list[Model]) -> None:
    """Every input a chosen model reads from outside this build must already be in the warehouse
    (an ephemeral model's inputs are its readers')."""
    building = {m.name for m in order}
    present = wh.relations()

    def check(model: Model, reader: Model) -> None:
        needed = [
            *(("raw", s, "raw table") for s in model.sources),
            *(("seeds", s, "seed") for s in model.seeds),
        ]
        for schema, table, kind in needed:
            if f"{schema}.{table}" not in present:
                raise UsageError(
                    f"model {reader.name} reads {kind} {schema}.{table}, which is not in the "
                    "warehouse: run `greenery load` first"
                )
        for name in model.depends_on:
            parent = models[name]
            if not parent.in_warehouse:
                check(parent, reader)
            elif name not in building and parent.relation not in present:
                raise UsageError(
                    f"model {reader.name} reads model {name}, which has never been built: "
                    f"select it too (--select +{reader.name}) or run `greenery build`"
                )

    for model in order:
        if model.in_warehouse:
            check(model, model)


def build_models(settings: BuildSettings) -> BuildResult:
    from greenery_cli.data_tests import declared_tests

    models = discover()
    declared_tests()  # a malformed test declaration is a malformed project: refused before writing
    matrix = None
    if settings.frequency is not None or settings.business_line is not None:
        matrix = load_matrix(models)
    args = {
        "select": list(settings.select),
        "frequency": settings.frequency,
        "business_line": settings.business_line,
        "full_refresh": settings.full_refresh,
    }
    if settings.engine.is_spark:
        from greenery_cli.engines.spark.build import build_on_spark

        return build_on_spark(settings, models, matrix, args)
    with open_warehouse(settings.db, write=True, wait=settings.wait) as wh:
        with recorded_run(wh, "build", args) as run:
            state = BuildState.read(wh)
            modified = state.modified(models) if needs_state(settings.select) else None
            order = choose(
                models,
                settings.select,
                matrix,
                settings.frequency,
                settings.business_line,
                modified,
            )
            check_inputs(wh, models, order)
            result = BuildResult(run.run_id)
            with progress(len(order), "building") as bar, wh.transaction():
                result.models = build(
                    wh,
                    run.run_id,
                    models,
                    order,
                    full_refresh=settings.full_refresh,
                    on_built=lambda b: bar.advance(b.model),
                    state=state,
                )
            run.rows_affected = sum(b.rows or 0 for b in result.built)
            run.message = summary(result.models)
    return result


def summary(builds: list[ModelBuild]) -> str:
    """`3 built, 1 incremental, 13 skipped` for the run log and stderr."""
    counts = {
        a: sum(1 for b in builds if b.action == a) for a in ("built", "incremental", "skipped")
    }
    return ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "no models"
