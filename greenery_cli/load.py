"""`greenery load`: what changed in the raw tables and seeds, then the models that depend on it,
all or nothing (greenery_cli/raw_load.py decides per table, greenery_cli/engine/ per model)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenery_cli.build import check_inputs, choose, summary
from greenery_cli.data_tests import declared_tests
from greenery_cli.engine.run import ModelBuild, build
from greenery_cli.engine.selection import needs_state
from greenery_cli.engine.state import BuildState
from greenery_cli.errors import DataError, UsageError
from greenery_cli.matrix import check_matrix_seed
from greenery_cli.models import Model, build_order, discover
from greenery_cli.progress import progress
from greenery_cli.project import current
from greenery_cli.project.sources import RawTable
from greenery_cli.raw_load import (
    TableLoad,
    check_keys,
    load_database_table,
    load_file_table,
    load_seed,
)
from greenery_cli.runlog import recorded_run
from greenery_cli.seeds import Seed, declared_seeds
from greenery_cli.sources import Source, check_spec, open_source, redact_source
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse, open_warehouse

__all__ = ["LoadResult", "LoadSettings", "check_keys", "load", "plan", "resolve_source"]


@dataclass(frozen=True)
class LoadSettings:
    db: str | Path | None
    source: str | None = None  # None: the remembered source
    wait: float = DEFAULT_WAIT_SECONDS
    select: tuple[str, ...] = ()  # only these models and the raw tables and seeds they read
    full_refresh: bool = False  # reload every (selected) raw table and rebuild from scratch
    allow_shrink: bool = False  # accept a table losing more than its max_shrink of rows


@dataclass
class LoadResult:
    run_id: int
    source_kind: str
    source_location: str
    tables: dict[str, int] = field(default_factory=dict)  # raw table -> rows in it now
    seeds: dict[str, int] = field(default_factory=dict)
    models: list[ModelBuild] = field(default_factory=list)
    loads: list[TableLoad] = field(default_factory=list)  # what each raw table and seed got

    @property
    def rows_added(self) -> int:
        return sum(t.rows_added for t in self.loads if t.relation.startswith("raw."))


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


def needed_inputs(
    models: dict[str, Model],
    chosen: Iterable[Model],
    raw_tables: tuple[RawTable, ...],
    seeds: list[Seed],
) -> tuple[tuple[RawTable, ...], list[Seed]]:
    """The raw tables and seeds the chosen models read, directly or through views and
    ephemeral models (which read their inputs whenever they are read)."""
    tables: set[str] = set()
    seed_names: set[str] = set()
    seen: set[str] = set()
    stack = [m.name for m in chosen]
    while stack:
        model = models[stack.pop()]
        if model.name in seen:
            continue
        seen.add(model.name)
        tables |= set(model.sources)
        seed_names |= set(model.seeds)
        stack += [p for p in model.depends_on if models[p].materialized in ("view", "ephemeral")]
    return (
        tuple(t for t in raw_tables if t.name in tables),
        [s for s in seeds if s.name in seed_names],
    )


def row_count(wh: Warehouse, schema: str, table: str) -> int | None:
    """A table's rows, or None when it does not exist yet."""
    if not wh.table_exists(schema, table):
        return None
    return int(wh.scalar(f"select count(*) from {schema}.{table}"))


def refuse_shrink(table: RawTable, before: int | None, loaded: TableLoad, location: str) -> None:
    """Refuse a load that removes more than the table's max_shrink of its rows. Only a table
    replaced in full can shrink: an append (a new batch file, new database rows) only adds."""
    after = loaded.rows
    if loaded.action != "loaded" or not before or after >= before:
        return
    where = f"{location} {table.name}"
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
    project = current()
    models = discover()
    seeds = declared_seeds()
    declared_tests()  # a malformed test declaration is a malformed project: refused before writing
    args: dict[str, object] = {
        "source": redact_source(settings.source),
        "select": list(settings.select),
        "full_refresh": settings.full_refresh,
    }
    if settings.allow_shrink:
        args["allow_shrink"] = True

    probed: list[tuple[Warehouse, BuildState]] = []  # the build state the probe read, and where

    def small(wh: Warehouse) -> bool:
        return nothing_to_load(wh, settings, models, project.sources, seeds, probed)

    with open_warehouse(settings.db, write=True, wait=settings.wait, in_place=small) as wh:
        with recorded_run(wh, "load", args) as run:
            # written in place, the probe's connection is this one, and nothing was built since
            state = probed[0][1] if probed and probed[0][0] is wh else BuildState.read(wh)
            order, raw_tables, seeds = plan(settings.select, models, project.sources, seeds, state)
            source = resolve_source(wh, settings.source)
            try:
                source.check(raw_tables)
                result = LoadResult(run.run_id, source.kind, source.location)
                steps = len(raw_tables) + 1 + len(order)
                with progress(steps, "loading") as bar, wh.transaction():
                    for table in raw_tables:
                        bar.advance(f"raw.{table.name}")
                        before = row_count(wh, "raw", table.name)
                        loaded = _load_table(wh, source, table, run.run_id, settings, state)
                        if not settings.allow_shrink:
                            refuse_shrink(table, before, loaded, source.location)
                        result.loads.append(loaded)
                        result.tables[table.name] = loaded.rows
                    bar.advance("seeds")
                    for seed in seeds:
                        loaded = load_seed(wh, seed, run.run_id, settings.full_refresh, state)
                        result.loads.append(loaded)
                        result.seeds[seed.name] = loaded.rows
                    check_matrix_seed(declared_seeds(), build_order(models))
                    check_inputs(wh, models, order)
                    result.models = build(
                        wh,
                        run.run_id,
                        models,
                        order,
                        full_refresh=settings.full_refresh,
                        on_built=lambda b: bar.advance(b.model),
                        state=state,
                    )
                    _remember(wh, run.run_id, source, result)
                    run.rows_affected = result.rows_added
                    run.message = load_summary(result)
                    run.write_success(wh)  # with the work, so a kill cannot split them
            finally:
                source.close()
    return result


