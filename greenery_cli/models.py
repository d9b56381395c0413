"""Models: Jinja-templated SELECTs in queries/<layer>/, built in dependency order.

A model names its inputs in its SQL with ref('model'), source('raw_table') and seed('seed'),
so the build order follows from the SQL itself.
"""

from __future__ import annotations

import graphlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from greenery_cli.errors import ModelError, UsageError
from greenery_cli.warehouse import Warehouse

if TYPE_CHECKING:
    import polars as pl

LAYERS = ("staging", "intermediate", "marts")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str  # rendered SELECT
    depends_on: tuple[str, ...]  # other models
    sources: tuple[str, ...]  # raw tables
    seeds: tuple[str, ...]
    description: str

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"


def _description(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines).strip()


def discover(folder: Path | None = None) -> dict[str, Model]:
    """Every model of the project, rendered, with its declared inputs."""
    from greenery_cli.project import current
    from greenery_cli.project.templates import render_project_sql

    project = current()
    folder = folder or project.queries
    source_names = project.source_names
    paths = {
        path.stem: (layer, path)
        for layer in LAYERS
        for path in sorted((folder / layer).glob("*.sql"))
    }
    models: dict[str, Model] = {}
    for name, (layer, path) in paths.items():
        refs: list[str] = []
        sources: list[str] = []
        seeds: list[str] = []
        rel = path.relative_to(folder)

        def ref(model: str, _refs: list[str] = refs, _rel: Path = rel) -> str:
            if model not in paths:
                raise ModelError(f"queries/{_rel}: ref('{model}') names no model")
            if LAYERS.index(paths[model][0]) > LAYERS.index(_rel.parts[0]):
                raise ModelError(
                    f"queries/{_rel}: ref('{model}') reads a later layer ({paths[model][0]}); "
                    "data flows staging -> intermediate -> marts"
                )
            _refs.append(model)
            return f"{paths[model][0]}.{model}"

        def source(table: str, _sources: list[str] = sources, _rel: Path = rel) -> str:
            if table not in source_names:
                raise ModelError(
                    f"queries/{_rel}: source('{table}') names no source declared in "
                    f"queries/sources.toml ({', '.join(source_names)})"
                )
            _sources.append(table)
            return f"raw.{table}"

        def seed(name_: str, _seeds: list[str] = seeds) -> str:
            _seeds.append(name_)
            return f"seeds.{name_}"

        text = path.read_text()
        sql = render_project_sql(
            folder, text, f"queries/{rel}", {"ref": ref, "source": source, "seed": seed}
        )
        models[name] = Model(
            name=name,
            layer=layer,
            path=path,
            sql=sql.strip().rstrip(";"),
            depends_on=tuple(dict.fromkeys(refs)),
            sources=tuple(dict.fromkeys(sources)),
            seeds=tuple(dict.fromkeys(seeds)),
            description=_description(text),
        )
    return models


def build_order(models: dict[str, Model], selected: Iterable[str] | None = None) -> list[Model]:
    """Models in dependency order (only `selected`, if given)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
        {name: model.depends_on for name, model in models.items()}
    )
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise ModelError(
            f"models depend on each other in a cycle: {' -> '.join(exc.args[1])}"
        ) from None
    position = {name: i for i, name in enumerate(order)}
    # layers only read earlier layers (checked in discover), so this stays a topological order
    order.sort(key=lambda name: (LAYERS.index(models[name].layer), position[name]))
    wanted = set(selected) if selected is not None else None
    return [models[name] for name in order if wanted is None or name in wanted]


def downstream(models: dict[str, Model], name: str) -> set[str]:
    children: dict[str, set[str]] = {n: set() for n in models}
    for model in models.values():
        for parent in model.depends_on:
            children[parent].add(model.name)
    found: set[str] = set()
    stack = [name]
    while stack:
        for child in children[stack.pop()]:
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def upstream(models: dict[str, Model], name: str) -> set[str]:
    found: set[str] = set()
    stack = [name]
    while stack:
        for parent in models[stack.pop()].depends_on:
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found


def select(models: dict[str, Model], selectors: Iterable[str]) -> set[str]:
    """dbt-style selection: 'name', 'name+' (and downstream), '+name' (and upstream)."""
    chosen: set[str] = set()
    for selector in selectors:
        name = selector.strip("+")
        if name not in models:
            raise UsageError(f"--select {selector}: no model named {name}")
        chosen.add(name)
        if selector.endswith("+"):
            chosen |= downstream(models, name)
        if selector.startswith("+"):
            chosen |= upstream(models, name)
    return chosen


@dataclass(frozen=True)
class ModelBuild:
    model: str
    layer: str
    rows: int
    started_at: datetime
    finished_at: datetime
    duration_s: float


def build(
    wh: Warehouse,
    run_id: int,
    models: list[Model],
    on_built: Callable[[ModelBuild], None] | None = None,
) -> list[ModelBuild]:
    """Materialise each model as a table, in the given order, and record each build."""
    import duckdb

    builds = []
    for model in models:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            wh.execute(f"create or replace table {model.relation} as {model.sql}")
        except duckdb.Error as exc:
            raise ModelError(
                f"model {model.name} ({model.path.name}) failed: {str(exc).splitlines()[0]}"
            ) from None
        rows = int(wh.scalar(f"select count(*) from {model.relation}"))
        result = ModelBuild(
            model.name, model.layer, rows, started, datetime.now(UTC), time.perf_counter() - clock
        )
        wh.execute(
            "insert into meta.model_builds values (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                result.model,
                result.layer,
                result.rows,
                result.started_at,
                result.finished_at,
                result.duration_s,
            ],
        )
        builds.append(result)
        if on_built:
            on_built(result)
    return builds


def catalogue(db: str | Path | None) -> pl.DataFrame:
    """Every model with its layer, inputs, and its latest build; then the exposures reading them."""
    import polars as pl

    from greenery_cli.exposures import discover_exposures
    from greenery_cli.warehouse import open_warehouse

    models = discover()
    exposures = discover_exposures(models)
    order = build_order(models)
    latest: dict[str, tuple[int, datetime, float]] = {}
    with open_warehouse(db) as wh:
        for model, rows, finished, duration in wh.rows(
            "select model, arg_max(rows, finished_at), max(finished_at), "
            "arg_max(duration_s, finished_at) from meta.model_builds group by model"
        ):
            latest[model] = (rows, finished, duration)
    return pl.DataFrame(
        [
            {
                "model": m.name,
                "layer": m.layer,
                "depends_on": ", ".join(
                    [
                        *m.depends_on,
                        *(f"raw.{s}" for s in m.sources),
                        *(f"seeds.{s}" for s in m.seeds),
                    ]
                ),
                "rows": latest.get(m.name, (None,))[0],
                "built_at": latest.get(m.name, (None, None))[1],
                "duration_s": latest.get(m.name, (None, None, None))[2],
                "description": m.description,
            }
            for m in order
        ]
        + [
            {
                "model": e.name,
                "layer": "exposure",
                "depends_on": ", ".join(e.depends_on),
                "description": f"{e.description} (owner: {e.owner})",
            }
            for e in exposures
        ],
        schema={
            "model": pl.String,
            "layer": pl.String,
            "depends_on": pl.String,
            "rows": pl.Int64,
            "built_at": pl.Datetime("us", "UTC"),
            "duration_s": pl.Float64,
            "description": pl.String,
        },
    )
