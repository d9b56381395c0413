"""`greenery --engine sc://... load --source DIR|postgresql://...`: exports (or a database's
tables) and seeds into Spark tables, then every model, in build order (with --select, the models
DuckDB's load chooses and the raw tables and seeds they read: load.py `plan`).

A PostgreSQL source is read on this machine by DuckDB's own source (sources/postgres.py: one
read-only snapshot, the contract's checks and messages) and each table sent to the server as
Arrow: the server needs no JDBC driver and never sees the password.

The folder holds what DuckDB's file source reads (sources/files.py: per raw table a .csv or
.parquet file or a folder of batch files, or a raw/ subfolder of them); its files are read by
the Spark server (a local server reads this machine's folder). Every export is checked against
the project's contract as a DuckDB load checks it (sources.toml: the columns by name, extra ones
carried; a Parquet column's type; each value converting exactly to its declared type by
sources/values.py's rules; keys present and distinct, required columns filled) before anything
is written; only then are the raw tables, seeds and models replaced, each built under a scratch
name and renamed over the old one (the models as `greenery build` builds them on Spark:
engines/spark/models.py). Spark has no transaction across tables, so a failure while
writing (the server going away) can leave some tables of the new load beside old ones; a
rerun repairs it. Incremental models are built whole, as tables. The run, each raw table's load,
each model's build and each table's change are appended to the run log on Spark (meta.runs,
meta.loads, meta.model_builds, meta.changes: engines/spark/meta.py) as a DuckDB load writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.spark.engine import SparkEngine
from greenery_cli.engines.spark.models import SparkBuilds, build_in_order, logged_rows
from greenery_cli.engines.url import EngineSpec
from greenery_cli.errors import DataError, SourceError, UsageError
from greenery_cli.sources.files import FileSource

if TYPE_CHECKING:
    from greenery_cli.engine.run import ModelBuild
    from greenery_cli.project.sources import RawTable
    from greenery_cli.raw_load import TableLoad

META_TABLES = ("runs", "loads", "model_builds", "changes")
REBUILT = "rebuilt: a Spark load builds every model"  # no fingerprints compared: every one


@dataclass
class SparkLoadResult:
    source: str  # the folder, or a database's location (no password)
    kind: str = "files"  # files | postgres, as meta.loads names a DuckDB load's source
    tables: dict[str, int] = field(default_factory=dict)  # relation -> rows
    models: dict[str, str] = field(default_factory=dict)  # relation -> how it was built
    notes: list[str] = field(default_factory=list)
    loads: list[TableLoad] = field(default_factory=list)  # as a DuckDB load records them
    builds: list[ModelBuild] = field(default_factory=list)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _stage(
    engine: SparkEngine, csv: Path, name: str, columns: dict[str, str], *, sent: bool = False
) -> str:
    """The CSV as a temporary view, checked against the declared columns and types; the typed
    SELECT over it. `sent`: read here and sent to the server (a small file of the project's,
    such as a seed, which a remote server cannot read)."""
    found = engine.send_csv(csv, name) if sent else engine.read_csv(str(csv), name)
    if [c.lower() for c in found] != [c.lower() for c in columns]:
        missing = [c for c in columns if c.lower() not in {f.lower() for f in found}]
        extra = [f for f in found if f.lower() not in {c.lower() for c in columns}]
        what = (
            f"missing column(s) {', '.join(missing)}"
            if missing
            else f"unexpected column(s) {', '.join(extra)}"
            if extra
            else "the columns are not in the declared order"
        )
        raise DataError(f"{csv}: {what} (declared: {', '.join(columns)})")
    typed = [c for c, t in columns.items() if t.upper() not in ("VARCHAR", "TEXT", "STRING")]
    if typed:
        counts = engine.rows(
            "select "
            + ", ".join(
                f"count_if({_quoted(c)} is not null and try_cast({_quoted(c)} as {columns[c]}) "
                "is null)"
                for c in typed
            )
            + f" from {name}"
        )[0]
        for column, bad in zip(typed, counts, strict=True):
            if bad:
                value = engine.scalar(
                    f"select {_quoted(column)} from {name} where {_quoted(column)} is not null "
                    f"and try_cast({_quoted(column)} as {columns[column]}) is null limit 1"
                )
                raise DataError(
                    f"{csv}: {bad} value(s) of column {column} are not {columns[column]} "
                    f"(first: {value!r})"
                )
    return (
        "select "
        + ", ".join(f"cast({_quoted(c)} as {t}) as {_quoted(c)}" for c, t in columns.items())
        + f" from {name}"
    )


@dataclass(frozen=True)
class Export:
    """One read of a raw table's export: a file, or (in a remote folder) every file of one kind
    in the table's batch folder, read as one."""

    label: str  # what a message names
    kind: str  # csv | parquet
    path: str  # what the server reads
    glob: str | None = None  # the batch folder's files of this kind