def plan(
    select: tuple[str, ...],
    models: dict[str, Model],
    raw_tables: tuple[RawTable, ...],
    seeds: list[Seed],
    state: BuildState,
) -> tuple[list[Model], tuple[RawTable, ...], list[Seed]]:
    """The models to consider, in order, and the raw tables and seeds to bring up to date
    (`select`: only those models, and the raw tables and seeds they read)."""
    if not select:
        return build_order(models), raw_tables, seeds
    modified = state.modified(models) if needs_state(select) else None
    order = choose(models, select, modified=modified)
    return (order, *needed_inputs(models, order, raw_tables, seeds))


def nothing_to_load(
    wh: Warehouse,
    settings: LoadSettings,
    models: dict[str, Model],
    raw_tables: tuple[RawTable, ...],
    seeds: list[Seed],
    probed: list[tuple[Warehouse, BuildState]] | None = None,
) -> bool:
    """Whether a load would find nothing changed, judged without writing and cheaply (no file
    is hashed: a file whose stat moved counts as changed): every raw table's export files exactly
    as meta.raw_files recorded them, every seed as recorded, every model up to date. Then the
    load writes only its bookkeeping, and may do so in place rather than on a copy of the
    warehouse. Any doubt (an error, a database source, --full-refresh) answers False and the
    load takes the ordinary path. `probed` receives the build state read, with `wh`."""
    from greenery_cli.engine.run import decide
    from greenery_cli.raw_load import seed_digest
    from greenery_cli.sources import source_kind
    from greenery_cli.sources.files import FileSource
    from greenery_cli.sources.fingerprints import FileStat, recorded_files

    if settings.full_refresh:
        return False
    try:
        spec = settings.source or remembered_source(wh)
        if not spec or source_kind(spec) != "files":
            return False
        state = BuildState.read(wh)
        if probed is not None:
            probed.append((wh, state))
        order, tables, chosen_seeds = plan(settings.select, models, raw_tables, seeds, state)
        source = open_source(spec)  # a folder: nothing is opened
        if not isinstance(source, FileSource):
            return False
        present = {name.lower() for name in wh.relations()}  # one catalogue query, not one a table
        for table in tables:
            recorded = recorded_files(wh, f"raw.{table.name}")
            stats = [FileStat.of(source.folder, p) for p in source.files_for(table)]
            names = {s.name for s in stats}
            if f"raw.{table.name}".lower() not in present or names != set(recorded):
                return False
            for stat in stats:
                old = recorded[stat.name]
                if not stat.same_stat(old) or old.location != source.location:
                    return False
        for seed in chosen_seeds:
            seeded = recorded_files(wh, f"seeds.{seed.name}").get(seed.path.name)
            if seeded is None or seeded.sha256 != seed_digest(seed):
                return False
            if f"seeds.{seed.name}".lower() not in present:
                return False
        return all(decide(models, state, m).action == "skipped" for m in order)
    except Exception:  # noqa: BLE001 - a probe: the load itself reports whatever is wrong
        return False


def _load_table(
    wh: Warehouse,
    source: Source,
    table: RawTable,
    run_id: int,
    settings: LoadSettings,
    state: BuildState,
) -> TableLoad:
    from greenery_cli.sources.files import FileSource

    if isinstance(source, FileSource):
        return load_file_table(wh, source, table, run_id, settings.full_refresh, state)
    return load_database_table(wh, source, table, run_id, settings.full_refresh, state)


def _remember(wh: Warehouse, run_id: int, source: Source, result: LoadResult) -> None:
    wh.execute("delete from meta.source")
    wh.execute(
        "insert into meta.source values (?, ?, current_timestamp)", [source.kind, source.location]
    )
    rows = [
        [
            run_id,
            loaded.relation.removeprefix("raw."),
            source.kind,
            source.location,
            loaded.rows,
            loaded.action,
            loaded.rows_added,
        ]
        for loaded in result.loads
        if loaded.relation.startswith("raw.")
    ]
    if rows:  # one statement for every raw table
        wh.execute(
            "insert into meta.loads (run_id, table_name, source_kind, location, rows, loaded_at, "
            "action, rows_added) values "
            + ", ".join(["(?, ?, ?, ?, ?, current_timestamp, ?, ?)"] * len(rows)),
            [value for row in rows for value in row],
        )


def load_summary(result: LoadResult) -> str:
    """`1 of 7 raw tables changed (+35,000 rows), 0 seeds; models: 2 built, 15 skipped`."""
    raw = [t for t in result.loads if t.relation.startswith("raw.")]
    changed = [t for t in raw if t.action != "unchanged"]
    seeds = [t for t in result.loads if t.relation.startswith("seeds.") and t.action != "unchanged"]
    return (
        f"{len(changed)} of {len(raw)} raw tables changed (+{result.rows_added:,} rows), "
        f"{len(seeds)} seed(s) reloaded; models: {summary(result.models)}"
    )
