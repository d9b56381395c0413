"""`greenery snapshot` on Spark: each run writes the whole new history as a new generation table
from ONE portable SELECT (snapshot/next_state.sql), checks the invariants on it, then swaps the
views `snapshots.products_snapshot` / `snapshots.snapshot_runs` over the new generation.

Spark cannot UPDATE a Parquet table, and has no transaction; a generation is written beside the
current one and made current only by the view swap (one catalogue operation), so a run that
fails or is killed before the swap leaves the history as it was (the unused generation is
dropped by the next run). `snapshot revert` swaps the views back one generation. Older
generations are kept (KEEP_GENERATIONS) so a revert has something to swap back to.

Every run, replay and revert is a row of the run log on Spark (meta.runs, engines/spark/meta.py),
written after the swap; a snapshot run's id is its meta.runs id, as on DuckDB.

Before anything is written, the run's change set is DuckDB's snapshot/changes.sql as the session
temp table snapshot_changes, and DuckDB's guards run on it with DuckDB's messages: the rewind
guard (snapshot_rewind.py; --allow-rewind) and the shrink guard (--allow-shrink). A dry run
computes the next state, the versions it opens and DuckDB's counts and plan rows in session temp
tables only, and logs no run, as on DuckDB.

--check-columns and --missing are DuckDB's (snapshot.py's checks and messages, its changes.sql);
a column the source adds joins the history as on DuckDB (NULL before, compared only in versions
opened from the run that added it on), the run that added each kept in a table beside the
generation (ADDED), where DuckDB keeps it in the column's comment. Not on Spark: a PostgreSQL
source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.spark.engine import SparkEngine
from greenery_cli.engines.spark.lock import DEFAULT_WAIT, writer_lock
from greenery_cli.engines.spark.meta import RunLog, recorded_run
from greenery_cli.engines.url import EngineSpec
from greenery_cli.errors import DataError, UsageError, WorkFailed

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.snapshot import SnapshotResult
    from greenery_cli.snapshot_replay import ReplayedState, ScheduledState

HISTORY = "snapshots.products_snapshot"
RUNS = "snapshots.snapshot_runs"
KEEP_GENERATIONS = 3
STAGED = "greenery_snapshot_source"
ADDED = "snapshots.products_snapshot_columns_g"  # + generation: added_columns.sql's rows
_META_TYPES = {
    "snapshot_row_id": "bigint",
    "valid_from": "timestamptz",
    "valid_to": "timestamptz",
    "is_deleted": "boolean",
    "opened_by_run": "bigint",
    "closed_by_run": "bigint",
}
_RUN_TYPES = {
    "snapshot_run_id": "bigint",
    "taken_at": "timestamptz",
    "rows_opened": "bigint",
    "rows_closed": "bigint",
    "rows_deleted": "bigint",
    "source": "varchar",
    "check_columns": "varchar",
    "missing_policy": "varchar",
}


@dataclass(frozen=True)
class SparkRun:
    run_id: int
    taken_at: datetime
    opened: int
    closed: int
    deleted: int
    products: int
    source: str
    added_columns: tuple[str, ...] = ()


def _generation(engine: SparkEngine) -> int:
    """The generation the views point at (0: no history yet)."""
    if engine.kind_of(HISTORY) != "VIEW":
        return 0
    with engine.errors():  # Spark SQL, not DuckDB's: no dialect to go through
        text = str(engine.spark.sql(f"show create table {HISTORY}").collect()[0][0])
    marker = "products_snapshot_g"
    at = text.rfind(marker)
    digits = "".join(ch for ch in text[at + len(marker) :][:12] if ch.isdigit()) if at >= 0 else ""
    return int(digits) if digits else 0


def _empty(types: dict[str, str]) -> str:
    return (
        "select "
        + ", ".join(f"cast(null as {t}) as {c}" for c, t in types.items())
        + " where 1 = 0"
    )


def _stage_file(engine: SparkEngine, file: Path, key: str) -> int:
    """One products file (.csv or .parquet) as the temporary view STAGED, checked and typed as
    the Spark load checks an export (extra columns carried after the contract's, as DuckDB's
    replay stages them), with each row's position in the file."""
    from greenery_cli.engines.spark.load import Export, _check_keys, _stage_raw
    from greenery_cli.project import current

    project = current()
    table = project.source(project.snapshot.source)
    select = _stage_raw(engine, [Export(str(file), file.suffix.lstrip("."), str(file))], table)
    _check_keys(engine, file, select, (key,), ())
    return _positioned(engine, select)


