"""`greenery load`: raw tables and seeds into the warehouse, then every model, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from greenery_cli.data_tests import declared_tests
from greenery_cli.errors import DataError, UsageError
from greenery_cli.matrix import check_matrix_seed
from greenery_cli.models import ModelBuild, build, build_order, discover
from greenery_cli.progress import progress
from greenery_cli.project import current
from greenery_cli.project.sources import RawTable
from greenery_cli.runlog import recorded_run
from greenery_cli.seeds import declared_seeds, load_seeds
from greenery_cli.sources import Source, check_spec, open_source, redact_source
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse, open_warehouse


@dataclass(frozen=True)
class LoadSettings:
    db: str | Path | None
    source: str | None = None  # None: the remembered source
    wait: float = DEFAULT_WAIT_SECONDS
    allow_shrink: bool = False  # accept a table losing more than its max_shrink of rows


@dataclass
class LoadResult:
    run_id: int
    source_kind: str
    source_location: str
    tables: dict[str, int] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)
    models: list[ModelBuild] = field(default_factory=list)


def remembered_source(wh: Warehouse) -> str | None:
    rows = wh.rows("select location from meta.source order by remembered_at desc limit 1")
    return rows[0][0] if rows else None


def resolve_source(wh: Warehouse, spec: str | None) -> Source:
    spec = spec or remembered_source(wh)
    if not spec:
        raise UsageError(
            "no source given and none remembered: pass --source DIR (a folder of exports) "
            "or --source postgresql://..."
        )
    return open_source(spec)


def check_keys(wh: Warehouse, table: RawTable, relation: str, where: str) -> None:
    """Refuse NULL or duplicate primary keys and NULLs in required columns, naming them."""
    for column in (*table.primary_key, *table.not_null):
        nulls = int(wh.scalar(f"select count(*) from {relation} where {column} is null"))
        if nulls:
            rows = wh.rows(
                f"select n from (select row_number() over () as n, {column} from {relation}) "
                f"where {column} is null limit 5"
            )
            raise DataError(
                f"{where}: {nulls} row(s) with empty {column} in raw table {table.name} "
                f"(data rows {', '.join(str(r[0]) for r in rows)})"
            )
    key = ", ".join(table.primary_key)
    dupes = wh.rows(
        f"select {key}, count(*) from {relation} group by all having count(*) > 1 "
        f"order by all limit 5"
    )
    if dupes:
        shown = "; ".join(
            "(" + ", ".join(repr(v) for v in row[:-1]) + f") x{row[-1]}" for row in dupes
        )
        raise DataError(
            f"{where}: duplicate primary key ({key}) in raw table {table.name}: {shown}"
        )


def row_count(wh: Warehouse, schema: str, table: str) -> int | None:
    """A table's rows, or None when it does not exist yet."""
    if not wh.table_exists(schema, table):
        return None
    return int(wh.scalar(f"select count(*) from {schema}.{table}"))


def refuse_shrink(table: RawTable, before: int | None, after: int, where: str) -> None:
    """Refuse a load that removes more than the table's max_shrink of its rows."""
    if not before or after >= before:
        return
    lost = before - after
    if lost / before > table.max_shrink:
        raise DataError(
            f"{where}: raw table {table.name} would shrink from {before:,} to {after:,} rows "
            f"(-{lost / before:.0%}, more than the {table.max_shrink:.0%} its max_shrink in "
            "queries/sources.toml allows); nothing was loaded. If the source really lost "
            "them, load again with --allow-shrink"
        )


def load(settings: LoadSettings) -> LoadResult:
    check_spec(settings.source)
    raw_tables = current().sources
    models = build_order(discover())
    seeds = declared_seeds()
    declared_tests()  # a malformed test declaration is a malformed project: refused before writing
    with open_warehouse(settings.db, write=True, wait=settings.wait) as wh:
        args: dict[str, object] = {"source": redact_source(settings.source)}
        if settings.allow_shrink:
            args["allow_shrink"] = True
        with recorded_run(wh, "load", args) as run:
            source = resolve_source(wh, settings.source)
            try:
                source.check(raw_tables)
                result = LoadResult(run.run_id, source.kind, source.location)
                steps = len(raw_tables) + 1 + len(models)
                with progress(steps, "loading") as bar, wh.transaction():
                    for table in raw_tables:
                        bar.advance(f"raw.{table.name}")
                        where = f"{source.location} {table.name}"
                        before = row_count(wh, "raw", table.name)
                        rows = source.stage(wh, table, f"raw.{table.name}")
                        check_keys(wh, table, f"raw.{table.name}", where)
                        if not settings.allow_shrink:
                            refuse_shrink(table, before, rows, where)
                        result.tables[table.name] = rows
                    bar.advance("seeds")
                    result.seeds = load_seeds(wh, seeds)
                    check_matrix_seed(seeds, models)
                    result.models = build(
                        wh, run.run_id, models, on_built=lambda b: bar.advance(b.model)
                    )
                    wh.execute("delete from meta.source")
                    wh.execute(
                        "insert into meta.source values (?, ?, current_timestamp)",
                        [source.kind, source.location],
                    )
                    for name, rows in result.tables.items():
                        wh.execute(
                            "insert into meta.loads values (?, ?, ?, ?, ?, current_timestamp)",
                            [run.run_id, name, source.kind, source.location, rows],
                        )
                run.rows_affected = sum(result.tables.values())
            finally:
                source.close()
    return result
