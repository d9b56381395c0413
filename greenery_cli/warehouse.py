"""The DuckDB warehouse: opening it safely, its schemas, its schema version, transactions."""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import DiskFull, UsageError, WarehouseBusy, WarehouseError

if TYPE_CHECKING:
    import duckdb
    import polars as pl

DEFAULT_DB = "greenery.duckdb"
SCHEMA_VERSION = 1
SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots", "meta")
DEFAULT_WAIT_SECONDS = 30.0
# DuckDB spills to disk past this; its own default (80% of RAM) let a 35M-event load reach 15 GB
DEFAULT_MEMORY_LIMIT = "3GB"
_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)

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
    rows bigint not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_s double not null
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
    loaded_at timestamptz not null
);
"""


@dataclass(frozen=True)
class Warehouse:
    """An open warehouse: its path and a DuckDB connection in UTC."""

    path: Path
    con: duckdb.DuckDBPyConnection
    read_only: bool

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        """Run a statement and drain its result (DuckDB 2 keeps the connection until drained)."""
        self.con.execute(sql, params).fetchall()

    def rows(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        result = self.con.execute(sql, params).fetchall()
        return result[0][0] if result else None

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """A query's rows as a polars DataFrame."""
        return self.con.sql(sql, params=params).pl()

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            )
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception."""
        self.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.execute("commit")

    def close(self) -> None:
        self.con.close()


def memory_limit() -> str | None:
    """DuckDB's memory limit: env GREENERY_MEMORY_LIMIT (e.g. 8GB; 'none' = DuckDB's default)."""
    value = os.environ.get("GREENERY_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT).strip()
    if value.lower() in ("", "none"):
        return None
    if not _MEMORY_LIMIT.fullmatch(value):
        raise UsageError(
            f"GREENERY_MEMORY_LIMIT={value!r}: write a size like 3GB or 512MB, or none"
        )
    return value


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(db or os.environ.get("GREENERY_DB") or DEFAULT_DB).expanduser()


class _WriterLock:
    """An flock on '<db>.lock': one greenery writer at a time, released by the kernel on death."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self, wait: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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


_NO_SPACE = re.compile(r"no space left on device|disk is full|disk full", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"\"(/[^\"]+)\"")