def _positioned(engine: SparkEngine, select: str) -> int:
    # one small file is one partition, read in order: monotonically_increasing_id keeps it
    spark_select = (
        f"select *, monotonically_increasing_id() as source_position from ({select}) as src"
    )
    from greenery_cli.engines.spark.dialect import to_spark

    with engine.errors():
        engine.spark.sql(to_spark(spark_select)).createOrReplaceTempView(STAGED)
    return int(engine.scalar(f"select count(*) from {STAGED}"))


def latest_run_id(engine: SparkEngine) -> int:
    """The history's newest run id (0: none), so the run log never hands out a used one."""
    generation = _generation(engine)
    if generation == 0:
        return 0
    found = engine.scalar(f"select max(snapshot_run_id) from snapshots.snapshot_runs_g{generation}")
    return int(found or 0)


@dataclass(frozen=True)
class Guards:
    """How a run may go: DuckDB's --dry-run, --allow-rewind and --allow-shrink."""

    dry_run: bool = False
    allow_rewind: bool = False
    allow_shrink: bool = False


@dataclass(frozen=True)
class Policy:
    """What opens a version: DuckDB's --check-columns and --missing (None: the project's)."""

    check_columns: tuple[str, ...] | None = None  # ("*",): every column
    missing: str | None = None

    def resolved_missing(self) -> str:
        from greenery_cli.project import current

        return self.missing if self.missing is not None else current().snapshot.missing


@dataclass(frozen=True)
class NextColumn:
    """A data column of the history after a run (next_state.sql's leading and trailing)."""

    quoted: str
    type: str
    in_history: bool
    in_source: bool


@dataclass(frozen=True)
class _Plan:
    """A run worked out and guarded, nothing written: what the run (or its dry run) needs."""

    generation: int
    history: str  # the history the run starts from: the current generation, or an empty one
    runs: str
    products: int
    source: str
    next_state: str  # ONE SELECT: the whole history after the run
    params: dict[str, Any]
    check_columns: str  # as the runs row records them
    missing: str
    added: list[str]  # the source's columns new to the history, this run
    added_by: dict[str, int]  # every column the source added, and the run that added it


