"""`greenery snapshot`: the products table as a type-2 history, safe under cron.

One run, under the writer lock and in one DuckDB transaction: stage the source's products
table, refuse bad input before writing, compare it set-wise with the current versions (SQL in
queries/snapshot/), close what changed or went, open the new versions, check the invariants
(queries/snapshot/invariants/, over the products the run touched) and commit, or roll back.
README, "Snapshots", documents the tables and the choices made here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import DataError, UsageError, WorkFailed
from greenery_cli.output import iso_utc
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse, open_warehouse
from greenery_cli.warehouse import quote_identifier as _quote

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.runlog import Run
    from greenery_cli.snapshot_rewind import SnapshotEngine

MISSING_POLICIES = ("ignore", "invalidate", "new_record")
ALL_COLUMNS = "*"
KEY = "product_id"
# the snapshot's own columns, which a source column may not shadow
META_COLUMNS = (
    "snapshot_row_id",
    "valid_from",
    "valid_to",
    "is_deleted",
    "opened_by_run",
    "closed_by_run",
)
SCRATCH = "snapshot_scratch"  # an in-memory database: the staged source never touches the file
STAGED = f"{SCRATCH}.products"
_ADDED_BY = re.compile(r"added by snapshot run (\d+)")


@dataclass(frozen=True)
class SnapshotSettings:
    db: str | Path | None
    source: str | None = None  # a folder or postgresql:// URL; None = remembered source
    at: datetime | None = None  # the run's moment (tz-aware or naive=UTC); None = now
    # None = the project's [snapshot] check_columns (the shop's: inventory); ("*",) = all columns
    check_columns: tuple[str, ...] | None = None
    missing: str | None = None  # ignore | invalidate | new_record; None = the project's
    dry_run: bool = False
    wait: float = DEFAULT_WAIT_SECONDS
    allow_shrink: bool = False  # accept marking more than [snapshot] max_deleted deleted
    allow_rewind: bool = False  # let a source that looks like an older state through


@dataclass(frozen=True)
class Staged:
    """A source's products, staged: where, its columns, and where they came from."""

    table: str
    columns: dict[str, str]
    kind: str
    location: str
    products: int


@dataclass(frozen=True)
class SnapshotResult:
    """What a run wrote (or, for a dry run or a revert, would write / undid)."""

    run_id: int | None  # the snapshot run (= meta.runs run id); None for a dry run
    taken_at: datetime
    opened: int  # versions opened, tombstones not counted
    closed: int  # versions closed
    deleted: int  # products gone from the source: tombstoned (new_record) or invalidated
    dry_run: bool = False
    source: str | None = None
    products: int = 0  # rows in the source's products table
    added_columns: tuple[str, ...] = ()
    changes: pl.DataFrame | None = field(default=None, compare=False)  # dry runs: the rows


@dataclass(frozen=True)
class _Column:
    name: str
    quoted: str
    param: str | None = None  # compare only versions opened at or after the run that added it


def compared_columns(
    checked: list[str], added: list[str] | set[str], added_by: dict[str, int]
) -> list[_Column]:
    """The check columns the change set compares (not those the source just added), each
    compared only in versions opened from the run that added it, if one did (on either engine)."""
    return [
        _Column(c, _quote(c), f"added_{i}" if c in added_by else None)
        for i, c in enumerate(checked)
        if c not in added
    ]


def change_params(
    taken_at: datetime, run_id: int | None, compared: list[_Column], added_by: dict[str, int]
) -> dict[str, Any]:
    """The change set's parameters: the run's moment and id, and each added column's run."""
    return {
        "taken_at": taken_at,
        "run_id": run_id,
        **{col.param: added_by[col.name] for col in compared if col.param},
    }


