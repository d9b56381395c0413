"""The DuckDB warehouse: opening it safely, its schemas, its schema version, transactions."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from greenery_cli.errors import UsageError, WarehouseBusy, WarehouseError, disk_full
from greenery_cli.working_copy import WorkingCopy

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from greenery_cli.rows import Rows

DEFAULT_DB = "greenery.duckdb"
SCHEMA_VERSION = 2
SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots", "meta")
DEFAULT_WAIT_SECONDS = 30.0
# DuckDB spills to disk past this; its own default (80% of RAM) let a 35M-event load reach 15 GB
DEFAULT_MEMORY_LIMIT = "3GB"
_SCHEMA_VERSION = "select max(version) from meta.schema_version"
_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
# a statement with one of these words may add, drop or rename a relation (or undo that): the
# connection then forgets its listing of the catalogue. Any other statement leaves the set of
# relations as it was (a word in a comment or a string only costs a listing)
_MAY_CHANGE_CATALOGUE = re.compile(
    r"\b(create|drop|alter|attach|detach|rollback|abort|import|call|use)\b", re.IGNORECASE
)
_LISTING = (
    "select table_catalog = current_database(), table_schema, table_name, table_type "
    "from information_schema.tables"
)

_META_DDL = """
create table if not exists meta.schema_version (
    version integer not null,
    applied_at timestamptz not null default current_timestamp
);
create sequence if not exists meta.run_id_seq start 1;
create table if not exists meta.runs (
    run_id bigint primary key,
    command varchar not null,
    args varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_s double not null,
    status varchar not null,
    rows_affected bigint,
    message varchar,
    greenery_version varchar not null
);
create table if not exists meta.model_builds (
    run_id bigint not null,
    model varchar not null,
    layer varchar not null,
    rows bigint,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_s double not null,
    materialized varchar,
    action varchar,
    reason varchar,
    fingerprint varchar
);
create table if not exists meta.source (
    kind varchar not null,
    location varchar not null,
    remembered_at timestamptz not null
);
create table if not exists meta.loads (
    run_id bigint not null,
    table_name varchar not null,
    source_kind varchar not null,
    location varchar not null,
    rows bigint not null,
    loaded_at timestamptz not null,
    action varchar,
    rows_added bigint
);
create table if not exists meta.raw_files (
    relation varchar not null,
    file varchar not null,
    location varchar not null,
    size bigint,
    mtime_ns bigint,
    ctime_ns bigint,
    inode bigint,
    sha256 varchar not null,
    rows bigint,
    run_id bigint not null,
    loaded_at timestamptz not null
);
create table if not exists meta.changes (
    run_id bigint not null,
    relation varchar not null,
    change varchar not null,
    range_start timestamptz,
    range_end timestamptz,
    rows bigint
);
"""
# Steps that bring an older warehouse's meta tables to this version (new ones come from the DDL).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        # the build engine: skipped builds (no rows), materialisation, why, the build state
        "alter table meta.model_builds alter column rows drop not null",
        "alter table meta.model_builds add column if not exists materialized varchar",
        "alter table meta.model_builds add column if not exists action varchar",
        "alter table meta.model_builds add column if not exists reason varchar",
        "alter table meta.model_builds add column if not exists fingerprint varchar",
        "alter table meta.loads add column if not exists action varchar",
        "alter table meta.loads add column if not exists rows_added bigint",
    ),
}


def quote_identifier(name: str) -> str:
    """A name as a DuckDB (and PostgreSQL) quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """An open warehouse: its path and a DuckDB connection in UTC.

    A plain class rather than a dataclass: every command makes one, and a frozen dataclass
    costs about a millisecond to define at import."""

    __slots__ = ("_catalogue", "_kept", "_listing", "_remembered", "con", "path", "read_only")

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path: Final = path
        self.con: Final = con
        self.read_only: Final = read_only
        # table_exists's answers on a read-only connection: no other process can create or drop
        # a table under it, so each name is looked up once
        self._catalogue: Final[dict[str, bool]] = {}
        # what `remembered` computed on a read-only connection, by key (nothing changes under it)
        self._remembered: Final[dict[str, Any]] = {}
        # what `kept` computed, by key, until `forget_kept` or a rollback
        self._kept: Final[dict[str, Any]] = {}
        # the catalogue's relations, listed once: (in this database?, schema, name, type) rows,
        # forgotten when a statement that may change them runs (_MAY_CHANGE_CATALOGUE)
        self._listing: Final[list[tuple[bool, str, str, str]]] = []

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r}, read_only={self.read_only})"

    def remembered(self, key: str, compute: Callable[[], Any]) -> Any:
        """compute(), once per read-only connection (`greenery report` asks three questions of
        the same history); every time on a writer, whose data may change in between."""
        if not self.read_only:
            return compute()
        if key not in self._remembered:
            self._remembered[key] = compute()
        return self._remembered[key]

    def kept(self, key: str, compute: Callable[[], Any]) -> Any:
        """compute(), once until `forget_kept(key)` or a rollback, on a writer too: for a table
        only one module writes, which forgets it whenever it does (meta.raw_files)."""
        if key not in self._kept:
            self._kept[key] = compute()
        return self._kept[key]

    def forget_kept(self, key: str) -> None:
        self._kept.pop(key, None)

    def _runs(self, sql: str) -> None:
        if self._listing and _MAY_CHANGE_CATALOGUE.search(sql):
            self._listing.clear()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """Run a statement and drain its result (DuckDB 2 keeps the connection until drained)."""
        self._runs(sql)
        self.con.execute(sql, params).fetchall()

    def rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        self._runs(sql)
        return self.con.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        self._runs(sql)
        result = self.con.execute(sql, params).fetchall()
        return result[0][0] if result else None

    def create_temp_table(
        self, name: str, select: str, params: dict[str, Any] | None = None
    ) -> None:
        """The SELECT's rows as a temp table `name`, this connection's only (as SparkEngine's)."""
        self.execute(f"create or replace temp table {name} as {select}", params)

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """A query's rows as a polars DataFrame (imports polars and pyarrow: for big results
        that polars works on; a question's answer is `fetch`)."""
        self._runs(sql)
        return self.con.sql(sql, params=params).pl()

    def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Rows:
        """A query's rows as plain Python rows with their column names and types."""
        from greenery_cli.rows import Rows

        self._runs(sql)
        return Rows.from_cursor(self.con.execute(sql, params))

    def table_exists(self, schema: str, table: str) -> bool:
        if not self.read_only:
            return self._listed(schema, table)
        key = f"{schema}.{table}"
        if key not in self._catalogue:
            self._catalogue[key] = self._binds(schema, table) or self._listed(schema, table)
        return self._catalogue[key]

    def _binds(self, schema: str, table: str) -> bool:
        """Whether a query can name the table: DuckDB binds it from the catalogue entry alone,
        where the first information_schema query of a process reads every table's storage
        (about 20 ms on a warehouse of the shop's size, as much as a small question's query).
        Only on a reader, which never holds a transaction that a failed bind would abort."""
        import duckdb

        name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        try:
            self.con.execute(f"select * from {name} limit 0").fetchall()
        except duckdb.Error:
            return False  # missing, or a view that cannot bind: the catalogue says which
        return True

    def _listed(self, schema: str, table: str) -> bool:
        # DuckDB's names are case-insensitive (no two tables differ only in case)
        schema, table = schema.lower(), table.lower()
        return any(s.lower() == schema and t.lower() == table for _, s, t, _ in self._listed_all())

    def _listed_all(self) -> list[tuple[bool, str, str, str]]:
        """Every relation the connection sees (temp and attached ones too), listed once until a
        statement may have changed them: a catalogue query costs about 2 ms, and a load that
        finds nothing changed asks about its tables twenty times."""
        if not self._listing:
            self._listing.extend(self.con.execute(_LISTING).fetchall())
        return self._listing

    def relations(self) -> dict[str, str]:
        """Every table and view of this warehouse: `schema.name` -> TABLE or VIEW (one catalogue
        query; like table_exists, the engine's own look-up rather than portable SQL)."""
        return {
            f"{schema}.{name}": "VIEW" if kind == "VIEW" else "TABLE"
            for here, schema, name, kind in self._listed_all()
            if here
        }

    def column_names(self, schema: str, table: str) -> list[str]:
        """A table's or view's columns, in order (the engine's own catalogue look-up)."""
        return [
            r[0]
            for r in self.rows(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            )
        ]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception."""
        self.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.execute("commit")

    @contextmanager
    def unordered(self) -> Iterator[None]:
        """Writes whose stored rows need no order (raw tables): DuckDB's threads then write
        whole row groups. Kept in order, they leave partial ones that every later checkpoint
        rewrites: 1.2 s of loading 3.5M events, and 2 s of closing after appending 1% to them
        (0.16 s unordered). A failed statement leaves the setting to the aborted transaction,
        whose connection is rolled back and closed."""
        self.execute("set preserve_insertion_order = false")
        yield
        self.execute("reset preserve_insertion_order")

    def rollback(self) -> None:
        """Roll back; a connection a signal already closed has nothing left to roll back
        (and an uncommitted transaction never reaches the file)."""
        import duckdb

        self._listing.clear()
        self._kept.clear()
        try:
            self.con.execute("rollback")
        except duckdb.Error:
            pass

    def close(self) -> None:
        self.con.close()


def is_memory_size(value: str) -> bool:
    """A size DuckDB's memory_limit reads: 3GB, 512MB, 1.5GiB."""
    return _MEMORY_LIMIT.fullmatch(value) is not None