def _plan(
    engine: SparkEngine,
    taken_at: datetime,
    stage: Callable[[], tuple[int, str]],
    run_id: int,
    guards: Guards,
    policy: Policy,
) -> _Plan:
    """Stage the source, check its columns and drift as DuckDB's snapshot does, work out the
    change set (snapshot/changes.sql, the session view snapshot_changes) and refuse a rewind;
    nothing written."""
    from greenery_cli.project import current
    from greenery_cli.snapshot import (
        META_COLUMNS,
        _check_columns,
        _describe_check_columns,
        change_params,
        compared_columns,
        drifted,
    )
    from greenery_cli.snapshot_rewind import refuse_rewind
    from greenery_cli.sql import render
    from greenery_cli.warehouse import quote_identifier

    project = current()
    config = project.snapshot
    table = project.source(config.source)
    missing = policy.resolved_missing()
    generation = _generation(engine)
    if generation:
        history = f"snapshots.products_snapshot_g{generation}"
        runs = f"snapshots.snapshot_runs_g{generation}"
        history_columns = engine.column_types(history)
    else:  # no history yet: an empty one, in the session only (a dry run writes nothing)
        history, runs = "greenery_snapshot_no_history", "greenery_snapshot_no_runs"
        history_columns = {"snapshot_row_id": "bigint", **table.columns, **_META_TYPES}
        engine.create_temp_table(history, _empty(history_columns))
        engine.create_temp_table(runs, _empty(_RUN_TYPES))
    latest = engine.rows(f"select max(snapshot_run_id), max(taken_at) from {runs}")[0]
    if not guards.dry_run and int(latest[0] or 0) >= run_id:  # another writer took the id
        raise UsageError(
            f"snapshot run {run_id}: the history on {engine.path} already has run {latest[0]} "
            "(another writer ran meanwhile); nothing written"
        )
    if latest[1] is not None and latest[1] >= taken_at:
        raise UsageError(
            f"snapshot at {taken_at.isoformat()}: the history on {engine.path} already runs to "
            f"{latest[1].isoformat()} (history is append-only in time)"
        )
    products, source = stage()
    source_columns = {
        c: t for c, t in engine.column_types(STAGED).items() if c != "source_position"
    }
    # DuckDB's checks, in its words: the check columns, then the columns the source added
    checked = _check_columns(policy.check_columns, source_columns, history_columns, source)
    added = drifted(source_columns, history_columns)
    added_by = {
        **_added_by_run(engine, generation, history_columns, table.columns),
        **{c: run_id for c in added},
    }
    compared = compared_columns(checked, added, added_by)
    params = change_params(taken_at, run_id, compared, added_by)
    # Spark's staged view has no row reference: its row is a struct of the product's columns
    row = (
        "{"
        + ", ".join(
            f"'{c.replace(chr(39), chr(39) * 2)}': s.{quote_identifier(c)}" for c in source_columns
        )
        + "}"
    )
    changes = render(
        "snapshot/changes.sql",
        history=history,
        staged=STAGED,
        missing=missing,
        compared=compared,
        source_row=row,
        source_position="s.source_position",
    )
    engine.create_temp_table("snapshot_changes", changes, _only(changes, params))
    if generation and not guards.allow_rewind:
        names = [c.name for c in compared]
        refuse_rewind(engine, compared, source, names, lambda: None)  # Spark remembers none
    data = [c for c in history_columns if c != "snapshot_row_id" and c not in META_COLUMNS]
    next_columns = {
        c: NextColumn(
            quote_identifier(c),
            history_columns.get(c) or source_columns[c],
            c in history_columns,
            c in source_columns,
        )
        for c in [*data, *added]
    }
    next_state = render(
        "snapshot/next_state.sql",
        history=history,
        missing=missing,
        leading=[v for c, v in next_columns.items() if c not in added_by],
        trailing=[v for c, v in next_columns.items() if c in added_by],
    )
    return _Plan(
        generation,
        history,
        runs,
        products,
        source,
        next_state,
        {"taken_at": taken_at, "run_id": run_id},
        _describe_check_columns(policy.check_columns),
        missing,
        added,
        added_by,
    )