def _params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters a statement names (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _run_sql(wh: Warehouse, template: str, params: dict[str, Any], **context: Any) -> None:
    from greenery_cli.sql import render

    for statement in render(template, **context).split(";"):
        if statement.strip():
            wh.execute(statement, _params(statement, params))


def _frame(wh: Warehouse, template: str, params: dict[str, Any], **context: Any) -> pl.DataFrame:
    from greenery_cli.sql import render

    sql = render(template, **context)
    return wh.frame(sql, _params(sql, params))


def ensure_tables(wh: Warehouse) -> None:
    _run_sql(wh, "snapshot/tables.sql", {})


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _columns(wh: Warehouse, catalog: str, schema: str, table: str) -> dict[str, str]:
    rows = wh.rows(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    )
    return {name: type_ for name, type_ in rows}


def _added_by_run(wh: Warehouse) -> dict[str, int]:
    """Drift columns and the run that added each (kept in the column's comment)."""
    rows = wh.rows(
        "select column_name, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'snapshots' "
        "and table_name = 'products_snapshot' and comment is not null"
    )
    found = {name: _ADDED_BY.search(comment) for name, comment in rows}
    return {name: int(m.group(1)) for name, m in found.items() if m}


@contextmanager
def _scratch(wh: Warehouse) -> Iterator[None]:
    """An attached in-memory database for the staged source (a temp table cannot be staged
    into by a Source, and a transaction writes to one database only)."""
    wh.execute(f"attach ':memory:' as {SCRATCH}")
    try:
        yield
    finally:
        wh.execute(f"detach {SCRATCH}")


def _stage(wh: Warehouse, spec: str | None) -> tuple[str, str, int]:
    """Stage the source's products into the scratch database; (kind, location, rows)."""
    from greenery_cli.load import check_keys, resolve_source
    from greenery_cli.project import current

    products = current().source("products")
    source = resolve_source(wh, spec)
    try:
        source.check((products,))
        rows = source.stage(wh, products, STAGED)
        check_keys(wh, products, STAGED, f"{source.location} products")
        return source.kind, source.location, rows
    finally:
        source.close()


def _check_columns(
    requested: tuple[str, ...] | None,
    source_columns: dict[str, str],
    snapshot_columns: dict[str, str],
    location: str,
) -> list[str]:
    """The columns compared, refusing any the source's products table does not have."""
    data = [c for c in source_columns if c != KEY]
    if requested is None:
        from greenery_cli.project import current

        requested = current().snapshot.check_columns
    if ALL_COLUMNS in requested or "all" in requested:
        return data
    if KEY in requested:
        raise UsageError(f"--check-columns: {KEY} is the key, not a column to compare")
    missing = [c for c in requested if c not in source_columns]
    if missing:
        vanished = [c for c in missing if c in snapshot_columns]
        what = "has vanished from" if vanished == missing else "is not in"
        raise DataError(
            f"{location} products: check column(s) {', '.join(missing)} {what} the source's "
            f"products table (its columns: {', '.join(source_columns)})"
        )
    return list(dict.fromkeys(requested))


def drifted(source_columns: dict[str, str], snapshot_columns: dict[str, str]) -> list[str]:
    """The source's columns new to the snapshot, refusing any that would shadow its own."""
    clashes = [c for c in source_columns if c in META_COLUMNS]
    if clashes:
        raise DataError(
            f"source products column(s) {', '.join(clashes)} clash with the snapshot's own "
            "columns; rename them in the export"
        )
    return [c for c in source_columns if c not in snapshot_columns]


def _drift(
    wh: Warehouse, source_columns: dict[str, str], snapshot_columns: dict[str, str], run_id: int
) -> list[str]:
    """Add the source's new columns to the snapshot (NULL in history), noting the run."""
    added = drifted(source_columns, snapshot_columns)
    for column in added:
        wh.execute(
            f"alter table snapshots.products_snapshot add column {_quote(column)} "
            f"{source_columns[column]}"
        )
        wh.execute(
            f"comment on column snapshots.products_snapshot.{_quote(column)} is "
            f"'added by snapshot run {run_id}'"
        )
    return added


def _refuse_out_of_order(wh: Warehouse, taken_at: datetime, asked: bool) -> None:
    from greenery_cli.sql import render

    run_id, run_at, latest = wh.rows(render("snapshot/latest_moment.sql"))[0]
    if latest is None or taken_at > latest:
        return
    what = f"--at {iso_utc(taken_at)}" if asked else f"the clock ({iso_utc(taken_at)})"
    last = f"the latest snapshot run {run_id} at {iso_utc(run_at)}" if run_at else "the history"
    raise UsageError(
        f"{what} is not after {last}: history is append-only in time, so take runs in order "
        "(replay old exports oldest first; `greenery snapshot revert` undoes a run)"
    )


def check_invariants(wh: Warehouse, touched: str) -> None:
    """Run greenery's snapshot invariants (snapshot/invariants/) over the products `touched`
    names; raise on a breach.

    Only touched products can break an invariant the history held before the run.
    """
    from greenery_cli.resources import ENGINE_QUERIES
    from greenery_cli.sql import render

    # the snapshot's own columns are all an invariant reads; fewer columns, a cheaper scan
    wh.execute(render("snapshot/touched.sql", columns=[KEY, *META_COLUMNS], touched=touched))
    for path in sorted((ENGINE_QUERIES / "snapshot" / "invariants").glob("*.sql")):
        sql = render(
            f"snapshot/invariants/{path.name}",
            snapshot=lambda _name: "snapshot_touched",
            config=lambda **_: "",
        )
        bad = wh.rows(f"select * from ({sql.strip().rstrip(';')}) limit 5")
        if bad:
            shown = "; ".join(str(row) for row in bad)
            raise WorkFailed(
                f"snapshot invariant {path.stem} would break ({shown}); rolled back, "
                "nothing written"
            )


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _transaction(wh: Warehouse, commit: bool) -> Iterator[None]:
    """All or nothing; a dry run rolls back even on success (it writes nothing)."""
    wh.execute("begin transaction")
    try:
        yield
    except BaseException:
        wh.rollback()
        raise
    wh.execute("commit" if commit else "rollback")


@contextmanager
def _open(db: str | Path | None, wait: float, dry_run: bool) -> Iterator[Warehouse]:
    """The warehouse under the writer lock; a dry run of a warehouse not made yet plans
    against an empty one in memory, so it creates no file."""
    from greenery_cli.warehouse import _initialise, resolve_db_path

    path = resolve_db_path(db)
    if not (dry_run and not path.exists()):
        with open_warehouse(db, write=True, wait=wait, publish=not dry_run) as wh:
            yield wh
        return
    import duckdb

    wh = Warehouse(path=path, con=duckdb.connect(), read_only=False)
    try:
        wh.execute("set TimeZone = 'UTC'")
        _initialise(wh)
        yield wh
    finally:
        wh.close()


def supported_config() -> None:
    """Refuse a project whose [snapshot] names another table or key: the snapshot engine's SQL
    is written for products by product_id (a project may declare no products at all)."""
    from greenery_cli.project import SnapshotConfig, current

    project, default = current(), SnapshotConfig()
    config = project.snapshot
    if (config.source, config.unique_key) != (default.source, default.unique_key):
        raise UsageError(
            f"{project.root / 'greenery.toml'}: [snapshot] source = {config.source!r}, "
            f"unique_key = {config.unique_key!r}: greenery keeps the history of "
            f"{default.source} by {default.unique_key} only, for now"
        )


def take_snapshot(settings: SnapshotSettings) -> SnapshotResult:
    """Record the source's products as of one moment; see the module docstring."""
    from greenery_cli.progress import progress
    from greenery_cli.project import current
    from greenery_cli.runlog import recorded_run
    from greenery_cli.sources import check_spec, redact_source

    check_spec(settings.source)
    supported_config()
    if settings.missing is None:
        settings = replace(settings, missing=current().snapshot.missing)
    if settings.missing not in MISSING_POLICIES:
        raise UsageError(
            f"--missing {settings.missing!r}: expected one of {', '.join(MISSING_POLICIES)}"
        )
    args: dict[str, Any] = {
        "source": redact_source(settings.source),
        "at": settings.at,
        "check_columns": settings.check_columns,
        "missing": settings.missing,
    }
    if settings.allow_shrink:
        args["allow_shrink"] = True
    with _open(settings.db, settings.wait, settings.dry_run) as wh, _scratch(wh):
        # under the writer lock from here: the moment and the state are read after any wait
        taken_at = _utc(settings.at) if settings.at is not None else _now()
        if settings.dry_run:
            return _take(wh, settings, taken_at, None)
        with recorded_run(wh, "snapshot", args) as run, progress(3, "snapshot") as bar:
            result = _take(wh, settings, taken_at, run, bar.advance)
    return result


def _take(
    wh: Warehouse,
    settings: SnapshotSettings,
    taken_at: datetime,
    run: Run | None,
    advance: Callable[[str], None] = lambda _step: None,
) -> SnapshotResult:
    advance("staging products")
    kind, location, products = _stage(wh, settings.source)
    staged = Staged(STAGED, _columns(wh, SCRATCH, "main", "products"), kind, location, products)
    with _transaction(wh, commit=run is not None):
        return apply_run(wh, settings, taken_at, run, staged, advance)


def apply_run(
    wh: Warehouse,
    settings: SnapshotSettings,
    taken_at: datetime,
    run: Run | None,
    staged: Staged,
    advance: Callable[[str], None] = lambda _step: None,
) -> SnapshotResult:
    """One run over staged products, inside the caller's open transaction (a dry run when
    `run` is None: the change set is computed and returned, nothing is written)."""
    from greenery_cli.sql import render

    run_id = run.run_id if run is not None else None
    kind, location, products, source_columns = (
        staged.kind,
        staged.location,
        staged.products,
        staged.columns,
    )
    ensure_tables(wh)
    database = str(wh.scalar("select current_database()"))
    snapshot_columns = _columns(wh, database, "snapshots", "products_snapshot")
    checked = _check_columns(settings.check_columns, source_columns, snapshot_columns, location)
    _refuse_out_of_order(wh, taken_at, settings.at is not None)
    added = _drift(wh, source_columns, snapshot_columns, run_id or 0)
    added_by = {c: r for c, r in _added_by_run(wh).items() if c not in added}
    compared = compared_columns(checked, added, added_by)
    params = change_params(taken_at, run_id, compared, added_by)
    advance("comparing")
    context = {"staged": staged.table, "missing": settings.missing, "compared": compared}
    changes = render(
        "snapshot/changes.sql",
        history="snapshots.products_snapshot",
        source_row="s",
        source_position="s.rowid",
        **context,
    )
    wh.execute(
        "create or replace temp table snapshot_changes as " + changes, _params(changes, params)
    )
    if not settings.allow_rewind:
        from greenery_cli.load import remembered_source
        from greenery_cli.snapshot_rewind import refuse_rewind

        refuse_rewind(
            wh, compared, location, [c.name for c in compared], lambda: remembered_source(wh)
        )
    params["first_row_id"] = 1 + int(
        wh.scalar("select coalesce(max(snapshot_row_id), 0) from snapshots.products_snapshot")
    )
    tombstone_columns = [_quote(c) for c in snapshot_columns if c not in META_COLUMNS]
    _run_sql(wh, "snapshot/opened.sql", params, tombstone_columns=tombstone_columns, **context)
    opened, closed, deleted = _rows(wh, "snapshot/counts.sql", {})[0]
    result = SnapshotResult(
        run_id=run_id,
        taken_at=taken_at,
        opened=int(opened),
        closed=int(closed),
        deleted=int(deleted),
        dry_run=run_id is None,
        source=location,
        products=products,
        added_columns=tuple(added),
    )
    if run is None:
        plan = _frame(wh, "snapshot/plan.sql", params, history="snapshots.products_snapshot")
        return replace(result, changes=plan)
    if not settings.allow_shrink:
        refuse_mass_deletion(wh, result.deleted, location)
    advance("writing")
    _run_sql(wh, "snapshot/close.sql", params)
    _run_sql(wh, "snapshot/open.sql", params)
    check_invariants(wh, "select product_id from snapshot_changes")
    record = {
        **params,
        "opened": result.opened,
        "closed": result.closed,
        "deleted": result.deleted,
        "source": location,
        "check_columns": _describe_check_columns(settings.check_columns),
        "missing": settings.missing,
    }
    _run_sql(wh, "snapshot/record_run.sql", record)
    if settings.source and not wh.scalar("select count(*) from meta.source"):
        wh.execute("insert into meta.source values (?, ?, current_timestamp)", [kind, location])
    run.rows_affected = result.opened + result.closed + result.deleted
    run.write_success(wh)  # in the transaction: a kill after the commit loses nothing
    return result


def refuse_mass_deletion(wh: SnapshotEngine, deleted: int, location: str) -> None:
    """Refuse a run that would mark more than [snapshot] max_deleted of the current products
    deleted: a truncated export is far likelier than a catalogue halved overnight."""
    from greenery_cli.project import current

    if not deleted:
        return
    limit = current().snapshot.max_deleted
    products = int(
        wh.scalar(
            "select count(*) from snapshots.products_snapshot "
            "where valid_to is null and not is_deleted"
        )
    )
    if deleted and products and deleted / products > limit:
        raise DataError(
            f"{location} products: the run would mark {deleted:,} of the {products:,} current "
            f"products deleted ({deleted / products:.0%}, more than the {limit:.0%} "
            "greenery.toml [snapshot] max_deleted allows); nothing was written. If they are "
            "really gone, run again with --allow-shrink"
        )


def _rows(wh: Warehouse, template: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    from greenery_cli.sql import render

    sql = render(template)
    return wh.rows(sql, _params(sql, params))


def _describe_check_columns(columns: tuple[str, ...] | None) -> str:
    if columns is None:
        from greenery_cli.project import current

        return ",".join(current().snapshot.check_columns)
    if ALL_COLUMNS in columns or "all" in columns:
        return "all"
    return ",".join(dict.fromkeys(columns))


# --- undoing the latest run, listing runs --------------------------------------------------


def revert_last(
    db: str | Path | None, *, wait: float = DEFAULT_WAIT_SECONDS, dry_run: bool = False
) -> SnapshotResult:
    """Undo the latest snapshot run exactly: delete the versions it opened, re-open those it
    closed, drop the columns it added, forget the run. Refused when that breaks the history."""
    from greenery_cli.runlog import recorded_run

    with _open(db, wait, dry_run) as wh:
        if dry_run:
            return _revert(wh, None)
        with recorded_run(wh, "snapshot", {"revert_last": True}) as run:
            result = _revert(wh, run)
    return result


def _revert(wh: Warehouse, run: Run | None) -> SnapshotResult:
    with _transaction(wh, commit=run is not None):
        ensure_tables(wh)
        latest = _rows(wh, "snapshot/latest_moment.sql", {})[0]
        if latest[0] is None:
            raise UsageError("no snapshot run to revert: the history is empty")
        run_id, taken_at = int(latest[0]), _utc(latest[1])
        params = {"run_id": run_id}
        source = wh.scalar(
            "select source from snapshots.snapshot_runs where snapshot_run_id = $run_id", params
        )
        _run_sql(wh, "snapshot/revert_plan.sql", params)
        blockers = _rows(wh, "snapshot/revert_blockers.sql", params)
        if blockers:
            shown = ", ".join(f"{p} (row {r}, closed by run {c})" for p, r, c in blockers)
            raise UsageError(
                f"cannot revert snapshot run {run_id}: versions it opened were closed by "
                f"another run: {shown}"
            )
        opened, closed, deleted = wh.rows(
            "select count(*) filter (action = 'delete' and not is_deleted), "
            "count(*) filter (action = 'reopen'), "
            "(select rows_deleted from snapshots.snapshot_runs where snapshot_run_id = $run_id) "
            "from snapshot_reverted",
            params,
        )[0]
        result = SnapshotResult(
            run_id=run_id,
            taken_at=taken_at,
            opened=int(opened),
            closed=int(closed),
            deleted=int(deleted or 0),
            dry_run=run is None,
            source=source,
        )
        if run is None:
            changes = wh.frame(
                "select action, snapshot_row_id, product_id, name, price, inventory, is_deleted "
                "from snapshot_reverted order by product_id, action, snapshot_row_id"
            )
            return replace(result, changes=changes)
        _run_sql(wh, "snapshot/revert_apply.sql", params)
        for column, added_by in _added_by_run(wh).items():
            if added_by == run_id:
                wh.execute(f"alter table snapshots.products_snapshot drop column {_quote(column)}")
        check_invariants(wh, "select product_id from snapshot_reverted")
        run.rows_affected = result.opened + result.closed
        run.write_success(wh)
    return result


RUN_COLUMNS = (
    "snapshot_run_id",
    "taken_at",
    "rows_opened",
    "rows_closed",
    "rows_deleted",
    "source",
    "check_columns",
    "missing_policy",
)


def list_runs(db: str | Path | None, *, wait: float = 10.0) -> pl.DataFrame:
    """Every snapshot run, newest first (empty before the first run)."""
    from greenery_cli.sql import render

    with open_warehouse(db, wait=wait) as wh:
        if not wh.table_exists("snapshots", "snapshot_runs"):
            return empty_runs()
        return wh.frame(render("snapshot/runs.sql"))


def empty_runs() -> pl.DataFrame:
    """The runs listing before the first run (the columns, no rows)."""
    import polars as pl

    return pl.DataFrame(schema=dict.fromkeys(RUN_COLUMNS, pl.String)).with_columns(
        pl.col(c).cast(pl.Int64) for c in RUN_COLUMNS if c.startswith(("rows_", "snap"))
    )
