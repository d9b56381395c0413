"""Which of a raw table's files changed since greenery loaded them.

Each loaded file is recorded in meta.raw_files with its SHA-256 and its stat (size, mtime,
ctime, inode). A file whose stat is exactly as recorded is not read again: the kernel moves
ctime on every write and no tool can set it back, so an unchanged stat means unchanged bytes.
Any other file is hashed in full and compared by content, so a copy, a `touch` or a restore
from backup with the same bytes counts as unchanged, and a same-size rewrite within the same
second does not. Hashing runs at disk speed (about 0.5 GB/s): only new or touched files pay it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse


@dataclass(frozen=True)
class FileStat:
    name: str  # as recorded: relative to the source folder (events/2021-02-10.parquet)
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, folder: Path, path: Path) -> FileStat:
        st = os.stat(path)
        try:
            name = path.relative_to(folder).as_posix()
        except ValueError:  # a file named for the table from elsewhere (a replayed state)
            name = path.resolve().as_posix()
        return cls(
            name,
            path,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
        )

    def same_stat(self, other: FileStat | RecordedFile) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode) == (
            other.size,
            other.mtime_ns,
            other.ctime_ns,
            other.inode,
        )


class RecordedFile(NamedTuple):
    name: str
    location: str
    size: int | None
    mtime_ns: int | None
    ctime_ns: int | None
    inode: int | None
    sha256: str
    rows: int | None
    run_id: int


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def recorded_files(wh: Warehouse, relation: str) -> dict[str, RecordedFile]:
    """The relation's recorded files, by name (every relation's read in one query, kept on the
    connection until `forget` writes: a load asks for each raw table and seed twice)."""
    every: dict[str, dict[str, RecordedFile]] = wh.kept(_KEPT, lambda: _every_recorded(wh))
    return dict(every.get(relation, {}))


_KEPT = "meta.raw_files"


def _every_recorded(wh: Warehouse) -> dict[str, dict[str, RecordedFile]]:
    every: dict[str, dict[str, RecordedFile]] = {}
    for relation, *row in wh.rows(
        "select relation, file, location, size, mtime_ns, ctime_ns, inode, sha256, rows, run_id "
        "from meta.raw_files"
    ):
        every.setdefault(relation, {})[row[0]] = RecordedFile(*row)
    return every


def content_of(stat: FileStat, recorded: RecordedFile | None) -> str:
    """The file's SHA-256: the recorded one when its stat is unchanged, else computed."""
    if recorded is not None and stat.same_stat(recorded):
        return recorded.sha256
    return sha256_of(stat.path)


def forget(wh: Warehouse, relation: str, names: list[str] | None = None) -> None:
    """Drop the records of some (default: all) of a relation's files."""
    wh.forget_kept(_KEPT)
    if names is None:
        wh.execute("delete from meta.raw_files where relation = ?", [relation])
    elif names:
        wh.execute(
            "delete from meta.raw_files where relation = ? and file in (select unnest(?))",
            [relation, names],
        )


def remember(
    wh: Warehouse,
    relation: str,
    location: str,
    stat: FileStat | None,
    sha256: str,
    rows: int | None,
    run_id: int,
    loaded_at: datetime,
) -> None:
    """Record one file (or, with stat None, a database table's content) as loaded."""
    name = stat.name if stat is not None else ""
    forget(wh, relation, [name])
    wh.execute(
        "insert into meta.raw_files (relation, file, location, size, mtime_ns, ctime_ns, inode, "
        "sha256, rows, run_id, loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            relation,
            name,
            location,
            stat.size if stat else None,
            stat.mtime_ns if stat else None,
            stat.ctime_ns if stat else None,
            stat.inode if stat else None,
            sha256,
            rows,
            run_id,
            loaded_at,
        ],
    )