def memory_limit() -> str | None:
    """DuckDB's memory limit: env GREENERY_MEMORY_LIMIT (e.g. 8GB; 'none' = DuckDB's default)."""
    value = os.environ.get("GREENERY_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT).strip()
    if value.lower() in ("", "none"):
        return None
    if not is_memory_size(value):
        raise UsageError(
            f"GREENERY_MEMORY_LIMIT={value!r}: write a size like 3GB or 512MB, or none"
        )
    return value


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(db or os.environ.get("GREENERY_DB") or DEFAULT_DB).expanduser()


class _WriterLock:
    """An flock on '<db>.lock': one greenery writer at a time, released by the kernel on death.

    A writer that leaves no warehouse (a first command that failed) removes the lock file too,
    while it holds it; so a writer that was waiting on the removed file finds, once it has the
    flock, that the path names another file or none, and locks afresh."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None

    def _still_the_lock_file(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def acquire(self, wait: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if not self._still_the_lock_file(fd):
                    os.close(fd)  # removed by the writer before us: lock the file there now
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                    continue
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WarehouseBusy(
                        f"warehouse {self.path.with_suffix('')} is busy: another greenery "
                        f"process is writing it (waited {wait:g}s; see --wait)"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            if not self.db_path.exists():
                self.path.unlink(missing_ok=True)  # nothing was made: leave nothing behind
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _connect(
    path: Path, read_only: bool, wait: float, shown: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection; messages name `shown` (the published path of a working copy)."""
    import duckdb

    from greenery_cli import interrupts

    shown = shown or path
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            interrupts.register(con)
            return con
        except duckdb.IOException as exc:
            text = str(exc).replace(str(path), str(shown))
            full = disk_full(exc, shown)
            if full is not None:
                raise full from None
            if "lock" in text.lower():
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise WarehouseBusy(
                    f"warehouse {shown} is busy: another process has it open for writing "
                    f"(waited {wait:g}s; see --wait)"
                ) from None
            raise WarehouseError(f"cannot open warehouse {shown}: {text.splitlines()[0]}") from None
        except duckdb.Error as exc:
            text = str(exc).replace(str(path), str(shown))
            raise WarehouseError(f"cannot open warehouse {shown}: {text.splitlines()[0]}") from None


def _check_schema_version(wh: Warehouse) -> None:
    version = _schema_version(wh) if wh.read_only else None
    if version is None:
        if not wh.table_exists("meta", "schema_version"):
            if wh.read_only:
                raise WarehouseError(
                    f"{wh.path} is not a greenery warehouse (no meta.schema_version); "
                    "run `greenery load --source DIR` or `greenery demo` first"
                )
            return
        version = wh.scalar(_SCHEMA_VERSION)
    if version is not None and version > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse {wh.path} has schema version {version}, newer than this greenery "
            f"understands ({SCHEMA_VERSION}); upgrade greenery"
        )