def _local_exports(files: FileSource, table: RawTable) -> list[Export]:
    return [Export(str(p), p.suffix.lstrip("."), str(p)) for p in files.files_for(table)]


def _remote_exports(
    engine: SparkEngine, url: str, tables: tuple[RawTable, ...]
) -> tuple[str, dict[str, list[Export]]]:
    """A folder the server reads (s3a://, hdfs://, file://...), found by one listing through
    the server and chosen by DuckDB's rules (sources/files.py table_files, the raw/ subfolder):
    the folder used, and each table's reads."""
    from urllib.parse import unquote

    from greenery_cli.sources import redact_location, url_password
    from greenery_cli.sources.files import table_files

    engine.hide(url_password(url) or "")
    root = url.rstrip("/")
    try:
        listed = engine.list_files(root)
    except SourceError as exc:
        raise SourceError(
            f"--source {redact_location(url)}: cannot list the folder ({exc})"
        ) from None

    def bare(path: str) -> str:  # file:/x, file:///x and /x name one file
        return (path.split(":", 1)[1] if ":" in path.split("/", 1)[0] else path).lstrip("/")

    prefix = bare(root) + "/"
    # the server names files as URIs (a space is %20)
    names = [bare(unquote(p))[len(prefix) :] for p in listed if bare(unquote(p)).startswith(prefix)]
    if not any("/" not in n and n.endswith((".csv", ".parquet")) for n in names) and any(
        n.startswith("raw/") and n.count("/") == 1 and n.endswith((".csv", ".parquet"))
        for n in names
    ):
        root, names = f"{root}/raw", [n[4:] for n in names if n.startswith("raw/")]
    shown = redact_location(root)  # what messages and the run log name
    chosen: dict[str, list[Export]] = {}
    for table in tables:
        whole = [n for n in (f"{table.name}.parquet", f"{table.name}.csv") if n in names]
        inside = [n.split("/", 1)[1] for n in names if n.startswith(f"{table.name}/")]
        batches = [n for n in inside if "/" not in n] if inside else None
        picked = table_files(shown, table.name, whole, batches)
        if batches is None:
            chosen[table.name] = [
                Export(f"{shown}/{n}", n.rsplit(".", 1)[1], f"{root}/{n}") for n in picked
            ]
            continue
        kinds = sorted({n.rsplit(".", 1)[1] for n in picked})
        chosen[table.name] = [
            Export(f"{shown}/{table.name}/*.{k}", k, f"{root}/{table.name}", f"*.{k}")
            for k in kinds
        ]
    return shown, chosen


def _stage_raw(engine: SparkEngine, exports: list[Export], table: RawTable) -> str:
    """The table's export (one file, or every batch file of its folder; CSV or Parquet, as
    DuckDB's file source finds them) as one SELECT typed by the contract, after the same
    checks as a DuckDB load: the contract's columns present by name in any order, extra
    columns the same in every file and carried after them, each typed column of a Parquet
    file of a type that can hold the declared one, and every value converting exactly
    (sources/values.py's rules, through the dialect)."""
    from greenery_cli.sources import values
    from greenery_cli.sources.files import (
        checked_header,
        checked_types,
        refused_value,
        same_extras,
    )

    selects: list[str] = []
    extras_of: tuple[str, list[str]] | None = None
    for number, export in enumerate(exports):
        name, path = f"greenery_raw_{table.name}_{number}", export.label
        if export.kind == "parquet":
            try:
                found = engine.read_parquet(export.path, name, export.glob)
            except DataError as exc:
                raise DataError(f"{path}: cannot read as Parquet: {exc}") from None
            header = checked_header(path, table, list(found))
            delivered = checked_types(path, table, found)
        else:
            columns = engine.read_csv(export.path, name, export.glob)
            header = checked_header(path, table, columns)
            delivered = dict.fromkeys(table.columns, "VARCHAR")  # every CSV field is text
        extras_of = same_extras(path, table, header, extras_of)
        checked = [c for c, t in table.columns.items() if values.needs_check(t, delivered[c])]
        refusals = [values.refused(_quoted(c), table.columns[c], delivered[c]) for c in checked]
        if checked:
            counts = engine.rows(
                "select " + ", ".join(f"count_if({r})" for r in refusals) + f" from {name}"
            )[0]
            for column, refusal, bad in zip(checked, refusals, counts, strict=True):
                if bad:
                    value = engine.scalar(
                        f"select cast({_quoted(column)} as varchar) from {name} "
                        f"where {refusal} limit 1"
                    )
                    raise DataError(
                        f"{path}: {bad} value(s) refused, the first: "
                        + refused_value(table, column, value)
                    )
        selects.append(_typed(table, name, extras_of[1]))
    return "\nunion all\n".join(selects)


