"""`greenery snapshot --replay DIR`: rebuild history from a folder of dated exports, at once.

DIR holds one products file per state (CSV or Parquet) and schedule.csv naming each state's
moment (columns `snapshot_at` and `file`, as in ../shared/greenery-data/inventory-weeks/ and
what `greenery generate` writes). The states are taken oldest first, each as a snapshot run at
its own moment, in ONE transaction: a replay that fails or is killed part-way leaves the history
as it was. A state whose moment the history already has is skipped when the history holds the
same state then, and refused when it holds another; a moment before the history's end is
refused (history is append-only in time). The rewind guard applies to each state as to any run.
The replayed files are history, not the live source: nothing is remembered, and a remembered
source older than the replayed history is pointed out (a plain run from it would be refused).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import DataError, GreeneryError, SourceError, UsageError
from greenery_cli.output import iso_utc
from greenery_cli.snapshot import (
    SnapshotSettings,
    Staged,
    _check_columns,
    _Column,
    _columns,
    _now,
    _open,
    _scratch,
    _take,
    _transaction,
    apply_run,
    ensure_tables,
    supported_config,
)
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse, quote_identifier

if TYPE_CHECKING:
    from greenery_cli.runlog import Run

SCHEDULE = "schedule.csv"
REPLAYED = "snapshot_replay_products"  # a temp table: written inside the replay's transaction


@dataclass(frozen=True)
class ReplaySettings:
    db: str | Path | None
    folder: str
    check_columns: tuple[str, ...] | None = None  # None = the project's [snapshot] check_columns
    missing: str | None = None  # None = the project's [snapshot] missing
    allow_rewind: bool = False
    allow_shrink: bool = False  # accept a state marking more than max_deleted deleted
    wait: float = DEFAULT_WAIT_SECONDS


@dataclass(frozen=True)
class ScheduledState:
    moment: datetime
    file: Path
    line: int  # in schedule.csv, for messages

    @property
    def label(self) -> str:
        return f"{self.file.name} ({iso_utc(self.moment)})"


@dataclass(frozen=True)
class ReplayedState:
    moment: datetime
    file: str
    run_id: int  # the run taken, or the run already holding the state (skipped)
    skipped: bool
    opened: int = 0
    closed: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class ReplayResult:
    folder: str
    states: list[ReplayedState] = field(default_factory=list)
    note: str | None = None  # about the remembered source, when it is older than the history

    @property
    def taken(self) -> list[ReplayedState]:
        return [s for s in self.states if not s.skipped]


def read_schedule(folder: Path) -> list[ScheduledState]:
    """schedule.csv's states, oldest first; every file present and every moment readable."""
    path = folder / SCHEDULE
    if not folder.is_dir():
        raise SourceError(f"replay folder {folder} does not exist")
    if not path.is_file():
        raise SourceError(
            f"{folder}: no {SCHEDULE} (columns snapshot_at and file: the moment of each state "
            "and its products file)"
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("snapshot_at", "file") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        states = [_state(folder, path, line, row) for line, row in enumerate(reader, start=2)]
    if not states:
        raise DataError(f"{path}: no states to replay")
    moments = [s.moment for s in states]
    twice = sorted({iso_utc(m) for m in moments if moments.count(m) > 1})
    if twice:
        raise DataError(f"{path}: more than one state at {', '.join(twice)}")
    return sorted(states, key=lambda s: s.moment)


def _state(folder: Path, path: Path, line: int, row: dict[str, str]) -> ScheduledState:
    text, name = (row.get("snapshot_at") or "").strip(), (row.get("file") or "").strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(
            f"{path} line {line}, column snapshot_at: {text!r} is not an ISO-8601 moment"
        ) from None
    file = folder / name
    if not name or Path(name).name != name or file.suffix not in (".csv", ".parquet"):
        raise DataError(
            f"{path} line {line}, column file: {name!r} is not a .csv or .parquet file in {folder}"
        )
    if not file.is_file():
        raise SourceError(f"{path} line {line}: {file} does not exist")
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return ScheduledState(moment, file, line)


def replay(settings: ReplaySettings) -> ReplayResult:
    """Replay the folder's states as snapshot runs, all or nothing (see the module docstring)."""
    from greenery_cli.progress import progress
    from greenery_cli.project import current
    from greenery_cli.runlog import recorded_run

    supported_config()
    if settings.missing is None:
        settings = replace(settings, missing=current().snapshot.missing)
    folder = Path(settings.folder).expanduser()
    schedule = read_schedule(folder)
    args = {
        "replay": str(folder),
        "check_columns": settings.check_columns,
        "missing": settings.missing,
        "allow_rewind": settings.allow_rewind,
        **({"allow_shrink": True} if settings.allow_shrink else {}),
    }
    one = SnapshotSettings(
        db=settings.db,
        check_columns=settings.check_columns,
        missing=settings.missing,
        allow_rewind=settings.allow_rewind,
        allow_shrink=settings.allow_shrink,
        wait=settings.wait,
    )
    states: list[ReplayedState] = []
    with _open(settings.db, settings.wait, dry_run=False) as wh:
        with recorded_run(wh, "snapshot", args) as outer:
            with progress(len(schedule), "replaying") as bar, _transaction(wh, commit=True):
                ensure_tables(wh)
                for state in schedule:
                    bar.advance(state.file.name)
                    states.append(_replay_state(wh, replace(one, at=state.moment), state))
                outer.rows_affected = sum(s.opened + s.closed + s.deleted for s in states)
                outer.write_success(wh)  # in the transaction, as each state's own run row
        note = _remembered_source_note(wh, one)
    return ReplayResult(str(folder.resolve()), states, note)


def _replay_state(
    wh: Warehouse, settings: SnapshotSettings, state: ScheduledState
) -> ReplayedState:
    from greenery_cli.load import check_keys
    from greenery_cli.project import current
    from greenery_cli.sources.files import FileSource
    from greenery_cli.sql import render

    products = current().source("products")
    source = FileSource(state.file.parent, files={"products": state.file})
    source.check((products,))
    rows = source.stage(wh, products, REPLAYED, temporary=True)
    check_keys(wh, products, REPLAYED, f"{state.file} products")
    staged = Staged(
        REPLAYED, _columns(wh, "temp", "main", REPLAYED), "files", source.location, rows
    )
    _run_id, _run_at, latest = wh.rows(render("snapshot/latest_moment.sql"))[0]
    if latest is not None and state.moment <= latest:
        return _already_there(wh, settings, state, staged)
    run = _new_run(wh, state)
    result = apply_run(wh, settings, state.moment, run, staged)
    return ReplayedState(
        state.moment,
        str(state.file),
        run.run_id,
        False,
        result.opened,
        result.closed,
        result.deleted,
    )


def _already_there(
    wh: Warehouse, settings: SnapshotSettings, state: ScheduledState, staged: Staged
) -> ReplayedState:
    """Skip a state the history already holds at its moment; refuse any other past moment."""
    held = held_run(wh, state)
    database = str(wh.scalar("select current_database()"))
    snapshot_columns = _columns(wh, database, "snapshots", "products_snapshot")
    names = _check_columns(
        settings.check_columns, staged.columns, snapshot_columns, str(state.file)
    )
    refuse_another_state(wh, state, held, staged.table, names, snapshot_columns, settings.missing)
    return ReplayedState(state.moment, str(state.file), held, True)


def held_run(wh: Any, state: ScheduledState) -> int:
    """The snapshot run the history has at the moment of `state`, which is not after the
    history's end; refused when it has none then (on either engine: `wh` is a Warehouse or a
    SparkEngine)."""
    held = wh.scalar(
        "select max(snapshot_run_id) from snapshots.snapshot_runs where taken_at = $taken_at",
        {"taken_at": state.moment},
    )
    if held is None:
        raise UsageError(
            f"{state.label}: the history already goes past that moment and has no run then; "
            "a replay only adds states after the history's end (history is append-only in "
            "time); nothing replayed"
        )
    return int(held)


def refuse_another_state(
    wh: Any,
    state: ScheduledState,
    held: int,
    staged: str,
    names: list[str],
    snapshot_columns: dict[str, str],
    missing: str | None,
) -> None:
    """Refuse a state whose file (the table `staged`) gives another state than the history holds
    at its moment, in presence or the compared columns `names` (on either engine)."""
    from greenery_cli.sql import render

    compared = [_Column(n, quote_identifier(n)) for n in names if n in snapshot_columns]
    sql = render("snapshot/replay_differs.sql", staged=staged, compared=compared, missing=missing)
    differs = int(wh.scalar(sql, {"taken_at": state.moment}))
    if differs:
        what = ", ".join(names)
        raise DataError(
            f"{state.label}: the history already has snapshot run {held} at that moment, "
            f"holding another state ({differs} products differ in presence or {what}); "
            "nothing replayed"
        )


def _new_run(wh: Warehouse, state: ScheduledState) -> Run:
    from greenery_cli.runlog import Run

    return Run(
        run_id=int(wh.scalar("select nextval('meta.run_id_seq')")),
        command="snapshot",
        started_at=_now(),
        args={"replayed": str(state.file), "at": iso_utc(state.moment)},
    )


def _remembered_source_note(wh: Warehouse, settings: SnapshotSettings) -> str | None:
    """A remembered source that a plain `greenery snapshot` would refuse as a rewind, named."""
    from greenery_cli.load import remembered_source
    from greenery_cli.snapshot_rewind import RewindRefused
    from greenery_cli.sources import is_postgres_url

    spec = remembered_source(wh)
    if not spec or is_postgres_url(spec):
        return None
    check = replace(settings, source=None, at=None, dry_run=True, allow_rewind=False)
    try:
        with _scratch(wh):
            _take(wh, check, _now(), None)
    except RewindRefused as refused:
        return (
            f"the remembered source {spec} holds an older state: it matches snapshot run "
            f"{refused.run_id}, so a plain `greenery snapshot` (cron) will be refused as a "
            "rewind until it holds the current products; remember the current exports with "
            "`greenery load --source DIR`, or give the run --source"
        )
    except GreeneryError:
        return None
    return None


def describe(result: ReplayResult) -> dict[str, Any]:
    """The replay as one JSON object."""
    from dataclasses import asdict

    return {
        "folder": result.folder,
        "states": [asdict(s) for s in result.states],
        "taken": len(result.taken),
        "skipped": len(result.states) - len(result.taken),
        "note": result.note,
    }