def disk_full(exc: BaseException, near: Path | str | None = None) -> DiskFull | None:
    """A full disk as one line naming the file being written, or None for any other error."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = exc.filename or near
    elif _NO_SPACE.search(str(exc)):
        found = _QUOTED_PATH.search(str(exc))
        where = found.group(1) if found else near
    else:
        return None
    what = f"writing {where}" if where else "writing"
    return DiskFull(f"no space left on the device {what}; free some space and run again")


def _check_schema_version(wh: Warehouse) -> None:
    if not wh.table_exists("meta", "schema_version"):
        if wh.read_only:
            raise WarehouseError(
                f"{wh.path} is not a greenery warehouse (no meta.schema_version); "
                "run `greenery load --source DIR` or `greenery demo` first"
            )
        return
    version = wh.scalar("select max(version) from meta.schema_version")
    if version is not None and version > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse {wh.path} has schema version {version}, newer than this greenery "
            f"understands ({SCHEMA_VERSION}); upgrade greenery"
        )


def _initialise(wh: Warehouse) -> None:
    """Create the schemas and metadata tables, and record the schema version (idempotent)."""
    for schema in SCHEMAS:
        wh.execute(f"create schema if not exists {schema}")
    for statement in _META_DDL.split(";"):
        if statement.strip():
            wh.execute(statement)
    if wh.scalar("select count(*) from meta.schema_version") == 0:
        wh.execute("insert into meta.schema_version (version) values (?)", [SCHEMA_VERSION])


class _WorkingCopy:
    """The writer's private copy of the published file, swapped in when the write is done.

    Readers open the published file read-only and keep the inode they opened, so they never
    wait for a writer and never see its work half done; the writer copies the published file
    beside it (copy_file_range), writes and checkpoints the copy, then renames it over the
    published path in one step. Killed at any instant, the published file is the one before or
    the one after; the next writer removes what a killed one left. docs/warehouse.md.
    """

    def __init__(self, published: Path) -> None:
        self.published = published
        self.file = published.with_name(f".{published.name}.work-{os.getpid()}")
        self.existed = False

    def _leftovers(self) -> list[Path]:
        return sorted(self.published.parent.glob(f".{glob.escape(self.published.name)}.work-*"))

    def prepare(self, wait: float) -> None:
        """Under the writer lock: clear what killed writers left, then copy the published file."""
        for leftover in self._leftovers():
            _remove(leftover)
        self.existed = self.published.exists()
        if not self.existed:
            return
        if self.published.with_name(self.published.name + ".wal").exists():
            _checkpoint_in_place(self.published, wait)  # a WAL from an older greenery
        try:
            copy_file(self.published, self.file)
        except OSError as exc:
            self.discard()
            full = disk_full(exc)
            if full is not None:
                raise self._full() from None
            raise WarehouseError(
                f"cannot copy warehouse {self.published} to write it: {exc.strerror or exc}"
            ) from None

    def _full(self) -> DiskFull:
        return DiskFull(
            f"no space left on the device writing warehouse {self.published} (a write needs "
            f"room for a second copy beside it in {self.published.parent}); free some space "
            "and run again"
        )

    def translate(self, exc: BaseException) -> BaseException:
        """A full disk while writing the copy, named as the warehouse; anything else unchanged."""
        full = disk_full(exc)
        return self._full() if full is not None else exc

    def publish(self) -> None:
        """Make the finished copy the warehouse, atomically and durably."""
        from greenery_cli import interrupts

        if self.file.with_name(self.file.name + ".wal").exists():
            self.discard()
            raise WarehouseError(
                f"warehouse {self.published}: the write did not checkpoint; nothing was changed"
            )
        try:
            fd = os.open(self.file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            with interrupts.deferred():
                os.replace(self.file, self.published)
                interrupts.changed(str(self.published))
        except OSError as exc:
            self.discard()
            raise self.translate(exc) from None
        _fsync_dir(self.published.parent)
        _remove(self.file.with_name(self.file.name + ".tmp"))

    def discard(self) -> None:
        for path in (self.file, *(self.file.with_name(self.file.name + s) for s in _BESIDE)):
            _remove(path)


_BESIDE = (".wal", ".tmp")  # what DuckDB keeps beside a database file: its WAL, its spill folder
_COPY_CHUNK = 64 << 20  # copy_file_range per call: small enough to notice an interrupt quickly


def copy_file(source: Path, target: Path) -> None:
    """Copy in the kernel: copy_file_range (a reflink on btrfs/XFS, server-side on NFS 4.2),
    else sendfile via shutil. The target is new (O_EXCL) and keeps the source's mode."""
    import shutil
    import stat

    with source.open("rb") as src:
        info = os.fstat(src.fileno())
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(info.st_mode))
        with os.fdopen(fd, "wb") as dst:
            copied = 0
            if hasattr(os, "copy_file_range"):
                try:
                    while copied < info.st_size:
                        step = os.copy_file_range(
                            src.fileno(), dst.fileno(), min(_COPY_CHUNK, info.st_size - copied)
                        )
                        if step == 0:
                            break
                        copied += step
                except OSError as exc:
                    if copied or exc.errno not in (
                        errno.EXDEV,
                        errno.ENOSYS,
                        errno.EINVAL,
                        errno.EOPNOTSUPP,
                        errno.EPERM,
                    ):
                        raise
            if copied < info.st_size:
                src.seek(copied)
                dst.seek(copied)
                shutil.copyfileobj(src, dst, _COPY_CHUNK)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _checkpoint_in_place(path: Path, wait: float) -> None:
    """Fold a WAL an older greenery left into the published file, so the copy is whole."""
    con = _connect(path, read_only=False, wait=wait)
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _setup(wh: Warehouse) -> None:
    wh.execute("set TimeZone = 'UTC'")
    limit = memory_limit()
    if limit:
        wh.execute(f"set memory_limit = '{limit}'")
    _check_schema_version(wh)


@contextmanager
def open_warehouse(
    db: str | os.PathLike[str] | None,
    *,
    write: bool = False,
    wait: float = DEFAULT_WAIT_SECONDS,
    publish: bool = True,
) -> Iterator[Warehouse]:
    """Open the warehouse in UTC.

    Readers open the published file read-only and never wait for a writer. Writers take the
    writer lock (waiting up to `wait` for another writer) and work on a private copy that
    replaces the published file when the block ends: on success, or on an error when the
    warehouse existed before (so the run log keeps the failure). An interrupt, a failure on a
    warehouse that did not exist, or publish=False (a dry run) leaves the published file as it
    was, or absent.
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
        copy = _WorkingCopy(published)
        copy.prepare(wait)
        keep = False
        try:
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
