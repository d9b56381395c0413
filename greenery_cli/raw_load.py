"""Loading raw tables and seeds, only what changed since the last load.

A whole-table export (<table>.csv / .parquet, a PostgreSQL table) that did not change is not
reloaded; one that changed replaces its table. A folder of batch files (<table>/*.parquet)
appends the files it has not seen; a file that changed or disappeared after it was loaded is
refused, naming it, because the rows greenery holds would no longer match any version of the
source: `--full-refresh` rebuilds the table from the files present. Every rewrite is recorded
in meta.changes (an append with the range of the table's incremental_column, so incremental
models take only that range), every file in meta.raw_files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from greenery_cli.engine.state import BuildState, Change, as_utc, record_change
from greenery_cli.errors import DataError, SourceError
from greenery_cli.sources.fingerprints import (
    FileStat,
    content_of,
    forget,
    recorded_files,
    remember,
    sha256_of,
)

if TYPE_CHECKING:
    from greenery_cli.project.sources import RawTable
    from greenery_cli.seeds import Seed
    from greenery_cli.sources import Source
    from greenery_cli.sources.files import FileSource
    from greenery_cli.warehouse import Warehouse

STAGED = "__greenery_new_rows"


class TableLoad(NamedTuple):
    relation: str  # raw.events, seeds.us_states
    action: str  # loaded (replaced in full) | appended | unchanged
    rows: int  # rows in the table now
    rows_added: int
    reason: str
    files: int = 0  # files read


def check_keys(
    wh: Warehouse,
    table: RawTable,
    relation: str,
    where: str,
    locate: Callable[[str], str] | None = None,
) -> None:
    """Refuse NULL or duplicate primary keys and NULLs in required columns, naming them: the
    rows through `locate(column)` (where they are in the source) when the relation's rows are
    not in the source's order, else by their place in the relation."""
    for column in (*table.primary_key, *table.not_null):
        nulls = int(wh.scalar(f"select count(*) from {relation} where {column} is null"))
        if nulls:
            if locate is not None:
                at = locate(column)
            else:
                rows = wh.rows(
                    f"select n from (select row_number() over () as n, {column} from {relation}) "
                    f"where {column} is null limit 5"
                )
                at = "data rows " + ", ".join(str(r[0]) for r in rows)
            raise DataError(
                f"{where}: {nulls} row(s) with empty {column} in raw table {table.name} ({at})"
            )
    from greenery_cli.sql import render

    key = ", ".join(table.primary_key)
    dupes = wh.rows(render("load/duplicate_keys.sql", keys=table.primary_key, relation=relation))
    if dupes:
        shown = "; ".join(
            "(" + ", ".join(repr(v) for v in row[:-1]) + f") x{row[-1]}" for row in dupes
        )
        raise DataError(
            f"{where}: duplicate primary key ({key}) in raw table {table.name}: {shown}"
        )


def _check_appended_keys(wh: Warehouse, table: RawTable, where: str) -> None:
    """New rows' keys: present, distinct among themselves and not already in the table."""
    check_keys(wh, table, STAGED, where)
    match = " and ".join(f"old.{k} = new.{k}" for k in table.primary_key)
    keys = ", ".join(f"new.{k}" for k in table.primary_key)
    clash = wh.rows(
        f"select {keys} from {STAGED} as new where exists "
        f"(select 1 from raw.{table.name} as old where {match}) order by all limit 5"
    )
    if clash:
        shown = "; ".join("(" + ", ".join(repr(v) for v in row) + ")" for row in clash)
        raise DataError(
            f"{where}: duplicate primary key ({', '.join(table.primary_key)}) in raw table "
            f"{table.name}: {shown} already loaded from an earlier file"
        )


def _range(
    wh: Warehouse, table: RawTable, relation: str
) -> tuple[datetime | None, datetime | None]:
    if table.incremental_column is None:
        return None, None
    low, high = wh.rows(
        f'select min("{table.incremental_column}"), max("{table.incremental_column}") '
        f"from {relation}"
    )[0]
    return as_utc(low), as_utc(high)


def _unchanged_since(stats: list[FileStat], before: list[FileStat]) -> None:
    for old, new in zip(before, stats, strict=True):
        if not old.same_stat(new):
            raise SourceError(f"{old.path} changed while greenery was loading it; load again")


