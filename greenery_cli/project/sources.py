"""The project's source declarations (queries/sources.toml): each raw table's columns and types,
primary key, required columns, the column freshness reads and its freshness thresholds.

Nothing is guessed: a loader reads exactly these columns with exactly these types, and anything
else is refused with a message naming file, column and row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from greenery_cli.project.toml import TomlFile, check_keys, identifier, string_list

# The types a source column may declare, as DuckDB spells them; every source kind reads them all.
SOURCE_TYPES = ("VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMPTZ")
_TABLE_KEYS = {
    "description",
    "columns",
    "primary_key",
    "not_null",
    "freshness_column",
    "warn_after",
    "error_after",
    "record_warn_after",
    "record_error_after",
    "max_shrink",
    "incremental_column",
    "lookback",
}
# A load may remove at most this fraction of a raw table's rows unless --allow-shrink: a
# truncated or header-only export must not silently wipe what the warehouse holds.
DEFAULT_MAX_SHRINK = 0.5


class Freshness(NamedTuple):
    """When a raw table turns stale; durations as written (`12h`), None = not checked."""

    warn_after: str | None = "1d"
    error_after: str | None = "2d"
    record_warn_after: str | None = None
    record_error_after: str | None = None


class RawTable(NamedTuple):
    name: str
    columns: dict[str, str]  # column -> DuckDB type, in export order
    primary_key: tuple[str, ...]
    freshness_column: str | None  # the table's own newest-record timestamp, if it has one
    not_null: tuple[str, ...] = ()
    freshness: Freshness = Freshness()
    description: str = ""
    max_shrink: float = DEFAULT_MAX_SHRINK  # the fraction of rows a load may remove
    # rows are only ever added, and this timestamp says when: new files' range of it tells
    # incremental models what changed; PostgreSQL reads only rows from the newest minus lookback
    incremental_column: str | None = None
    lookback: str | None = None


def _duration(file: TomlFile, value: Any, where: str, key: str) -> str:
    from greenery_cli.errors import UsageError

    try:
        _seconds(value if isinstance(value, str) else "")
    except UsageError:
        file.fail(
            f"{where} = {value!r} is not a duration (write it like 30m, 12h, 2d or 1d12h)", key=key
        )
    return str(value)


def fraction(file: TomlFile, value: Any, where: str, key: str) -> float:
    """A share from 0 to 1 (0.5 = half), refused otherwise naming the file and line."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        file.fail(f"{where} = {value!r} is not a fraction from 0 to 1 (0.5 = half)", key=key)
    return float(value)


def _seconds(duration: str) -> float:
    from greenery_cli.parsing import parse_duration

    return parse_duration(duration).total_seconds()


def parse_sources(path: Path, defaults: Freshness) -> tuple[RawTable, ...]:
    """Every declared raw table, in declaration order; a malformed file names its line."""
    file = TomlFile.read(path)
    tables: list[RawTable] = []
    for name, spec in file.data.items():
        where = f"[{name}]"
        identifier(file, name, f"{where}: the table name")
        if not isinstance(spec, dict):
            file.fail(f"{where} must be a table of keys (columns, primary_key, ...)", key=name)
        check_keys(file, spec, _TABLE_KEYS, where, name)
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            file.fail(f"{where} needs [{name}.columns] mapping each column to a type", key=name)
        typed: dict[str, str] = {}
        for column, type_ in columns.items():
            identifier(file, column, f"[{name}.columns] column")
            spelled = type_.strip().upper() if isinstance(type_, str) else type_
            if spelled not in SOURCE_TYPES:
                file.fail(
                    f"[{name}.columns] {column} = {type_!r} is not a known type "
                    f"({', '.join(SOURCE_TYPES)})",
                    key=column,
                )
            typed[column] = spelled
        key = string_list(file, spec.get("primary_key", []), f"{where} primary_key", name)
        not_null = string_list(file, spec.get("not_null", []), f"{where} not_null", name)
        for listed, what in ((key, "primary_key"), (not_null, "not_null")):
            undeclared = [c for c in listed if c not in typed]
            if undeclared:
                file.fail(
                    f"{where} {what} names undeclared column(s) {', '.join(undeclared)}",
                    key=what,
                )
        if not key:
            file.fail(f"{where} needs a primary_key (the column(s) that identify a row)", key=name)
        fresh_column = spec.get("freshness_column")
        if fresh_column is not None and typed.get(fresh_column) not in ("TIMESTAMPTZ", "DATE"):
            file.fail(
                f"{where} freshness_column {fresh_column!r} is not a declared TIMESTAMPTZ or DATE "
                "column",
                key="freshness_column",
            )
        limits = {
            field: _duration(file, spec[field], f"{where} {field}", field)
            if field in spec
            else default
            for field, default in (
                ("warn_after", defaults.warn_after),
                ("error_after", defaults.error_after),
                ("record_warn_after", defaults.record_warn_after),
                ("record_error_after", defaults.record_error_after),
            )
        }
        for warn, error in (
            ("warn_after", "error_after"),
            ("record_warn_after", "record_error_after"),
        ):
            early, late = limits[warn], limits[error]
            if early and late and _seconds(early) > _seconds(late):
                file.fail(
                    f"{where} {warn} {early} is later than {error} {late}",
                    key=warn if warn in spec else error,
                )
        incremental = spec.get("incremental_column")
        if incremental is not None and typed.get(incremental) not in ("TIMESTAMPTZ", "DATE"):
            file.fail(
                f"{where} incremental_column {incremental!r} is not a declared TIMESTAMPTZ or "
                "DATE column",
                key="incremental_column",
            )
        lookback = spec.get("lookback")
        if lookback is not None:
            from greenery_cli.errors import UsageError
            from greenery_cli.parsing import parse_duration

            try:
                parse_duration(lookback)
            except UsageError as exc:
                file.fail(f"{where} lookback: {exc}", key="lookback")
            if incremental is None:
                file.fail(f"{where} lookback needs an incremental_column", key="lookback")
        description = spec.get("description", "")
        if not isinstance(description, str):
            file.fail(f"{where} description must be text", key="description")
        max_shrink = (
            fraction(file, spec["max_shrink"], f"{where} max_shrink", "max_shrink")
            if "max_shrink" in spec
            else DEFAULT_MAX_SHRINK
        )
        tables.append(
            RawTable(
                name=name,
                columns=typed,
                primary_key=tuple(key),
                freshness_column=fresh_column,
                not_null=tuple(not_null),
                freshness=Freshness(**limits),
                description=description,
                max_shrink=max_shrink,
                incremental_column=incremental,
                lookback=lookback,
            )
        )
    if not tables:
        file.fail("declares no source table")
    return tuple(tables)
