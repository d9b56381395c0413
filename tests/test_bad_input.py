"""Bad input, refused cleanly: every broken file gets one line naming the fault, the right exit
code, no traceback, and the warehouse keeps exactly what it held. Whatever loads is answerable
by every command (the values are checked against their declared types, exactly).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import RAW_TABLE_NAMES, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenery_cli.errors import ExitCode


def fingerprint(db: Path) -> dict[str, tuple[Any, ...]]:
    """Each table's row count and an order-free hash of its rows; the run log left out (a
    refused run is logged there, and nothing else may change)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name <> 'meta' or table_name not in ('runs') order by all"
        ).fetchall()
        return {
            name: con.execute(
                f"select count(*), sum(hash(r)::hugeint) from (select * from {name}) as r"
            ).fetchone()
            for (name,) in tables
        }


@pytest.fixture(scope="module")
def loaded(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The real exports, CSV and Parquet, and a warehouse loaded from them (copied per test)."""
    from greenery_cli.load import LoadSettings, load

    root = tmp_path_factory.mktemp("bad-input")
    parquet = root / "parquet"
    parquet.mkdir()
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for table in RAW_TABLE_NAMES:
            # typed as the contract declares, so each case breaks exactly one thing
            con.execute(
                f"copy (select * from read_csv('{real_data / 'raw' / table}.csv')) "
                f"to '{parquet / table}.parquet'"
            )
    db = root / "w.duckdb"
    load(LoadSettings(db=db, source=str(real_data / "raw")))
    return db, parquet


@pytest.fixture
def warehouse(loaded: tuple[Path, Path], tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copy(loaded[0], db)
    return db


def refused(db: Path, source: Path, code: int, *fragments: str) -> str:
    before = fingerprint(db)
    result = run_cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    for word in ("Traceback", "internal error", "panicked", "Possible Solution"):
        assert word not in result.stderr
    assert fingerprint(db) == before
    return lines[0]


# --- CSV ---------------------------------------------------------------------------------


def edit_line(number: int, column: str, value: str) -> Callable[[list[str]], list[str]]:
    """Replace one field of line `number` (1 = the header) by `value`."""

    def edit(lines: list[str]) -> list[str]:
        header = lines[0].split(",")
        fields = lines[number - 1].split(",")
        fields[header.index(column)] = value
        lines[number - 1] = ",".join(fields)
        return lines

    return edit


CSV_VALUES = [
    # table, line, column, value, what the message says of it
    ("products", 2, "inventory", "12.5", "is not a valid INTEGER (a whole number"),
    ("products", 3, "inventory", "1e2", "is not a valid INTEGER"),
    ("products", 4, "inventory", "0x1F", "is not a valid INTEGER"),
    ("order_items", 5, "quantity", "99999999999", "is not a valid INTEGER"),
    ("products", 2, "price", "nan", "is not a valid DOUBLE (a finite number)"),
    ("orders", 3, "order_cost", "1e400", "is not a valid DOUBLE"),
    ("orders", 3, "shipping_cost", "1_0.5", "is not a valid DOUBLE"),
    ("events", 7, "created_at", "294246-01-01T00:00:00Z", "is not a valid TIMESTAMPTZ (a moment"),
    ("events", 7, "created_at", "infinity", "is not a valid TIMESTAMPTZ"),
    (
        "users",
        4,
        "created_at",
        "1800-01-01T00:00:00Z",
        "is not a valid TIMESTAMPTZ (a moment "
        "from 1900-01-01 to before 2200-01-01, to the microsecond)",
    ),
    ("orders", 2, "delivered_at", "2021-02-17T23:30:34.1234567Z", "is not a valid TIMESTAMPTZ"),
    ("events", 3, "created_at", "yesterday", "is not a valid TIMESTAMPTZ"),
]


@pytest.mark.parametrize(
    ("table", "line", "column", "value", "said"),
    CSV_VALUES,
    ids=[f"{t}.{c}={v}" for t, _, c, v, _ in CSV_VALUES],
)
def test_a_value_that_is_not_exactly_its_declared_type_is_refused(
    warehouse: Path, raw_copy: Path, table: str, line: int, column: str, value: str, said: str
) -> None:
    path = raw_copy / f"{table}.csv"
    path.write_text("\n".join(edit_line(line, column, value)(path.read_text().split("\n"))))
    refused(
        warehouse,
        raw_copy,
        ExitCode.WORK_FAILED,
        f"{path} line {line} (data row {line - 1}), column {column}: {value!r} {said}",
    )


def test_the_line_counts_newlines_inside_quoted_fields(warehouse: Path, raw_copy: Path) -> None:
    path = raw_copy / "products.csv"
    lines = path.read_text().split("\n")
    fields = lines[1].split(",")
    fields[1] = '"Two\nline name"'
    lines[1] = ",".join(fields)
    lines = edit_line(4, "inventory", "4.5")(lines)
    path.write_text("\n".join(lines))
    refused(warehouse, raw_copy, ExitCode.WORK_FAILED, "products.csv line 5 (data row 3)")


def write_bytes(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


CSV_FILES: list[tuple[str, str, Callable[[bytes], bytes], int, tuple[str, ...]]] = [
    (
        "undecodable-bytes",
        "users",
        lambda b: b.replace(b"Keslie", b"K\xe9slie", 1),
        ExitCode.WORK_FAILED,
        ("users.csv line 2", "not UTF-8"),
    ),
    (
        "undecodable-header",
        "promos",
        lambda b: b"promo_\xff" + b[len("promo_") :],
        ExitCode.WORK_FAILED,
        ("promos.csv line 1", "not UTF-8"),
    ),
    (
        "over-long-field",
        "promos",
        lambda b: b.replace(b"inactive", b"x" * 3_000_000, 1),
        ExitCode.WORK_FAILED,
        ("promos.csv line 2", "longer than the 2,000,000 bytes a line may have"),
    ),
    (
        "over-long-header",
        "promos",
        lambda b: b"x" * 200_000 + b,
        ExitCode.WORK_FAILED,
        ("promos.csv line 1",),
    ),
    (
        "unterminated-quote",
        "promos",
        lambda b: b.replace(b"task-force", b'"task-force', 1),
        ExitCode.WORK_FAILED,
        ("promos.csv line 2", "quoted field is never closed"),
    ),
    (
        "ragged-row",
        "promos",
        lambda b: b.replace(b"task-force,2,inactive", b"task-force,2,inactive,extra", 1),
        ExitCode.WORK_FAILED,
        ("promos.csv line 2", "expected 3 fields, found 4"),
    ),
    ("empty-file", "promos", lambda b: b"", ExitCode.WORK_FAILED, ("promos.csv: empty file",)),
    (
        "header-only-events",
        "events",
        lambda b: b.split(b"\n", 1)[0] + b"\n",
        ExitCode.WORK_FAILED,
        ("raw table events would shrink from", "to 0 rows", "--allow-shrink"),
    ),
    (
        "truncated-export",
        "orders",
        lambda b: b"\n".join(b.split(b"\n")[:100]),
        ExitCode.WORK_FAILED,
        ("raw table orders would shrink from 361 to 99 rows (-73%", "max_shrink"),
    ),
]


@pytest.mark.parametrize(
    ("table", "change", "code", "fragments"),
    [case[1:] for case in CSV_FILES],
    ids=[case[0] for case in CSV_FILES],
)
def test_a_broken_csv_file_is_refused_with_one_line_naming_the_fault(
    warehouse: Path,
    raw_copy: Path,
    table: str,
    change: Callable[[bytes], bytes],
    code: int,
    fragments: tuple[str, ...],
) -> None:
    write_bytes(raw_copy / f"{table}.csv", change)
    refused(warehouse, raw_copy, code, *fragments)


def test_a_shrink_loads_when_allowed(warehouse: Path, raw_copy: Path) -> None:
    write_bytes(raw_copy / "events.csv", lambda b: b.split(b"\n", 1)[0] + b"\n")
    result = run_cli("--db", str(warehouse), "load", "--source", str(raw_copy), "--allow-shrink")
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.events").fetchone() == (0,)


def test_a_truncated_products_export_is_not_snapshotted_as_mass_deletion(
    warehouse: Path, raw_copy: Path
) -> None:
    first = run_cli("--db", str(warehouse), "snapshot", "--source", str(raw_copy))
    assert first.exit_code == 0, first.stderr
    before = fingerprint(warehouse)
    # the first 10 of the 30 products: the other 20 would be marked deleted (67%)
    write_bytes(raw_copy / "products.csv", lambda b: b"\n".join(b.split(b"\n")[:11]) + b"\n")
    result = run_cli("--db", str(warehouse), "snapshot", "--source", str(raw_copy))
    assert result.exit_code == ExitCode.WORK_FAILED, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "would mark 20 of the 30 current products deleted (67%" in lines[0]
    assert "max_deleted" in lines[0] and "--allow-shrink" in lines[0]
    assert fingerprint(warehouse) == before
    allowed = run_cli(
        "--db", str(warehouse), "snapshot", "--source", str(raw_copy), "--allow-shrink"
    )
    assert allowed.exit_code == 0, allowed.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        deleted = con.execute(
            "select count(*) from snapshots.products_snapshot where valid_to is null and is_deleted"
        ).fetchone()
    assert deleted == (20,)


def test_a_byte_order_mark_and_padded_numbers_are_fine(warehouse: Path, raw_copy: Path) -> None:
    path = raw_copy / "products.csv"
    lines = edit_line(2, "inventory", " 40 ")(path.read_text().split("\n"))
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    result = run_cli("--db", str(warehouse), "load", "--source", str(raw_copy))
    assert result.exit_code == 0, result.stderr


# --- Parquet -----------------------------------------------------------------------------


def rewrite_parquet(folder: Path, table: str, select: str) -> Path:
    path = folder / f"{table}.parquet"
    query = select.format(path=f"read_parquet('{path}')")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"copy ({query}) to '{path}.new' (format parquet)")
    Path(f"{path}.new").replace(path)
    return path


PARQUET = [
    (
        "fraction-in-integer",
        "products",
        "select * replace (case when name = 'Pothos' then 12.5 else inventory end "
        "::double as inventory) from {path}",
        ("products.parquet row 1, column inventory: '12.5' is not a valid INTEGER",),
    ),
    (
        "text-in-integer",
        "products",
        "select * replace (case when name = 'Bamboo' then 'lots' else inventory::varchar end "
        "as inventory) from {path}",
        ("products.parquet row 2, column inventory: 'lots' is not a valid INTEGER",),
    ),
    (
        "wrong-column-type",
        "products",
        "select * replace (date '2024-01-01' + inventory::integer as inventory) from {path}",
        (
            "products.parquet: wrong column type(s): inventory is DATE, the raw contract "
            "declares INTEGER",
        ),
    ),
    (
        "absurd-timestamp",
        "events",
        "select * replace (case when row_number() over () = 3 then timestamptz "
        "'3000-01-01 00:00:00+00' else created_at end as created_at) from {path}",
        ("events.parquet row 3, column created_at", "is not a valid TIMESTAMPTZ"),
    ),
    (
        "nanoseconds",
        "events",
        "select * replace (case when row_number() over () = 2 then "
        "make_timestamp_ns(epoch_ns(created_at) + 1) else created_at::timestamp_ns end "
        "as created_at) from {path}",
        ("events.parquet row 2, column created_at", "to the microsecond"),
    ),
]


@pytest.mark.parametrize(
    ("table", "select", "fragments"),
    [case[1:] for case in PARQUET],
    ids=[case[0] for case in PARQUET],
)
def test_a_broken_parquet_file_is_refused_with_one_line_naming_the_fault(
    warehouse: Path,
    loaded: tuple[Path, Path],
    tmp_path: Path,
    table: str,
    select: str,
    fragments: tuple[str, ...],
) -> None:
    source = tmp_path / "parquet"
    shutil.copytree(loaded[1], source)
    rewrite_parquet(source, table, select)
    refused(warehouse, source, ExitCode.WORK_FAILED, *fragments)


def test_whole_numbers_stored_as_doubles_load_exactly(
    warehouse: Path, loaded: tuple[Path, Path], tmp_path: Path
) -> None:
    source = tmp_path / "parquet"
    shutil.copytree(loaded[1], source)
    rewrite_parquet(
        source, "products", "select * replace (inventory::double as inventory) from {path}"
    )
    result = run_cli("--db", str(warehouse), "load", "--source", str(source))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("cut", [0.5, 0.99, 0.0])
def test_a_truncated_parquet_file_is_named(
    warehouse: Path, loaded: tuple[Path, Path], tmp_path: Path, cut: float
) -> None:
    source = tmp_path / "parquet"
    shutil.copytree(loaded[1], source)
    path = source / "orders.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)] if cut else b"not parquet at all")
    refused(warehouse, source, ExitCode.WORK_FAILED, f"{path}: not a whole Parquet file")


# --- anything that loads is answerable by every command -----------------------------------


def test_the_edges_of_the_declared_ranges_load_and_every_command_answers(
    warehouse: Path, raw_copy: Path
) -> None:
    path = raw_copy / "events.csv"
    lines = path.read_text().split("\n")
    lines = edit_line(2, "created_at", "1900-01-01T00:00:00Z")(lines)
    lines = edit_line(3, "created_at", "2199-12-31T23:59:59.999999Z")(lines)
    path.write_text("\n".join(lines))
    loaded = run_cli("--db", str(warehouse), "load", "--source", str(raw_copy))
    assert loaded.exit_code == 0, loaded.stderr
    for command, worst in (
        (["funnel", "--by-step"], 0),
        (["funnel", "--by", "product"], 0),
        (["funnel", "--trend", "week"], 0),
        (["query", "select * from raw.events order by created_at"], 0),
        (["query", "select * from marts.fct_funnel_events"], 0),
        (["freshness"], ExitCode.WORK_FAILED),  # the shop's 2021 data is stale today: exit 1
        (["report"], 0),
    ):
        for fmt in ("table", "json"):
            result = run_cli("--db", str(warehouse), *command, "--format", fmt)
            assert result.exit_code <= worst, (command, fmt, result.stderr)
            for word in ("Traceback", "internal error", "panicked"):
                assert word not in result.stderr, (command, result.stderr)


# --- property: a broken CSV is either loaded exactly or refused with one clear line ---------

INTEGER_TOKENS = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(str),
    st.sampled_from(["12.5", "1e2", "0x1F", "1_000", "", "lots", "99999999999", " 7 ", "+3"]),
)
NUMBER_TOKENS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "1_0.5", "abc", "", "3.", ".5", "1e-3"]),
)
NAME_TOKENS = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def reference_value(text: str, declared: str) -> tuple[bool, Any]:
    """(accepted, value) for one field by the documented rules, written out in plain Python."""
    import math
    import re

    if text == "":
        return True, None
    if declared == "INTEGER":
        if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
            return False, None
        value = int(text)
        return -(2**31) <= value < 2**31, value
    if declared == "DOUBLE":
        if not re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", text):
            return False, None
        number = float(text)
        return math.isfinite(number), number
    return True, text


@st.composite
def product_exports(
    draw: st.DrawFn,
) -> tuple[bytes, list[tuple[Any, ...]] | None, set[tuple[int, str]]]:
    """A products.csv, maybe corrupted at the byte level; the rows it must load as (None when
    it must be refused, or when a corruption leaves the outcome to the reader); and for each
    column with a bad value, the line of its first one (what a refusal may name)."""
    import csv
    import io

    count = draw(st.integers(min_value=0, max_value=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    # csv.writer quotes only the line ending's characters: with \n endings a bare \r in a name
    # would be written unquoted, which every CSV reader takes for a line break
    names = NAME_TOKENS.map(lambda n: n.replace("\r", "") if ending == "\n" else n)
    rows = [(f"p{i}", draw(names), draw(NUMBER_TOKENS), draw(INTEGER_TOKENS)) for i in range(count)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(["product_id", "name", "price", "inventory"])
    starts = []
    for row in rows:
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow(row)
    data = buffer.getvalue().encode()
    corruption = draw(st.sampled_from(["none", "none", "byte", "quote", "cut", "field"]))
    if corruption != "none" and data:
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = {
            "byte": data[:at] + b"\xff" + data[at:],
            "quote": data[:at] + b'"' + data[at:],
            "cut": data[:at],
            "field": data[:at] + b"," + data[at:],
        }[corruption]
        return data, None, set()
    expected: list[tuple[Any, ...]] | None = []
    first_bad: dict[str, int] = {}
    for line, (product_id, name, price, inventory) in zip(starts, rows, strict=True):
        ok_price, price_value = reference_value(price, "DOUBLE")
        ok_inventory, inventory_value = reference_value(inventory, "INTEGER")
        for ok, column in ((ok_price, "price"), (ok_inventory, "inventory")):
            if not ok:
                first_bad.setdefault(column, line)
        if expected is not None and ok_price and ok_inventory:
            expected.append((product_id, name or None, price_value, inventory_value))
        else:
            expected = None
    return data, expected, {(line, column) for column, line in first_bad.items()}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(export=product_exports())
def test_property_a_csv_loads_exactly_or_is_refused_with_one_line(
    tmp_path: Path, export: tuple[bytes, list[tuple[Any, ...]] | None, set[tuple[int, str]]]
) -> None:
    from conftest import raw_table

    from greenery_cli.errors import DataError
    from greenery_cli.sources.files import FileSource
    from greenery_cli.warehouse import Warehouse

    data, expected, bad = export
    folder = tmp_path / "exports"
    folder.mkdir(exist_ok=True)
    (folder / "products.csv").write_bytes(data)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema raw")
        wh = Warehouse(path=tmp_path / "w.duckdb", con=con, read_only=False)
        try:
            FileSource(folder).stage(wh, raw_table("products"), "raw.products")
        except DataError as exc:
            message = str(exc)
            assert "\n" not in message and str(folder / "products.csv") in message
            assert "Possible Solution" not in message
            assert expected is None, f"refused a good file: {message}"
            if bad:  # a well-formed file with bad values: the first bad one of a column named
                assert any(
                    f"line {line} " in message and f"column {column}:" in message
                    for line, column in bad
                ), (message, bad)
            return
        loaded = con.execute("select * from raw.products").fetchall()
    assert not bad, f"loaded bad values {bad}: {loaded}"
    if expected is not None:
        assert loaded == expected
    else:
        # a corrupted file that still parses: whatever loaded passed the same exact checks
        for _pid, _name, price, inventory in loaded:
            assert price is None or isinstance(price, float)
            assert inventory is None or isinstance(inventory, int)


# --- paths and data are never markup, control characters never reach the terminal --------

HOSTILE = "Fern \x1b[31mRED\x1b[0m [red]markup[/] \x9b2J \u202eeman\x07 :smile:"


def test_a_bracket_in_the_source_path_is_printed_literally(
    warehouse: Path, raw_copy: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "exports [bold]2024[/bold] [x" / "[/b] end"  # [/b] closes nothing
    shutil.copytree(raw_copy, odd)
    result = run_cli("--db", str(warehouse), "load", "--source", str(odd))
    assert result.exit_code == 0, result.stderr
    assert f"from {odd} (run" in result.stderr.replace("\n", " ").replace("  ", " ")
    assert "Traceback" not in result.stderr


def test_control_characters_in_data_are_shown_as_escapes_in_tables(
    warehouse: Path, raw_copy: Path
) -> None:
    import json

    path = raw_copy / "products.csv"
    lines = path.read_text().split("\n")
    fields = lines[1].split(",")
    fields[1] = '"' + HOSTILE.replace('"', '""') + '"'
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines))
    assert run_cli("--db", str(warehouse), "load", "--source", str(raw_copy)).exit_code == 0
    for args in (
        ["query", "select name from raw.products where name like 'Fern%'"],
        ["funnel", "--by", "product"],
        ["query", "select name from raw.products where name like 'Fern%'", "--format", "markdown"],
    ):
        result = run_cli("--db", str(warehouse), *args)
        assert result.exit_code == 0, result.stderr
        for raw in ("\x1b", "\x9b", "\u202e", "\x07"):
            assert raw not in result.stdout, (args, raw)
        assert "\\x1b[31mRED\\x1b[0m" in result.stdout and "\\u202e" in result.stdout, args
        assert "[red]markup[/]" in result.stdout and ":smile:" in result.stdout
    as_json = run_cli(
        "--db",
        str(warehouse),
        "query",
        "select name from raw.products where name like 'Fern%'",
        "--format",
        "json",
    )
    assert json.loads(as_json.stdout) == [{"name": HOSTILE}]  # machines get the data exactly


def test_an_error_naming_hostile_data_stays_one_literal_line(
    warehouse: Path, raw_copy: Path
) -> None:
    path = raw_copy / "products.csv"
    path.write_text(
        "\n".join(edit_line(2, "inventory", "[red]1\x1b[2J")(path.read_text().split("\n")))
    )
    line = refused(warehouse, raw_copy, ExitCode.WORK_FAILED, "column inventory: '[red]1\\x1b[2J'")
    assert "\x1b" not in line


def test_a_query_of_a_moment_python_cannot_hold_prints_it_not_a_panic(warehouse: Path) -> None:
    """Year 294000 (or infinity) is past Python's datetime: the answer comes as DuckDB spells it
    (query results are plain rows, which DuckDB hands over as text when a moment does not fit)."""
    import subprocess
    import sys

    for fmt in ("table", "json", "csv"):
        # a child process: a Rust panic writes to the real stderr, which an in-process run misses
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "greenery_cli",
                "--db",
                str(warehouse),
                "query",
                "select timestamp '294000-01-01 00:00:00' as t",
                "--format",
                fmt,
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert "294000-01-01 00:00:00" in result.stdout, (fmt, result.stdout)
        assert "panic" not in result.stderr and "Traceback" not in result.stderr


def test_a_header_name_holding_a_newline_is_refused_in_one_line(tmp_path: Path) -> None:
    """The case the property above found: a quoted header name with a line break in it."""
    from conftest import raw_table

    from greenery_cli.errors import DataError
    from greenery_cli.sources.files import FileSource
    from greenery_cli.warehouse import Warehouse

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "products.csv").write_bytes(b'"pro\nduct_id",name,price,inventory\np1,a,1.5,2\n')
    with duckdb.connect() as con:
        con.execute("create schema raw")
        wh = Warehouse(path=tmp_path / "w.duckdb", con=con, read_only=False)
        with pytest.raises(DataError) as caught:
            FileSource(folder).stage(wh, raw_table("products"), "raw.products")
    message = str(caught.value)
    assert "\n" not in message
    assert "missing column(s) product_id" in message and "pro\\nduct_id" in message