def load_file_table(
    wh: Warehouse,
    source: FileSource,
    table: RawTable,
    run_id: int,
    full_refresh: bool,
    state: BuildState | None,
) -> TableLoad:
    """Bring raw.<table> up to date with the source folder's files (see the module's doc)."""
    relation = f"raw.{table.name}"
    stats = [FileStat.of(source.folder, p) for p in source.files_for(table)]
    recorded = recorded_files(wh, relation)
    exists = wh.table_exists("raw", table.name)
    rows_now = int(wh.scalar(f"select count(*) from {relation}")) if exists else 0
    content = {s.name: content_of(s, recorded.get(s.name)) for s in stats if s.name in recorded}
    same_files = set(content) == set(recorded) and all(
        content[n] == recorded[n].sha256 for n in content
    )
    batched = source.is_batched(table)
    if (
        full_refresh
        or not exists
        or not recorded
        or not batched
        or any("/" not in n for n in recorded)
    ):
        if not full_refresh and exists and same_files and len(stats) == len(recorded):
            _restat(wh, source, relation, stats, recorded, run_id)
            return TableLoad(relation, "unchanged", rows_now, 0, "its files are unchanged")
        reason = (
            "--full-refresh"
            if full_refresh
            else "not in the warehouse yet"
            if not exists
            else "no record of its files"
            if not recorded
            else f"{stats[0].name} changed"
            if not batched and stats[0].name in recorded
            else f"{stats[0].name} replaces {', '.join(sorted(recorded))}"
            if not batched
            else "its export became a folder of files"
        )
        return _replace(wh, source, table, run_id, stats, content, reason, state)
    gone = sorted(set(recorded) - {s.name for s in stats})
    if gone:
        raise DataError(
            f"{source.folder / gone[0]}: loaded by run {recorded[gone[0]].run_id} and since "
            f"removed; greenery keeps the rows it loaded rather than guess whether they should "
            f"go: put the file back, or rebuild {relation} from the files present with "
            f"`greenery load --full-refresh --select source:{table.name}+`"
        )
    changed = sorted(n for n, sha in content.items() if sha != recorded[n].sha256)
    if changed:
        raise DataError(
            f"{source.folder / changed[0]}: changed after run {recorded[changed[0]].run_id} "
            f"loaded it (its content differs); greenery will not mix two versions of a batch: "
            f"restore it, or rebuild {relation} from the files as they are with "
            f"`greenery load --full-refresh --select source:{table.name}+`"
        )
    _restat(wh, source, relation, [s for s in stats if s.name in recorded], recorded, run_id)
    new = [s for s in stats if s.name not in recorded]
    if not new:
        return TableLoad(relation, "unchanged", rows_now, 0, "no new files", len(stats))
    return _append(wh, source, table, run_id, new, rows_now, state)


def _restat(
    wh: Warehouse,
    source: FileSource,
    relation: str,
    stats: list[FileStat],
    recorded: dict,  # type: ignore[type-arg]
    run_id: int,
) -> None:
    """Files whose bytes are as loaded but whose stat moved (a copy, a touch): note the new stat
    so they are not hashed again."""
    for stat in stats:
        old = recorded[stat.name]
        if not stat.same_stat(old) or old.location != source.location:
            remember(
                wh,
                relation,
                source.location,
                stat,
                old.sha256,
                old.rows,
                old.run_id,
                datetime.now(UTC),
            )


def _replace(
    wh: Warehouse,
    source: FileSource,
    table: RawTable,
    run_id: int,
    stats: list[FileStat],
    content: dict[str, str],
    reason: str,
    state: BuildState | None,
) -> TableLoad:
    relation = f"raw.{table.name}"
    hashes = {s.name: content.get(s.name) or sha256_of(s.path) for s in stats}
    files = [s.path for s in stats]
    rows = source.stage_files(wh, table, files, relation)  # rows not in file order
    locate = lambda column: source.empty_rows(wh, table, files, column)  # noqa: E731
    check_keys(wh, table, relation, f"{source.location} {table.name}", locate)
    _unchanged_since([FileStat.of(source.folder, s.path) for s in stats], stats)
    forget(wh, relation)
    now = datetime.now(UTC)
    for stat in stats:
        remember(
            wh,
            relation,
            source.location,
            stat,
            hashes[stat.name],
            rows if len(stats) == 1 else None,
            run_id,
            now,
        )
    record_change(wh, state, Change(run_id, relation, rows=rows))
    return TableLoad(relation, "loaded", rows, rows, reason, len(stats))