def _typed(table: RawTable, name: str, extras: list[str] | tuple[str, ...] = ()) -> str:
    """The SELECT of a staged view's contract columns cast to their declared types, then its
    extra columns as they are."""
    columns = [f"cast({_quoted(c)} as {t}) as {_quoted(c)}" for c, t in table.columns.items()] + [
        _quoted(c) for c in extras
    ]
    return f"select {', '.join(columns)} from {name}"


def _send_database(
    engine: SparkEngine, spec: str, tables: tuple[RawTable, ...]
) -> tuple[str, list[tuple[str, str]]]:
    """A PostgreSQL source's tables, read on this machine by DuckDB's source (sources/
    postgres.py: one read-only snapshot, the contract's types and value checks) into a DuckDB
    in memory, their keys checked as a DuckDB load checks them (the same messages), each then
    sent to the server as a session view (Arrow); the source's location (no password) and each
    raw relation's typed SELECT."""
    import duckdb

    from greenery_cli.raw_load import check_keys
    from greenery_cli.sources.postgres import PostgresSource
    from greenery_cli.warehouse import Warehouse

    source = PostgresSource(spec)
    for secret in source.url.secrets:
        engine.hide(secret)
    staged: list[tuple[str, str]] = []
    try:
        source.check(tables)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            here = Warehouse(path=Path(":memory:"), con=con, read_only=False)
            for table in tables:
                name = f"greenery_raw_{table.name}"
                source.stage(here, table, name, temporary=True)
                check_keys(here, table, name, f"{source.location} {table.name}")
                engine.send_arrow(con.sql(f"select * from {name}").to_arrow_table(), name)
                here.execute(f"drop table {name}")
                staged.append((f"raw.{table.name}", _typed(table, name)))
    finally:
        source.close()
    return source.location, staged


def _check_keys(
    engine: SparkEngine,
    csv: Path | str,
    select: str,
    key: tuple[str, ...],
    required: tuple[str, ...],
) -> None:
    for column in dict.fromkeys((*key, *required)):
        nulls = int(
            engine.scalar(f"select count(*) from ({select}) where {_quoted(column)} is null")
        )
        if nulls:
            raise DataError(f"{csv}: {nulls} row(s) with empty {column}")
    if key:
        columns = ", ".join(_quoted(k) for k in key)
        dupes = engine.rows(
            f"select {columns}, count(*) as n from ({select}) group by {columns} "
            f"having count(*) > 1 order by {columns} limit 3"
        )
        if dupes:
            shown = "; ".join(
                "(" + ", ".join(repr(v) for v in row[:-1]) + f") x{row[-1]}" for row in dupes
            )
            raise DataError(f"{csv}: duplicate primary key ({', '.join(key)}): {shown}")


def load_on_spark(
    engine: SparkEngine, source: str | None, run_id: int = 0, select: tuple[str, ...] = ()
) -> SparkLoadResult:
    """Check every export and seed, then write them and build every model; with `select`, only
    the models DuckDB's load chooses and the raw tables and seeds they read (load.py `plan`).
    With a `run_id`, append what was done to the run log's tables (which must exist)."""
    from greenery_cli.build import check_inputs
    from greenery_cli.engine.state import BuildState
    from greenery_cli.load import plan
    from greenery_cli.models import build_order, discover
    from greenery_cli.project import current
    from greenery_cli.raw_load import TableLoad
    from greenery_cli.seeds import declared_seeds

    if source is None:
        raise UsageError(
            "load on the Spark engine needs --source DIR or --source postgresql://... "
            "(no remembered source)"
        )
    models = discover()
    if select:
        on_spark: Any = engine  # BuildState reads through the engine's rows()
        state = BuildState.read(on_spark)
        order, tables, seeds = plan(select, models, current().sources, declared_seeds(), state)
    else:
        order, tables, seeds = build_order(models), current().sources, declared_seeds()
    kind = _source_kind(source)
    staged: list[tuple[str, str]] = []  # (relation, typed select)
    if kind == "postgres":  # read here: the server may have no JDBC driver
        folder, staged = _send_database(engine, source, tables)
    elif "://" not in source:  # a folder on this machine, which a local server reads
        files = FileSource(source)
        folder = str(files.folder.resolve())
        files.check(tables)
        exports = {t.name: _local_exports(files, t) for t in tables}
    else:
        folder, exports = _remote_exports(engine, source, tables)
    engine.ensure_schemas()
    for table in tables if kind != "postgres" else ():
        found = exports[table.name]
        select_raw = _stage_raw(engine, found, table)
        where = found[0].label if len(found) == 1 else f"{folder}/{table.name}/"
        _check_keys(engine, where, select_raw, table.primary_key, table.not_null)
        staged.append((f"raw.{table.name}", select_raw))
    for seed in seeds:
        select_seed = _stage(
            engine, seed.path, f"greenery_seed_{seed.name}", seed.columns, sent=True
        )
        _check_keys(engine, seed.path, select_seed, seed.primary_key, ())
        staged.append((f"seeds.{seed.name}", select_seed))
    if select:  # what the chosen models read from outside the load is there already
        check_inputs(_AfterLoad(state.relations, [r for r, _ in staged]), models, order)
    result = SparkLoadResult(source=folder, kind=kind)
    built_before = _built_before(engine) if run_id else set()
    for relation, typed in staged:  # everything checked: now write
        engine.create_table_as(relation, typed)
        rows = int(engine.scalar(f"select count(*) from {relation}"))
        result.tables[relation] = rows
        result.loads.append(TableLoad(relation, "loaded", rows, rows, "loaded in full"))
    done = SparkBuilds()
    build_in_order(
        engine,
        [m for m in order if m.in_warehouse],  # an ephemeral model is inlined into its readers
        lambda m: REBUILT if m.name in built_before else "never built",
        done,
    )
    result.builds, result.models, result.notes = done.builds, done.kinds, done.notes
    if run_id:
        _record(engine, run_id, result)
    return result


