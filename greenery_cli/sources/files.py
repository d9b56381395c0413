"""A folder of exports: for each raw table <table>.csv or <table>.parquet (a whole-table
export), or a folder <table>/ of *.csv and *.parquet files (batches, new ones arriving over
time; names starting with . or _ are left alone, so a writer can rename a finished file in)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from greenery_cli.errors import DataError, SourceError
from greenery_cli.output import visible
from greenery_cli.project.sources import RawTable
from greenery_cli.sources import values
from greenery_cli.warehouse import Warehouse
from greenery_cli.warehouse import quote_identifier as _quote

_CSV_OPTIONS = (
    "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
    "nullstr = '', strict_mode = true"
)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct(columns: dict[str, str]) -> str:
    return (
        "{" + ", ".join(f"{_sql_literal(c)}: {_sql_literal(t)}" for c, t in columns.items()) + "}"
    )


def _has_exports(folder: Path) -> bool:
    return any(folder.glob("*.csv")) or any(folder.glob("*.parquet"))


def exports_folder(folder: Path) -> Path:
    """The folder itself, or its raw/ subfolder when it holds no exports of its own but raw/
    does: the layout `greenery generate` writes and the shared dataset has (raw/ beside
    inventory-weeks/)."""
    raw = folder / "raw"
    if folder.is_dir() and not _has_exports(folder) and raw.is_dir() and _has_exports(raw):
        return raw
    return folder


class FileSource:
    kind = "files"

    def __init__(self, folder: str | Path, files: dict[str, Path] | None = None) -> None:
        self.folder = exports_folder(Path(folder).expanduser())
        self.files = dict(files or {})  # table -> a file of another name (a replayed state)

    @property
    def location(self) -> str:
        if len(self.files) == 1:
            return str(next(iter(self.files.values())).resolve())
        return str(self.folder.resolve())

    def files_for(self, table: RawTable) -> list[Path]:
        """The table's export: one whole-table file (or the file named for it, a replayed
        state), or every batch file of its folder."""
        if table.name in self.files:
            return [self.files[table.name]]
        batches = self.folder / table.name
        names = table_files(
            self.folder,
            table.name,
            [
                f"{table.name}.{ext}"
                for ext in ("parquet", "csv")
                if (self.folder / f"{table.name}.{ext}").is_file()
            ],
            sorted(p.name for p in batches.iterdir() if p.is_file()) if batches.is_dir() else None,
        )
        return [self.folder / name for name in names]

    def is_batched(self, table: RawTable) -> bool:
        """Whether the table is a folder of batch files (else one whole-table export)."""
        return (self.folder / table.name).is_dir()

    def check(self, tables: tuple[RawTable, ...]) -> None:
        for table, path in self.files.items():
            if not path.is_file():
                raise SourceError(f"{path} does not exist (the {table} file to read)")
        if all(t.name in self.files for t in tables):
            return
        if not self.folder.is_dir():
            raise SourceError(f"source folder {self.folder} does not exist")
        missing = [
            t.name
            for t in tables
            if t.name not in self.files
            and not any((self.folder / f"{t.name}.{e}").is_file() for e in ("csv", "parquet"))
            and not (self.folder / t.name).is_dir()
        ]
        if missing:
            raise SourceError(
                f"{self.folder}: missing raw table file(s) for {', '.join(missing)} "
                "(expected <table>.csv, <table>.parquet or a <table>/ folder of them)"
            )
        for t in tables:
            self.files_for(t)

    def close(self) -> None:
        pass

    def _header(self, wh: Warehouse, path: Path) -> list[str]:
        import duckdb

        if path.suffix == ".csv":
            return _csv_header(path)
        try:
            return [
                row[0]
                for row in wh.rows(
                    "select name from parquet_schema(?) where name <> 'schema' "
                    "and num_children is null",
                    [str(path)],
                )
            ]
        except duckdb.Error as exc:
            raise DataError(_parquet_unreadable(path, exc)) from None

    def _columns(self, wh: Warehouse, table: RawTable, path: Path) -> list[str]:
        return checked_header(path, table, self._header(wh, path))

    def _csv_reader(self, path: Path, header: list[str], table: RawTable) -> str:
        types = {c: values.csv_read_type(table.columns.get(c, "VARCHAR")) for c in header}
        return f"read_csv({_sql_literal(str(path))}, {_CSV_OPTIONS}, columns = {_struct(types)})"

    def _parquet_types(self, wh: Warehouse, table: RawTable, path: Path) -> dict[str, str]:
        """Each contract column's type in the file, refusing types that cannot hold it."""
        import duckdb

        try:
            found = {
                str(name): str(type_)
                for name, type_, *_ in wh.rows(
                    f"describe select * from read_parquet({_sql_literal(str(path))})"
                )
            }
        except duckdb.Error as exc:
            raise DataError(_parquet_unreadable(path, exc)) from None
        return checked_types(path, table, found)

    def _file_select(self, wh: Warehouse, table: RawTable, path: Path, header: list[str]) -> str:
        """A SELECT over one file, each value converted exactly to its declared type (or the
        statement stops: values.converted), its extra columns after."""
        extras = [c for c in header if c not in table.columns]
        if path.suffix == ".csv":
            reader = self._csv_reader(path, header, table)
            delivered = {c: values.csv_read_type(t) for c, t in table.columns.items()}
        else:
            reader = f"read_parquet({_sql_literal(str(path))})"
            delivered = self._parquet_types(wh, table, path)
        select = ", ".join(
            [
                f"{values.converted(_quote(c), t, delivered[c], c)} as {_quote(c)}"
                for c, t in table.columns.items()
            ]
            + [_quote(c) for c in extras]
        )
        return f"select {select} from {reader}"

    def select_sql(
        self, wh: Warehouse, table: RawTable, files: list[Path] | None = None
    ) -> tuple[str, list[str]]:
        """A SELECT over the files (default: all of the table's) typed by the contract, and their
        extra columns (every file of a table must carry the same ones)."""
        files = self.files_for(table) if files is None else files
        selects, extras_of = [], None
        for path in files:
            header = self._columns(wh, table, path)
            extras_of = same_extras(path, table, header, extras_of)
            selects.append(self._file_select(wh, table, path, header))
        return "\nunion all by name\n".join(selects), extras_of[1] if extras_of else []

    def stage(self, wh: Warehouse, table: RawTable, target: str, *, temporary: bool = False) -> int:
        """`temporary`: a temp table, which a transaction writing the warehouse may create."""
        return self.stage_files(wh, table, self.files_for(table), target, temporary)

    def stage_files(
        self,
        wh: Warehouse,
        table: RawTable,
        files: list[Path],
        target: str,
        temporary: bool = False,
    ) -> int:
        """Create `target` from some of the table's files; a bad value names its file and line."""
        import duckdb

        from greenery_cli.errors import disk_full

        sql, _extras = self.select_sql(wh, table, files)
        kind = "temp table" if temporary else "table"
        # a raw table keeps its rows in no order (empty_rows() numbers them in the files)
        order = nullcontext() if temporary else wh.unordered()
        try:
            with order:
                wh.execute(f"create or replace {kind} {target} as {sql}")
        except duckdb.Error as exc:
            full = disk_full(exc, wh.path)
            if full is not None:
                raise full from None
            if len(files) == 1:
                raise DataError(self._explain(wh, table, files[0], exc)) from None
            raise DataError(self._explain_one_of(table, files, exc)) from None
        return int(wh.scalar(f"select count(*) from {target}"))

    def empty_rows(
        self, wh: Warehouse, table: RawTable, files: list[Path], column: str, limit: int = 5
    ) -> str:
        """Where the first rows with an empty `column` are, read again from the files in order:
        `data rows 2, 5` (the Nth row after any header), each file named when there are several."""
        places, left = [], limit
        with _scratch(wh) as scratch:
            for path in files:
                header = self._columns(scratch, table, path)
                select = self._file_select(scratch, table, path, header)
                rows = scratch.rows(
                    f"select n from (select row_number() over () as n, {_quote(column)} as value "
                    f"from ({select})) where value is null order by n limit {left}"
                )
                if rows:
                    numbers = ", ".join(str(n) for (n,) in rows)
                    places.append(f"{path.name + ' ' if len(files) > 1 else ''}data rows {numbers}")
                    left -= len(rows)
                if left <= 0:
                    break
        return "; ".join(places)

    def _explain_one_of(self, table: RawTable, files: list[Path], error: Exception) -> str:
        """Find which of several files a failed read tripped on by reading each alone, apart
        from the warehouse (whose transaction the failure aborted), and explain its own error."""
        import duckdb

        from greenery_cli.warehouse import Warehouse

        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            probe = Warehouse(path=Path(":memory:"), con=con, read_only=False)
            for path in files:
                sql = self._file_select(probe, table, path, self._header(probe, path))
                try:
                    probe.execute(f"create or replace table probe as {sql}")
                except duckdb.Error as exc:
                    return self._explain(probe, table, path, exc)
        return f"{self.folder / table.name}: cannot read as raw table {table.name}: " + (
            str(error).splitlines()[0] if str(error) else type(error).__name__
        )

    def _explain(self, wh: Warehouse, table: RawTable, path: Path, exc: Exception) -> str:
        text = str(exc)
        column = values.refused_column(text)
        if column is not None:
            # the failed statement aborted the load's transaction: look on a connection of our own
            with _scratch(wh) as scratch:
                found = self._first_refused(scratch, table, path, column)
            if found:
                return found
        line = re.search(r"CSV Error on Line: (\d+)", text)
        converting = re.search(r'converting column "([^"]+)"', text)
        value = re.search(r'Could not convert string "([^"]*)" to \'?([A-Z ]+)', text)
        if line and converting and value:
            number = int(line.group(1))
            return (
                f"{path} line {number} (data row {number - 1}), column {converting.group(1)}: "
                f"{_shown(value.group(1))} is not a valid {value.group(2).strip()} "
                f"(raw table {table.name} declares "
                f"{table.columns.get(converting.group(1), '?')})"
            )
        if line:
            return f"{path} line {line.group(1)}: {_csv_fault(text)}"
        if path.suffix == ".parquet":
            return _parquet_unreadable(path, exc)
        return f"{path}: cannot read as raw table {table.name}: {_first_line(text)}"

    def _first_refused(self, wh: Warehouse, table: RawTable, path: Path, column: str) -> str | None:
        """Name the first value of `column` the contract refuses: file, line or row, value."""
        import duckdb

        declared = table.columns[column]
        if path.suffix == ".csv":
            header = self._columns(wh, table, path)
            reader = self._csv_reader(path, header, table)
            delivered = values.csv_read_type(declared)
        else:
            reader = f"read_parquet({_sql_literal(str(path))})"
            delivered = self._parquet_types(wh, table, path)[column]
        try:
            rows = wh.rows(
                f"select row_number, cast(value as varchar) from (select row_number() over () "
                f"as row_number, {_quote(column)} as value from {reader}) "
                f"where {values.refused('value', declared, delivered)} "
                "order by row_number limit 1"
            )
        except duckdb.Error:
            return None
        if not rows:
            return None
        row, value = int(rows[0][0]), rows[0][1]
        fault = refused_value(table, column, value)
        if path.suffix == ".csv":
            line = _csv_line(wh, reader, header, row)
            return f"{path} line {line} (data row {row}), {fault}"
        return f"{path} row {row}, {fault}"