def _append(
    wh: Warehouse,
    source: FileSource,
    table: RawTable,
    run_id: int,
    new: list[FileStat],
    rows_before: int,
    state: BuildState | None,
) -> TableLoad:
    relation = f"raw.{table.name}"
    hashes = {s.name: sha256_of(s.path) for s in new}
    where = f"{source.location} {table.name} ({', '.join(s.name for s in new)})"
    added = source.stage_files(wh, table, [s.path for s in new], STAGED, temporary=True)
    try:
        columns = [r[0] for r in wh.rows(f"describe {STAGED}")]
        existing = [r[0] for r in wh.rows(f"describe {relation}")]
        if sorted(columns) != sorted(existing):
            raise DataError(
                f"{where}: columns {', '.join(columns)} differ from raw.{table.name}'s "
                f"({', '.join(existing)}); rebuild it with `greenery load --full-refresh`"
            )
        _check_appended_keys(wh, table, where)
        start, end = _range(wh, table, STAGED)
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in existing)
        with wh.unordered():
            wh.execute(f"insert into {relation} ({quoted}) select {quoted} from {STAGED}")
    finally:
        wh.execute(f"drop table if exists {STAGED}")
    _unchanged_since([FileStat.of(source.folder, s.path) for s in new], new)
    now = datetime.now(UTC)
    for stat in new:
        remember(
            wh,
            relation,
            source.location,
            stat,
            hashes[stat.name],
            added if len(new) == 1 else None,
            run_id,
            now,
        )
    if added:
        record_change(wh, state, Change(run_id, relation, start, end, added))
    files = ", ".join(s.name for s in new[:3]) + (
        f" and {len(new) - 3} more" if len(new) > 3 else ""
    )
    return TableLoad(
        relation, "appended", rows_before + added, added, f"new file(s) {files}", len(new)
    )


def load_database_table(
    wh: Warehouse,
    source: Source,
    table: RawTable,
    run_id: int,
    full_refresh: bool,
    state: BuildState | None,
) -> TableLoad:
    """A table read from a database. Whole, with a change recorded only when its content
    differs from the last load's (a checksum over every row); or, for a table declaring an
    incremental_column, only its rows from the newest loaded minus `lookback` on."""
    relation = f"raw.{table.name}"
    recorded = recorded_files(wh, relation).get("")
    same_place = recorded is not None and recorded.location == source.location
    if (
        table.incremental_column
        and same_place
        and not full_refresh
        and wh.table_exists("raw", table.name)
    ):
        return _append_since(wh, source, table, run_id, state)
    rows = source.stage(wh, table, relation)
    check_keys(wh, table, relation, f"{source.location} {table.name}")
    checksum = _checksum(wh, table, relation, rows)
    if not full_refresh and same_place and recorded is not None and recorded.sha256 == checksum:
        return TableLoad(relation, "unchanged", rows, 0, "its content is unchanged")
    forget(wh, relation)
    remember(wh, relation, source.location, None, checksum, rows, run_id, datetime.now(UTC))
    record_change(wh, state, Change(run_id, relation, rows=rows))
    return TableLoad(
        relation, "loaded", rows, rows, "its content changed" if recorded else "first load"
    )


def _checksum(wh: Warehouse, table: RawTable, relation: str, rows: int) -> str:
    columns = ", ".join(f'"{c}"' for c in table.columns)
    total = wh.scalar(f"select coalesce(sum(hash({columns})::hugeint), 0) from {relation}")
    return f"rows {rows}, hash sum {total}"