def _source_kind(source: str) -> str:
    """postgres for a database connection (sources.source_kind's rules), else files: a folder
    here, or a folder URL the server reads (s3a://, hdfs://, file://...)."""
    from greenery_cli.sources import source_kind

    scheme = source.split("://", 1)[0].lower() if "://" in source else None
    if scheme is not None and not scheme.startswith("postgres"):
        return "files"
    return source_kind(source)


@dataclass(frozen=True)
class _AfterLoad:
    """The catalogue as it will be once the staged tables are written (build.check_inputs)."""

    present: dict[str, str]
    loading: list[str]

    def relations(self) -> dict[str, str]:
        return {**self.present, **dict.fromkeys(self.loading, "TABLE")}


def _built_before(engine: SparkEngine) -> set[str]:
    return {row[0] for row in engine.rows("select distinct model from meta.model_builds")}


def _record(engine: SparkEngine, run_id: int, result: SparkLoadResult) -> None:
    """The load's rows in meta.loads, meta.model_builds and meta.changes (one INSERT each)."""
    from greenery_cli.engines.spark.meta import append
    from greenery_cli.models import discover

    now = datetime.now(UTC)
    models = discover()
    raw = [t for t in result.loads if t.relation.startswith("raw.")]
    append(
        engine,
        "loads",
        [
            [run_id, t.relation.removeprefix("raw."), result.kind, result.source, t.rows, now]
            + [t.action, t.rows_added]
            for t in raw
        ],
    )
    builds, model_changes = logged_rows(run_id, models, result.builds)
    append(engine, "model_builds", builds)
    # every table and view was rewritten whole: one `throughout` change each, as on DuckDB
    changes = [[run_id, t.relation, "throughout", None, None, t.rows] for t in result.loads]
    append(engine, "changes", changes + model_changes)


def spark_load(
    spec: EngineSpec,
    source: str | None,
    selectors: tuple[str, ...],
    full_refresh: bool,
    wait: float = 10.0,
) -> str:
    """What the CLI calls: load, and say what was done."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.meta import ensure, recorded_run
    from greenery_cli.load import LoadResult, load_summary
    from greenery_cli.sources import check_spec, redact_location

    if source is not None and _source_kind(source) == "postgres":
        check_spec(source)  # a malformed connection refused before connecting, as on DuckDB
    # every table a Spark load loads is loaded in full; the run log records what was asked
    args: dict[str, Any] = {
        "source": redact_location(source) if source else source,
        "select": list(selectors),
        "full_refresh": full_refresh,
    }
    with connect(spec) as engine:
        with recorded_run(engine, "load", args, wait=wait) as (_log, run):
            ensure(engine, META_TABLES)
            result = load_on_spark(engine, source, run.run_id, selectors)
            logged = LoadResult(run.run_id, result.kind, result.source, loads=result.loads)
            logged.models = result.builds
            run.rows_affected = logged.rows_added
            run.message = load_summary(logged)
    rows = sum(n for r, n in result.tables.items() if r.startswith("raw."))
    raw = sum(1 for r in result.tables if r.startswith("raw."))
    seeds = len(result.tables) - raw
    notes = "".join(f"; {note}" for note in result.notes)
    return (
        f"loaded {raw} raw tables ({rows} rows) and {seeds} seeds, built {len(result.models)} "
        f"models on {spec.shown} from {result.source}{notes} (run {run.run_id})"
    )