def table_files(
    folder: str | Path, table: str, whole: list[str], batches: list[str] | None
) -> list[str]:
    """Which of a folder's files are raw table `table`'s export, by name: `whole` the
    whole-table files present (<table>.parquet, <table>.csv), `batches` the file names in its
    <table>/ folder (None: no such folder). One whole-table file, or the folder's .csv and
    .parquet files whose names do not start with . or _; both, or neither, is refused."""
    present = [*whole, *([f"{table}/"] if batches is not None else [])]
    if len(present) > 1:
        raise SourceError(
            f"{folder}: {' and '.join(present)} all exist for raw table {table}; keep one so the "
            "load is unambiguous"
        )
    if not present:
        raise SourceError(f"{folder}: no {table}.csv, {table}.parquet or {table}/ folder")
    if batches is None:
        return whole
    files = [
        f"{table}/{name}"
        for name in sorted(batches)
        if name.endswith((".csv", ".parquet")) and not name.startswith((".", "_"))
    ]
    if not files:
        raise SourceError(f"{folder}/{table}: holds no .csv or .parquet file for raw table {table}")
    return files


def checked_header(path: str | Path, table: RawTable, header: list[str]) -> list[str]:
    """A file's column names, refused when a contract column is missing or a name repeats
    (the columns may come in any order; extra ones are carried after the contract's)."""
    missing = [c for c in table.columns if c not in header]
    if missing:
        # the file's own names, escaped: a quoted header may hold a newline
        extra = [visible(c) for c in header if c not in table.columns]
        hint = f" (the file has unexpected column(s) {', '.join(extra)})" if extra else ""
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)} for raw table {table.name}{hint}"
        )
    duplicated = sorted({visible(c) for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}: column(s) {', '.join(duplicated)} appear more than once")
    return header


def same_extras(
    path: str | Path, table: RawTable, header: list[str], first: tuple[str, list[str]] | None
) -> tuple[str, list[str]]:
    """The name and extra columns of a table's first file, refusing a later file whose extra
    columns (beyond the contract's) are not the same."""
    extras = [c for c in header if c not in table.columns]
    if first is not None and sorted(extras) != sorted(first[1]):
        raise DataError(
            f"{path}: extra column(s) {', '.join(extras) or 'none'} differ from "
            f"{first[0]}'s ({', '.join(first[1]) or 'none'}); every file of "
            f"raw table {table.name} needs the same columns"
        )
    return first or (str(path).rsplit("/", 1)[-1], extras)


def checked_types(path: str | Path, table: RawTable, found: dict[str, str]) -> dict[str, str]:
    """Each contract column's type in a typed file (DuckDB's type names), refusing types that
    cannot hold the declared one."""
    wrong = [
        f"{c} is {found[c]}, the raw contract declares {t}"
        for c, t in table.columns.items()
        if not values.accepts(t, found[c])
    ]
    if wrong:
        raise DataError(f"{path}: wrong column type(s): {'; '.join(wrong)}")
    return {c: found[c] for c in table.columns}


def refused_value(table: RawTable, column: str, value: str | None) -> str:
    """What a refusal says of a value, after the place it was found (`path line N, `...)."""
    declared = table.columns[column]
    return (
        f"column {column}: {_shown(value)} {values.reason(declared)} "
        f"(raw table {table.name} declares {declared})"
    )


@contextmanager
def _scratch(wh: Warehouse) -> Iterator[Warehouse]:
    """An in-memory DuckDB in UTC for reading the source files again."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        yield Warehouse(path=wh.path, con=con, read_only=False)
    finally:
        con.close()


def _csv_header(path: Path) -> list[str]:
    """The header row, read line by line so that a bad byte is named on its own line."""
    text = ""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text += raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path} line {number}: byte {raw[exc.start : exc.start + 1]!r} at column "
                    f"{exc.start + 1} is not UTF-8; export the file as UTF-8"
                ) from None
            if text.count('"') % 2:
                continue  # a quoted header field goes on past this line
            try:
                header = next(csv.reader(io.StringIO(text)), [])
            except csv.Error as exc:
                raise DataError(f"{path} line 1: the header cannot be read as CSV: {exc}") from None
            if not header:
                raise DataError(f"{path} line 1: empty, expected a header row")
            return [h.strip() for h in header]
    raise DataError(f"{path}: empty file, expected a header row")


def _csv_line(wh: Warehouse, reader: str, header: list[str], row: int) -> int:
    """The line data row `row` starts on, counting newlines inside quoted fields before it."""
    newlines = " + ".join(
        f"coalesce(length({_quote(c)}::varchar) - length(replace({_quote(c)}::varchar, "
        "chr(10), '')), 0)"
        for c in header
    )
    before = wh.scalar(
        f"select coalesce(sum({newlines}), 0) from (select row_number() over () as row_number, "
        f"* from {reader}) where row_number < ?",
        [row],
    )
    return row + 1 + int(before or 0)


def _csv_fault(text: str) -> str:
    """What DuckDB's CSV reader says went wrong on a line, in a few words."""
    if "Invalid unicode" in text:
        return "bytes that are not UTF-8; export the file as UTF-8"
    size = re.search(r"Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)", text)
    if size:
        return (
            f"a line of {int(size.group(2)):,} bytes, longer than the {int(size.group(1)):,} "
            "bytes a line may have"
        )
    if "unterminated quote" in text:
        return "a quoted field is never closed"
    found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if found:
        detail = f"expected {found.group(1)} fields, found {found.group(2)}"
        original = re.search(r"Original Line: (.*)", text)
        return detail + (f": {_shown(original.group(1))}" if original else "")
    lines = [ln.strip() for ln in text.splitlines()[1:] if ln.strip()]
    detail = next((ln for ln in lines if not ln.startswith("Original Line")), "")
    return detail[:200] or _first_line(text)


def _parquet_unreadable(path: Path, exc: Exception) -> str:
    text = _first_line(str(exc))
    if "magic bytes" in text or "not a parquet file" in text.lower():
        return f"{path}: not a whole Parquet file (truncated or not Parquet: {text})"
    return f"{path}: cannot read as Parquet: {text}"


def _first_line(text: str) -> str:
    text = text.strip()
    first = text.splitlines()[0] if text else ""
    return re.sub(r"^[A-Za-z ]+Error: ", "", first)


def _shown(value: str | None, limit: int = 80) -> str:
    """A value as a message quotes it: repr (controls escaped), long ones cut with their size."""
    if value is None:
        return "NULL"
    if len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    return repr(value)