def _only(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters a statement names (as DuckDB's snapshot binds them)."""
    from greenery_cli.snapshot import _params

    return _params(sql, params)


def _added_by_run(
    engine: SparkEngine, generation: int, history: dict[str, str], contract: dict[str, str]
) -> dict[str, int]:
    """The columns the source added to the history and the run that added each (on DuckDB,
    the columns' comments; here the generation's table added_columns.sql writes)."""
    from greenery_cli.snapshot import META_COLUMNS

    drift = [c for c in history if c not in contract and c not in META_COLUMNS]
    if not drift or not generation:
        return {}
    found = engine.rows(f"select column_name, added_by_run from {ADDED}{generation}")
    return {str(name): int(run) for name, run in found if name in drift}


def dry_run(
    engine: SparkEngine,
    taken_at: datetime,
    stage: Callable[[], tuple[int, str]],
    guards: Guards,
    policy: Policy = Policy(),
) -> SnapshotResult:
    """What the run would close and open, as DuckDB's dry run reports it (snapshot/plan.sql,
    snapshot/counts.sql), from session views only: nothing is written, not even the log."""
    from greenery_cli.project import current
    from greenery_cli.snapshot import SnapshotResult
    from greenery_cli.sql import render

    plan = _plan(engine, taken_at, stage, latest_run_id(engine) + 1, guards, policy)
    config = current().snapshot
    columns = list(current().source(config.source).columns)
    engine.create_temp_table("snapshot_next", plan.next_state, plan.params)
    opened = render(
        "snapshot/next_opened.sql", next="snapshot_next", key=config.unique_key, columns=columns
    )
    engine.create_temp_table("snapshot_opened", opened, {"run_id": plan.params["run_id"]})
    opens, closes, deletes = engine.rows(render("snapshot/counts.sql"))[0]
    changes = engine.frame(render("snapshot/plan.sql", history=plan.history))
    return SnapshotResult(
        run_id=None,
        taken_at=taken_at,
        opened=int(opens),
        closed=int(closes),
        deleted=int(deletes),
        dry_run=True,
        source=plan.source,
        products=plan.products,
        added_columns=tuple(plan.added),
        changes=changes,
    )


def run_once(
    engine: SparkEngine,
    taken_at: datetime,
    stage: Callable[[], tuple[int, str]],
    run_id: int,
    guards: Guards = Guards(),
    policy: Policy = Policy(),
) -> SparkRun:
    """Snapshot run `run_id` at `taken_at` over what `stage` puts in STAGED; swapped in at the
    end, after DuckDB's guards (the rewind and the shrink) and the invariants."""
    from greenery_cli.project import current
    from greenery_cli.resources import ENGINE_QUERIES
    from greenery_cli.snapshot import refuse_mass_deletion
    from greenery_cli.sql import render

    config = current().snapshot
    plan = _plan(engine, taken_at, stage, run_id, guards, policy)
    if not guards.allow_shrink:
        gone = engine.scalar("select count(*) from snapshot_changes where change = 'gone'")
        refuse_mass_deletion(engine, int(gone), plan.source)
    engine.ensure_schemas()
    generation = plan.generation
    new = f"snapshots.products_snapshot_g{generation + 1}"
    params = plan.params
    engine.create_table_as(new, plan.next_state, params)
    for path in sorted((ENGINE_QUERIES / "snapshot" / "invariants").glob("*.sql")):
        check = render(
            f"snapshot/invariants/{path.name}", snapshot=lambda _name: new, config=lambda **_: ""
        )
        bad = engine.rows(f"select * from ({check.strip().rstrip(';')}) as bad limit 5")
        if bad:
            engine.drop(new)
            raise WorkFailed(
                f"snapshot invariant {path.stem} would break ({'; '.join(map(str, bad))}); "
                "nothing swapped in"
            )
    # deleted: closed by the run and not re-opened by it (a tombstone, or invalidated)
    # (closed_by_run tested for null first: DuckDB's count_if of only NULLs is NULL, not 0)
    key = config.unique_key
    opened, closed, deleted = engine.rows(
        "select count_if(a.opened_by_run = $run_id and not a.is_deleted), "
        "count_if(a.closed_by_run is not null and a.closed_by_run = $run_id), "
        "count_if(a.closed_by_run is not null and a.closed_by_run = $run_id and r.k is null) "
        f"from {new} as a left join (select distinct {key} as k from {new} "
        f"where opened_by_run = $run_id and not is_deleted) as r on r.k = a.{key}",
        {"run_id": run_id},
    )[0]
    if plan.added_by:  # DuckDB's column comments, as a table beside the generation
        added = render("snapshot/added_columns.sql", count=len(plan.added_by))
        values: dict[str, Any] = {}
        for i, (column, by) in enumerate(plan.added_by.items()):
            values |= {f"column_{i}": column, f"added_by_{i}": by}
        engine.create_table_as(f"{ADDED}{generation + 1}", added, values)
    engine.create_table_as(
        f"snapshots.snapshot_runs_g{generation + 1}",
        f"select * from {plan.runs} union all "
        "select $run_id, $taken_at, $opened, $closed, $deleted, $source, $checks, $missing",
        {
            **params,
            "opened": int(opened),
            "closed": int(closed),
            "deleted": int(deleted),
            "source": plan.source,
            "checks": plan.check_columns,
            "missing": plan.missing,
        },
    )
    _point_at(engine, generation + 1)
    _forget_before(engine, generation + 1 - KEEP_GENERATIONS)
    return SparkRun(
        run_id,
        taken_at,
        int(opened),
        int(closed),
        int(deleted),
        plan.products,
        plan.source,
        tuple(plan.added),
    )


def _point_at(engine: SparkEngine, generation: int) -> None:
    """The swap: both views over one generation (two catalogue operations, runs view last, so
    the questions, which read the runs first, never see a run without its history)."""
    engine.execute(
        f"create or replace view {HISTORY} as select * from "
        f"snapshots.products_snapshot_g{generation}"
    )
    engine.execute(
        f"create or replace view {RUNS} as select * from snapshots.snapshot_runs_g{generation}"
    )


def _forget_before(engine: SparkEngine, generation: int) -> None:
    """Drop the generation just before `generation` (older ones went in earlier runs)."""
    if generation >= 1:
        engine.drop(f"snapshots.products_snapshot_g{generation - 1}")
        engine.drop(f"snapshots.snapshot_runs_g{generation - 1}")
        engine.drop(f"{ADDED}{generation - 1}")


def revert_last(engine: SparkEngine, dry_run: bool = False) -> SnapshotResult:
    """Swap the views back one generation: the latest run undone, as its runs row says (a dry
    run lists the versions that would go and come back, and swaps nothing)."""
    from dataclasses import replace

    from greenery_cli.snapshot import SnapshotResult
    from greenery_cli.sql import render

    generation = _generation(engine)
    if generation == 0:
        raise UsageError(f"no snapshot run to revert on {engine.path}: the history is empty")
    if (
        generation - 1 > 0
        and engine.kind_of(f"snapshots.products_snapshot_g{generation - 1}") is None
    ):
        raise UsageError(
            f"snapshot generation {generation - 1} is no longer kept on {engine.path}: "
            "nothing to revert to"
        )
    run_id, taken_at, opened, closed, deleted, source = engine.rows(
        "select snapshot_run_id, taken_at, rows_opened, rows_closed, rows_deleted, source "
        f"from snapshots.snapshot_runs_g{generation} "
        "order by taken_at desc, snapshot_run_id desc limit 1"
    )[0]
    # what the generation swap undoes is what the run's row says it did: the versions it
    # opened are gone, those it closed current again
    result = SnapshotResult(
        run_id=int(run_id),
        taken_at=taken_at,
        opened=int(opened),
        closed=int(closed),
        deleted=int(deleted),
        dry_run=dry_run,
        source=source,
    )
    if dry_run:
        changes = engine.frame(render("snapshot/revert_preview.sql"), {"run_id": int(run_id)})
        return replace(result, changes=changes)
    if generation - 1 == 0:
        engine.drop(HISTORY)
        engine.drop(RUNS)
    else:
        _point_at(engine, generation - 1)
    engine.drop(f"snapshots.products_snapshot_g{generation}")
    engine.drop(f"snapshots.snapshot_runs_g{generation}")
    engine.drop(f"{ADDED}{generation}")
    return result


Stage = Callable[[], tuple[int, str]]  # puts the source in STAGED: (its products, its name)


def _products_types() -> tuple[dict[str, str], str]:
    from greenery_cli.project import current

    project = current()
    return dict(project.source(project.snapshot.source).columns), project.snapshot.unique_key


def file_stage(engine: SparkEngine, csv: Path) -> Stage:
    """Staging one products file of a replay; its source recorded as DuckDB's replay names it
    (the file itself), resolved."""
    _types, key = _products_types()

    def stage() -> tuple[int, str]:
        return _stage_file(engine, csv, key), str(csv.resolve())

    return stage


def source_stage(engine: SparkEngine, source: str) -> Stage:
    """Staging the products export of `--source` as a Spark load reads it (engines/spark/
    load.py): a folder here or a folder URL the server reads, with products as a .csv or
    .parquet file or a folder of batch files; its extra columns carried after the contract's,
    as DuckDB's snapshot stages them."""
    from greenery_cli.engines.spark.load import (
        _check_keys,
        _local_exports,
        _remote_exports,
        _stage_raw,
    )
    from greenery_cli.project import current
    from greenery_cli.sources.files import FileSource

    project = current()
    table = project.source(project.snapshot.source)
    types, key = _products_types()
    if "://" in source:
        root, chosen = _remote_exports(engine, source, (table,))
        exports = chosen[table.name]
    else:
        files = FileSource(Path(source).expanduser())
        files.check((table,))
        root, exports = str(files.folder.resolve()), _local_exports(files, table)

    def stage() -> tuple[int, str]:
        select = _stage_raw(engine, exports, table)  # the contract's columns, extra ones after
        where = exports[0].label if len(exports) == 1 else f"{root}/{table.name}/"
        _check_keys(engine, where, select, (key,), ())
        return _positioned(engine, select), root

    return stage


def loaded_stage(engine: SparkEngine) -> Stage:
    """Staging raw.products as the last `load` left it on the engine."""
    types, _key = _products_types()
    if not engine.table_exists("raw", "products"):
        raise UsageError(
            f"no raw.products on {engine.path}: run `greenery load --source DIR` first"
        )

    def stage() -> tuple[int, str]:
        select = "select * from raw.products"  # as loaded: extra columns after the contract's
        return _positioned(engine, select), "raw.products"

    return stage


def _already_there(
    engine: SparkEngine, state: ScheduledState, policy: Policy
) -> ReplayedState | None:
    """A state not after the history's end, as DuckDB's replay judges it (snapshot_replay.py):
    skipped when the history holds the same state at its moment, refused otherwise; None for
    a state after the end (a run to take)."""
    from greenery_cli.snapshot import _check_columns
    from greenery_cli.snapshot_replay import ReplayedState, held_run, refuse_another_state
    from greenery_cli.sql import render

    if _generation(engine) == 0:
        return None
    latest = engine.rows(render("snapshot/latest_moment.sql"))[0][2]
    if latest is None or state.moment > latest:
        return None
    held = held_run(engine, state)
    try:
        file_stage(engine, state.file)()
    except DataError as exc:
        raise DataError(f"{state.label}: {exc}") from None  # as a state taken names it
    staged = {c: t for c, t in engine.column_types(STAGED).items() if c != "source_position"}
    history = engine.column_types("snapshots.products_snapshot")
    names = _check_columns(policy.check_columns, staged, history, str(state.file))
    refuse_another_state(engine, state, held, STAGED, names, history, policy.resolved_missing())
    return ReplayedState(state.moment, str(state.file), held, True)


def replay(
    engine: SparkEngine, folder: Path, log: RunLog, guards: Guards, policy: Policy = Policy()
) -> list[ReplayedState]:
    """Every state of the folder's schedule.csv, oldest first, each its own swapped run and
    its own row of the run log (as on DuckDB), each guarded as DuckDB's replay guards it; a
    state the history already holds is skipped, as on DuckDB."""
    from greenery_cli.output import iso_utc
    from greenery_cli.snapshot_replay import ReplayedState, read_schedule
    from greenery_cli.snapshot_rewind import RewindRefused

    states = []
    for state in read_schedule(folder):
        held = _already_there(engine, state, policy)
        if held is not None:
            states.append(held)
            continue
        run = log.new("snapshot", {"replayed": str(state.file), "at": iso_utc(state.moment)})
        try:
            taken = run_once(
                engine, state.moment, file_stage(engine, state.file), run.run_id, guards, policy
            )
        except RewindRefused:
            raise  # names the file already, as on DuckDB
        except DataError as exc:
            raise DataError(f"{state.label}: {exc}") from None
        states.append(
            ReplayedState(
                state.moment,
                str(state.file),  # as the schedule names it, as DuckDB's replay reports it
                taken.run_id,
                False,
                taken.opened,
                taken.closed,
                taken.deleted,
            )
        )
        run.rows_affected = taken.opened + taken.closed + taken.deleted
        log.finish(run)
    return states


def now() -> datetime:
    return datetime.now(UTC)


def as_dict(run: SparkRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "taken_at": run.taken_at,
        "opened": run.opened,
        "closed": run.closed,
        "deleted": run.deleted,
        "products": run.products,
        "source": run.source,
    }


def list_runs(spec: EngineSpec) -> pl.DataFrame:
    """`snapshot list` on Spark: the runs, newest first, as on DuckDB (empty before any)."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.snapshot import empty_runs
    from greenery_cli.sql import render

    with connect(spec) as engine:
        if engine.kind_of(RUNS) is None:
            return empty_runs()
        return engine.frame(render("snapshot/runs.sql"))


def revert(spec: EngineSpec, dry_run: bool = False, wait: float = DEFAULT_WAIT) -> SnapshotResult:
    """`snapshot revert` on Spark: the previous generation made current again, logged (a dry
    run writes nothing, not even the log, as on DuckDB), under the writer lock."""
    from greenery_cli.engines.spark.engine import connect

    with connect(spec) as engine, writer_lock(engine, wait):
        if dry_run:
            return revert_last(engine, dry_run=True)
        with recorded_run(engine, "snapshot", {"revert_last": True}) as (_log, run):
            result = revert_last(engine)
            run.rows_affected = result.opened + result.closed
    return result


def spark_snapshot(
    spec: EngineSpec,
    *,
    source: str | None,
    at: datetime | None,
    replay_folder: str | None,
    guards: Guards,
    policy: Policy = Policy(),
    wait: float = DEFAULT_WAIT,
) -> tuple[str, Any]:
    """A snapshot run, its dry run or a replay on Spark: ('replay', ReplayResult) |
    ('run', SnapshotResult); under the writer lock from the first read of the history, as on
    DuckDB (a dry run too, so it sees the history a run started then would see)."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.snapshot import MISSING_POLICIES
    from greenery_cli.sources import redact_location

    if source is not None and source.split("://")[0].lower().startswith("postgres"):
        raise UsageError(
            f"greenery snapshot on the Spark engine reads a folder of exports, not "
            f"{source.split('://')[0]}:// ({spec.shown})"
        )
    missing = policy.resolved_missing()
    if missing not in MISSING_POLICIES:  # DuckDB's refusal, before the server is reached
        raise UsageError(f"--missing {missing!r}: expected one of {', '.join(MISSING_POLICIES)}")
    policy = Policy(policy.check_columns, missing)
    with connect(spec) as engine, writer_lock(engine, wait):
        used = latest_run_id(engine)
        if replay_folder is not None:
            from greenery_cli.snapshot_replay import ReplayResult

            schedule = Path(replay_folder).expanduser()
            args: dict[str, Any] = {
                "replay": str(schedule),
                "check_columns": policy.check_columns,
                "missing": missing,
                "allow_rewind": guards.allow_rewind,
                **({"allow_shrink": True} if guards.allow_shrink else {}),
            }
            with recorded_run(engine, "snapshot", args, used + 1) as (log, outer):
                states = replay(engine, schedule, log, guards, policy)
                outer.rows_affected = sum(s.opened + s.closed + s.deleted for s in states)
            return "replay", ReplayResult(folder=str(schedule.resolve()), states=states)
        from greenery_cli.snapshot import SnapshotResult

        stage = loaded_stage(engine) if source is None else source_stage(engine, source)
        if guards.dry_run:  # DuckDB's dry run logs no run either
            return "run", dry_run(engine, at or now(), stage, guards, policy)
        args = {
            "source": redact_location(source) if source else source,
            "at": at,
            "check_columns": policy.check_columns,
            "missing": missing,
            **({"allow_shrink": True} if guards.allow_shrink else {}),
        }
        with recorded_run(engine, "snapshot", args, used + 1) as (_log, run):
            taken = run_once(engine, at or now(), stage, run.run_id, guards, policy)
            run.rows_affected = taken.opened + taken.closed + taken.deleted
        return "run", SnapshotResult(
            run_id=taken.run_id,
            taken_at=taken.taken_at,
            opened=taken.opened,
            closed=taken.closed,
            deleted=taken.deleted,
            source=taken.source,
            products=taken.products,
            added_columns=taken.added_columns,
        )