def _append_since(
    wh: Warehouse, source: Source, table: RawTable, run_id: int, state: BuildState | None
) -> TableLoad:
    """The rows of an append-only database table from (newest loaded - lookback) on: those
    already held must be unchanged and still there, the others are appended."""
    from datetime import timedelta

    from greenery_cli.parsing import parse_duration

    relation = f"raw.{table.name}"
    column = f'"{table.incremental_column}"'
    newest = as_utc(wh.scalar(f"select max({column}) from {relation}"))
    rows_before = int(wh.scalar(f"select count(*) from {relation}"))
    if newest is None:
        return load_database_table(wh, source, table, run_id, True, state)
    since = newest - (parse_duration(table.lookback) if table.lookback else timedelta())
    where = f"{source.location} {table.name}"
    from greenery_cli.sources.postgres import PostgresSource

    assert isinstance(source, PostgresSource)  # the one database source
    source.stage(wh, table, STAGED, since=since, temporary=True)
    try:
        columns = ", ".join(f'"{c}"' for c in table.columns)
        match = " and ".join(f"old.{k} = new.{k}" for k in table.primary_key)
        keys = ", ".join(f"new.{k}" for k in table.primary_key)
        differs = " or ".join(f'new."{c}" is distinct from old."{c}"' for c in table.columns)
        differ = wh.rows(
            f"select {', '.join(f'new.{k}' for k in table.primary_key)} from {STAGED} as new "
            f"join {relation} as old on {match} where {differs} order by all limit 3"
        )
        if differ:
            shown = "; ".join(repr(r[0] if len(r) == 1 else r) for r in differ)
            raise DataError(
                f"{where}: row(s) {shown} changed after greenery loaded them; an "
                f"incremental_column declares the table append-only: rebuild {relation} with "
                f"`greenery load --full-refresh --select source:{table.name}+`"
            )
        gone = wh.rows(
            f"select {keys} from {relation} as new where {column} >= $since and not exists "
            f"(select 1 from {STAGED} as old where {match}) order by all limit 3",
            {"since": since},
        )
        if gone:
            shown = "; ".join(repr(r[0] if len(r) == 1 else r) for r in gone)
            raise DataError(
                f"{where}: row(s) {shown} were loaded and are no longer in the source; rebuild "
                f"{relation} with `greenery load --full-refresh --select source:{table.name}+`"
            )
        wh.execute(
            f"delete from {STAGED} as new where exists (select 1 from {relation} as old "
            f"where {match})"
        )
        added = int(wh.scalar(f"select count(*) from {STAGED}"))
        check_keys(wh, table, STAGED, where)
        start, end = _range(wh, table, STAGED)
        with wh.unordered():
            wh.execute(f"insert into {relation} ({columns}) select {columns} from {STAGED}")
    finally:
        wh.execute(f"drop table if exists {STAGED}")
    if not added:
        return TableLoad(relation, "unchanged", rows_before, 0, f"no rows after {since}")
    record_change(wh, state, Change(run_id, relation, start, end, added))
    return TableLoad(
        relation, "appended", rows_before + added, added, f"{added} new row(s) since {since}"
    )


def seed_digest(seed: Seed) -> str:
    declared = json.dumps({"columns": seed.columns, "key": list(seed.primary_key)}, sort_keys=True)
    return hashlib.sha256(seed.path.read_bytes() + declared.encode()).hexdigest()


def load_seed(
    wh: Warehouse, seed: Seed, run_id: int, full_refresh: bool, state: BuildState | None
) -> TableLoad:
    """A seed reloads when its CSV or its declared types changed."""
    from greenery_cli.seeds import load_seeds

    relation = f"seeds.{seed.name}"
    digest = seed_digest(seed)
    recorded = recorded_files(wh, relation).get(seed.path.name)
    if (
        not full_refresh
        and recorded is not None
        and recorded.sha256 == digest
        and wh.table_exists("seeds", seed.name)
    ):
        return TableLoad(relation, "unchanged", recorded.rows or 0, 0, "unchanged")
    rows = load_seeds(wh, [seed])[seed.name]
    forget(wh, relation)
    stat = FileStat.of(seed.path.parent, seed.path)
    remember(wh, relation, str(seed.path.parent), stat, digest, rows, run_id, datetime.now(UTC))
    record_change(wh, state, Change(run_id, relation, rows=rows))
    return TableLoad(relation, "loaded", rows, rows, "changed" if recorded else "first load", 1)