def _schema_version(wh: Warehouse) -> int | None:
    """A reader's schema version in one query, None when that fails or finds none (then the
    table is looked up first, to say what is wrong). Only on a reader, which holds no
    transaction that a failed query would abort."""
    import duckdb

    try:
        version = wh.scalar(_SCHEMA_VERSION)
    except duckdb.Error:
        return None
    if version is not None:
        wh._catalogue["meta.schema_version"] = True
    return None if version is None else int(version)


def _initialise(wh: Warehouse) -> None:
    """Create the schemas and metadata tables, and record the schema version (idempotent)."""
    for schema in SCHEMAS:
        wh.execute(f"create schema if not exists {schema}")
    for statement in _META_DDL.split(";"):
        if statement.strip():
            wh.execute(statement)
    version = wh.scalar(_SCHEMA_VERSION)
    if version is None:
        wh.execute("insert into meta.schema_version (version) values (?)", [SCHEMA_VERSION])
        return
    for step in range(version + 1, SCHEMA_VERSION + 1):
        with wh.transaction():
            for statement in _MIGRATIONS.get(step, ()):
                wh.execute(statement)
            wh.execute("insert into meta.schema_version (version) values (?)", [step])


def _checkpoint_in_place(path: Path, wait: float) -> None:
    """Fold a WAL an older greenery left into the published file, so the copy is whole."""
    con = _connect(path, read_only=False, wait=wait)
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _setup(wh: Warehouse) -> None:
    limit = memory_limit()
    # one round trip for both settings
    wh.execute("set TimeZone = 'UTC'" + (f"; set memory_limit = '{limit}'" if limit else ""))
    _check_schema_version(wh)


