"""A folder of exports: for each raw table <table>.csv or <table>.parquet (a whole-table
export), or a folder <table>/ of *.csv and *.parquet files (batches, new ones arriving over
time; names starting with . or _ are left alone, so a writer can rename a finished file in)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from greenery_cli.errors import DataError, SourceError
from greenery_cli.project.sources import RawTable
from greenery_cli.warehouse import Warehouse

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


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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
        candidates = [self.folder / f"{table.name}.{ext}" for ext in ("parquet", "csv")]
        present = [p for p in candidates if p.is_file()]
        batches = self.folder / table.name
        if batches.is_dir():
            present.append(batches)
        if len(present) > 1:
            names = " and ".join(p.name + ("/" if p.is_dir() else "") for p in present)
            raise SourceError(
                f"{self.folder}: {names} all exist for raw table {table.name}; keep one so the "
                "load is unambiguous"
            )
        if not present:
            raise SourceError(
                f"{self.folder}: no {table.name}.csv, {table.name}.parquet or {table.name}/ folder"
            )
        if not present[0].is_dir():
            return present
        files = sorted(
            p
            for p in batches.iterdir()
            if p.suffix in (".csv", ".parquet")
            and p.is_file()
            and not p.name.startswith((".", "_"))
        )
        if not files:
            raise SourceError(
                f"{batches}: holds no .csv or .parquet file for raw table {table.name}"
            )
        return files

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
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), None)
            if not header:
                raise DataError(f"{path}: empty file, expected a header row")
            return [h.strip() for h in header]
        return [
            row[0]
            for row in wh.rows(
                "select name from parquet_schema(?) where name <> 'schema' "
                "and num_children is null",
                [str(path)],
            )
        ]

    def _columns(self, wh: Warehouse, table: RawTable, path: Path) -> list[str]:
        header = self._header(wh, path)
        missing = [c for c in table.columns if c not in header]
        if missing:
            extra = [c for c in header if c not in table.columns]
            hint = f" (the file has unexpected column(s) {', '.join(extra)})" if extra else ""
            raise DataError(
                f"{path}: missing column(s) {', '.join(missing)} for raw table {table.name}{hint}"
            )
        duplicated = sorted({c for c in header if header.count(c) > 1})
        if duplicated:
            raise DataError(f"{path}: column(s) {', '.join(duplicated)} appear more than once")
        return header

    def _file_select(self, table: RawTable, path: Path, header: list[str]) -> str:
        """A SELECT over one file typed by the contract, its extra columns after."""
        extras = [c for c in header if c not in table.columns]
        if path.suffix == ".csv":
            types = {c: table.columns.get(c, "VARCHAR") for c in header}
            reader = (
                f"read_csv({_sql_literal(str(path))}, {_CSV_OPTIONS}, columns = {_struct(types)})"
            )
            select = ", ".join(_quote(c) for c in [*table.columns, *extras])
        else:
            reader = f"read_parquet({_sql_literal(str(path))})"
            select = ", ".join(
                [f"cast({_quote(c)} as {t}) as {_quote(c)}" for c, t in table.columns.items()]
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
            extras = [c for c in header if c not in table.columns]
            if extras_of is not None and sorted(extras) != sorted(extras_of[1]):
                raise DataError(
                    f"{path}: extra column(s) {', '.join(extras) or 'none'} differ from "
                    f"{extras_of[0].name}'s ({', '.join(extras_of[1]) or 'none'}); every file of "
                    f"raw table {table.name} needs the same columns"
                )
            extras_of = extras_of or (path, extras)
            selects.append(self._file_select(table, path, header))
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

        sql, _extras = self.select_sql(wh, table, files)
        kind = "temp table" if temporary else "table"
        try:
            wh.execute(f"create or replace {kind} {target} as {sql}")
        except duckdb.Error as exc:
            if len(files) == 1:
                raise DataError(self._explain(wh, table, files[0], exc)) from None
            raise DataError(self._explain_one_of(table, files, exc)) from None
        return int(wh.scalar(f"select count(*) from {target}"))

    def _explain_one_of(self, table: RawTable, files: list[Path], error: Exception) -> str:
        """Find which of several files a failed read tripped on by reading each alone, apart
        from the warehouse (whose transaction the failure aborted), and explain its own error."""
        import duckdb

        from greenery_cli.warehouse import Warehouse

        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            probe = Warehouse(path=Path(":memory:"), con=con, read_only=False)
            for path in files:
                sql = self._file_select(table, path, self._header(probe, path))
                try:
                    probe.execute(f"create or replace table probe as {sql}")
                except duckdb.Error as exc:
                    return self._explain(probe, table, path, exc)
        return f"{self.folder / table.name}: cannot read as raw table {table.name}: " + (
            str(error).splitlines()[0] if str(error) else type(error).__name__
        )

    def _explain(self, wh: Warehouse, table: RawTable, path: Path, exc: Exception) -> str:
        text = str(exc)
        line = re.search(r"CSV Error on Line: (\d+)", text)
        column = re.search(r'converting column "([^"]+)"', text)
        value = re.search(r'Could not convert string "([^"]*)" to \'?([A-Z ]+)', text)
        if line and column and value:
            number = int(line.group(1))
            return (
                f"{path} line {number} (data row {number - 1}), column {column.group(1)}: "
                f"{value.group(1)!r} is not a valid {value.group(2).strip()} "
                f"(raw table {table.name} declares {table.columns.get(column.group(1), '?')})"
            )
        if line:
            original = re.search(r"Original Line: (.*)", text)
            found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
            detail = (
                f"expected {found.group(1)} fields, found {found.group(2)}"
                if found
                else text.splitlines()[0]
            )
            shown = f": {original.group(1)[:120]!r}" if original else ""
            return f"{path} line {line.group(1)}: {detail}{shown}"
        if path.suffix == ".parquet":
            bad = self._first_bad_parquet_value(wh, table, path)
            if bad:
                return bad
        return f"{path}: cannot read as raw table {table.name}: {text.splitlines()[0]}"

    def _first_bad_parquet_value(self, wh: Warehouse, table: RawTable, path: Path) -> str | None:
        for column, type_ in table.columns.items():
            rows = wh.rows(
                f"select row_number, value from (select row_number() over () as row_number, "
                f"cast({_quote(column)} as varchar) as value, "
                f"try_cast({_quote(column)} as {type_}) as typed "
                f"from read_parquet(?)) where value is not null and typed is null limit 1",
                [str(path)],
            )
            if rows:
                row, value = rows[0]
                return (
                    f"{path} row {row}, column {column}: {value!r} is not a valid {type_} "
                    f"(raw table {table.name})"
                )
        return None
