"""`greenery --engine sc://... load --source DIR`: CSV exports and seeds into Spark tables, then
every model, in build order.

The folder is read by the Spark server (a local server reads this machine's folder). Every
export is checked against the project's contract (sources.toml: the columns, each value castable
to its declared type, keys present and distinct, required columns filled) before anything is
written; only then are the raw tables, seeds and models replaced, each built under a scratch
name and renamed over the old one. Spark has no transaction across tables, so a failure while
writing (the server going away) can leave some tables of the new load beside old ones; a
rerun repairs it. Incremental models are built whole, as tables. No run log (meta) on Spark yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from greenery_cli.engines.spark.engine import SparkEngine
from greenery_cli.engines.url import EngineSpec
from greenery_cli.errors import DataError, SourceError, UsageError


@dataclass
class SparkLoadResult:
    source: str
    tables: dict[str, int] = field(default_factory=dict)  # relation -> rows
    models: dict[str, str] = field(default_factory=dict)  # relation -> how it was built
    notes: list[str] = field(default_factory=list)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _stage(engine: SparkEngine, csv: Path, name: str, columns: dict[str, str]) -> str:
    """The CSV as a temporary view, checked against the declared columns and types; the typed
    SELECT over it."""
    found = engine.read_csv(str(csv), name)
    if [c.lower() for c in found] != [c.lower() for c in columns]:
        missing = [c for c in columns if c.lower() not in {f.lower() for f in found}]
        extra = [f for f in found if f.lower() not in {c.lower() for c in columns}]
        what = (
            f"missing column(s) {', '.join(missing)}"
            if missing
            else f"unexpected column(s) {', '.join(extra)}"
            if extra
            else "the columns are not in the declared order"
        )
        raise DataError(f"{csv}: {what} (declared: {', '.join(columns)})")
    typed = [c for c, t in columns.items() if t.upper() not in ("VARCHAR", "TEXT", "STRING")]
    if typed:
        counts = engine.rows(
            "select "
            + ", ".join(
                f"count_if({_quoted(c)} is not null and try_cast({_quoted(c)} as {columns[c]}) "
                "is null)"
                for c in typed
            )
            + f" from {name}"
        )[0]
        for column, bad in zip(typed, counts, strict=True):
            if bad:
                value = engine.scalar(
                    f"select {_quoted(column)} from {name} where {_quoted(column)} is not null "
                    f"and try_cast({_quoted(column)} as {columns[column]}) is null limit 1"
                )
                raise DataError(
                    f"{csv}: {bad} value(s) of column {column} are not {columns[column]} "
                    f"(first: {value!r})"
                )
    return (
        "select "
        + ", ".join(f"cast({_quoted(c)} as {t}) as {_quoted(c)}" for c, t in columns.items())
        + f" from {name}"
    )


def _check_keys(
    engine: SparkEngine, csv: Path, select: str, key: tuple[str, ...], required: tuple[str, ...]
) -> None:
    for column in dict.fromkeys((*key, *required)):
        nulls = int(
            engine.scalar(f"select count(*) from ({select}) where {_quoted(column)} is null")
        )
        if nulls:
            raise DataError(f"{csv}: {nulls} row(s) with empty {column}")
    if key:
        columns = ", ".join(_quoted(k) for k in key)
        dupes = engine.rows(
            f"select {columns}, count(*) as n from ({select}) group by {columns} "
            f"having count(*) > 1 order by {columns} limit 3"
        )
        if dupes:
            shown = "; ".join(
                "(" + ", ".join(repr(v) for v in row[:-1]) + f") x{row[-1]}" for row in dupes
            )
            raise DataError(f"{csv}: duplicate primary key ({', '.join(key)}): {shown}")


def load_on_spark(engine: SparkEngine, source: str | None) -> SparkLoadResult:
    from greenery_cli.models import build_order, discover
    from greenery_cli.project import current
    from greenery_cli.seeds import declared_seeds

    if source is None:
        raise UsageError("load on the Spark engine needs --source DIR (no remembered source)")
    if "://" in source:
        raise UsageError(
            f"load on the Spark engine reads a folder of CSV exports, not {source.split('://')[0]}"
            ":// (docs/spark.md)"
        )
    folder = Path(source).resolve()
    if not folder.is_dir():
        raise SourceError(f"--source {source}: no such folder")
    project = current()
    engine.ensure_schemas()
    staged: list[tuple[str, str]] = []  # (relation, typed select)
    for table in project.sources:
        csv = folder / f"{table.name}.csv"
        if not csv.is_file():
            other = "parquet" if (folder / f"{table.name}.parquet").exists() else None
            raise SourceError(
                f"{folder}: no {table.name}.csv"
                + (" (Parquet exports load on DuckDB only, for now)" if other else "")
            )
        select = _stage(engine, csv, f"greenery_raw_{table.name}", table.columns)
        _check_keys(engine, csv, select, table.primary_key, table.not_null)
        staged.append((f"raw.{table.name}", select))
    for seed in declared_seeds():
        select = _stage(engine, seed.path, f"greenery_seed_{seed.name}", seed.columns)
        _check_keys(engine, seed.path, select, seed.primary_key, ())
        staged.append((f"seeds.{seed.name}", select))
    result = SparkLoadResult(source=str(folder))
    for relation, select in staged:  # everything checked: now write
        engine.create_table_as(relation, select)
        result.tables[relation] = int(engine.scalar(f"select count(*) from {relation}"))
    for model in build_order(discover()):
        if not model.in_warehouse:
            continue  # ephemeral: inlined into the models that read it
        if model.materialized == "view":
            engine.create_view_as(model.relation, model.sql)
            result.models[model.relation] = "view"
        else:
            engine.create_table_as(model.relation, model.sql)
            result.models[model.relation] = "table"
            if model.materialized == "incremental":
                result.notes.append(f"{model.relation}: incremental built whole on Spark")
    return result


def spark_load(
    spec: EngineSpec, source: str | None, selectors: tuple[str, ...], full_refresh: bool
) -> str:
    """What the CLI calls: refuse what Spark does not do yet, load, and say what was done."""
    from greenery_cli.engines.spark.engine import connect

    if selectors:
        raise UsageError(
            f"greenery load --select does not run on the Spark engine yet ({spec.shown}): "
            "it loads and builds everything"
        )
    del full_refresh  # every load on Spark is a full one
    with connect(spec) as engine:
        result = load_on_spark(engine, source)
    rows = sum(n for r, n in result.tables.items() if r.startswith("raw."))
    raw = sum(1 for r in result.tables if r.startswith("raw."))
    seeds = len(result.tables) - raw
    notes = "".join(f"; {note}" for note in result.notes)
    return (
        f"loaded {raw} raw tables ({rows} rows) and {seeds} seeds, built {len(result.models)} "
        f"models on {spec.shown} from {result.source}{notes}"
    )