@contextmanager
def open_warehouse(
    db: str | os.PathLike[str] | None,
    *,
    write: bool = False,
    wait: float = DEFAULT_WAIT_SECONDS,
    publish: bool = True,
    in_place: Callable[[Warehouse], bool] | None = None,
) -> Iterator[Warehouse]:
    """Open the warehouse in UTC.

    Readers open the published file read-only and never wait for a writer. Writers take the
    writer lock (waiting up to `wait` for another writer) and work on a private copy that
    replaces the published file when the block ends: on success, or on an error when the
    warehouse existed before (so the run log keeps the failure). An interrupt, a failure on a
    warehouse that did not exist, or publish=False (a dry run) leaves the published file as it
    was, or absent.

    `in_place(wh)`, asked under the writer lock on the published file itself when no reader has
    it open at that moment, says whether the write will be a few rows of bookkeeping (a load that
    found nothing changed): then the writer works there rather than on a copy of all of it
    (docs/warehouse.md, "A load that finds nothing changed writes in place").
    """
    path = resolve_db_path(db)
    if not write:
        if not path.exists():
            raise UsageError(
                f"no warehouse at {path}: run `greenery load --source DIR` or `greenery demo` "
                "first, or point --db / GREENERY_DB at one"
            )
        con = _connect(path, read_only=True, wait=min(wait, 10.0))
        wh = Warehouse(path=path, con=con, read_only=True)
        try:
            _setup(wh)
            yield wh
        finally:
            wh.close()
        return
    from greenery_cli import interrupts

    published = path.resolve()
    lock = _WriterLock(published)
    lock.acquire(wait)
    try:
        if in_place is not None:
            direct = _in_place(published, path, in_place)
            if direct is not None:
                try:
                    _initialise(direct)  # set up already, by the probe
                    yield direct
                finally:
                    direct.close()  # checkpoints in place (DuckDB's WAL: all or nothing)
                return
        copy = WorkingCopy(published)
        keep = False
        try:
            copy.prepare(lambda path: _checkpoint_in_place(path, wait))
            con = _connect(copy.file, read_only=False, wait=wait, shown=path)
            wh = Warehouse(path=path, con=con, read_only=False)
            succeeded = False
            try:
                _setup(wh)
                _initialise(wh)
                yield wh
                succeeded = True
            except Exception as exc:
                # the run log's error row (the data rolled back); never after a signal
                keep = publish and copy.existed and not interrupts.received()
                translated = copy.translate(exc)
                if translated is exc:
                    raise
                raise translated from None
            finally:
                try:
                    wh.close()  # checkpoints the copy
                except Exception as exc:  # noqa: BLE001 - a copy that cannot close is not kept
                    keep = succeeded = False
                    if not sys.exc_info()[0]:
                        raise copy.translate(exc) from None
            keep = publish and succeeded
        finally:
            if keep:
                copy.publish()
            else:
                copy.discard()
    finally:
        lock.release()


def _in_place(published: Path, shown: Path, small: Callable[[Warehouse], bool]) -> Warehouse | None:
    """Under the writer lock: the warehouse opened read-write on the published file itself
    when no reader has it open and `small` (asked of it, before anything is written) says the
    write is small; else None, and the write goes to a copy."""
    if not published.exists() or published.with_name(published.name + ".wal").exists():
        return None  # nothing to write in place, or an older WAL the copy path folds first
    try:
        con = _connect(published, read_only=False, wait=0.0)
    except (WarehouseBusy, WarehouseError):
        return None  # a reader has it open (or this process does): it is not disturbed
    keep = False
    wh = Warehouse(path=shown, con=con, read_only=False)
    try:
        _setup(wh)
        keep = wh.table_exists("meta", "schema_version") and small(wh)
    except (WarehouseBusy, WarehouseError):
        pass  # a newer warehouse, say: the copy path says what is wrong
    finally:
        if not keep:
            con.close()
    if keep:
        WorkingCopy(published).clear_leftovers()
        return wh
    return None


@contextmanager
def writer_lock(
    db: str | os.PathLike[str] | None, wait: float = DEFAULT_WAIT_SECONDS
) -> Iterator[Path]:
    """Hold the warehouse's writer lock without opening it (to replace the file, say)."""
    path = resolve_db_path(db).resolve()
    lock = _WriterLock(path)
    lock.acquire(wait)
    try:
        yield path
    finally:
        lock.release()
