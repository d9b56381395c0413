"""`greenery load`: the raw contract, all-or-nothing loads, and the real dataset's counts."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import RAW_TABLE_NAMES
from hypothesis import given, settings
from hypothesis import strategies as st

from greenery_cli.errors import ExitCode


def readme_row_counts(real_data: Path) -> dict[str, int]:
    """The row counts the dataset's own README states, parsed from its table."""
    counts = {}
    for line in (real_data / "README.md").read_text().splitlines():
        match = re.match(r"\|\s*(\w+)\s*\|\s*(\d+)\s*\|", line)
        if match:
            counts[match.group(1)] = int(match.group(2))
    return counts


def table_counts(db: Path, schema: str, names: list[str]) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {n: con.execute(f"select count(*) from {schema}.{n}").fetchone()[0] for n in names}


def snapshot_of(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: sorted(con.execute(f"select * from raw.{t}").fetchall(), key=repr)
            for t in RAW_TABLE_NAMES
        }


def test_real_counts_match_the_dataset_readme(loaded_real_warehouse: Path, real_data: Path) -> None:
    expected = readme_row_counts(real_data)
    assert set(expected) == set(RAW_TABLE_NAMES)
    assert table_counts(loaded_real_warehouse, "raw", list(RAW_TABLE_NAMES)) == expected
    staged = table_counts(loaded_real_warehouse, "staging", [f"stg_{t}" for t in RAW_TABLE_NAMES])
    assert {k.removeprefix("stg_"): v for k, v in staged.items()} == expected


def test_one_session_row_per_distinct_session(loaded_real_warehouse: Path, real_data: Path) -> None:
    with (real_data / "raw" / "events.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    sessions = {r["session_id"] for r in rows}
    checkouts = {r["session_id"]: r["order_id"] for r in rows if r["event_type"] == "checkout"}
    with duckdb.connect(str(loaded_real_warehouse), read_only=True) as con:
        got = con.execute("select session_id, order_id from intermediate.int_sessions").fetchall()
        views = con.execute("select sum(page_views) from intermediate.int_sessions").fetchone()[0]
    assert len(got) == len(sessions)
    assert {s for s, _ in got} == sessions
    assert {s: o for s, o in got if o} == checkouts
    assert views == sum(1 for r in rows if r["event_type"] == "page_view")


def test_timestamps_are_utc_whatever_tz_says(loaded_real_warehouse: Path) -> None:
    with duckdb.connect(str(loaded_real_warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        first = con.execute(
            "select strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') from raw.events "
            "where event_id = '5c357e7e-2b8d-4a59-ae41-816f8e5f45d6'"
        ).fetchone()[0]
    assert first == "2021-02-11T23:30:33Z"


def test_seeds_are_used_by_models(loaded_real_warehouse: Path) -> None:
    with duckdb.connect(str(loaded_real_warehouse), read_only=True) as con:
        unmatched = con.execute(
            "select count(*) from intermediate.int_addresses_geo where state_code is null"
        ).fetchone()[0]
        ca = con.execute(
            "select distinct state_code, region from intermediate.int_addresses_geo "
            "where state = 'California'"
        ).fetchall()
    assert unmatched == 0
    assert ca == [("CA", "West")]


def test_load_remembers_its_source(cli, raw_copy: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    assert cli("--db", db, "load", "--source", str(raw_copy)).exit_code == 0
    again = cli("--db", db, "load")
    assert again.exit_code == 0, again.stderr
    assert str(raw_copy.resolve()) in again.stderr


def test_load_without_any_source_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path / "w.duckdb"), "load")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "--source" in result.stderr


def test_parquet_exports_load_like_csv(raw_copy: Path, tmp_path: Path, cli) -> None:
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    with duckdb.connect() as con:
        for table in RAW_TABLE_NAMES:
            con.execute(
                f"copy (select * from read_csv('{raw_copy / table}.csv', all_varchar = true)) "
                f"to '{parquet / table}.parquet'"
            )
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert cli("--db", str(a), "load", "--source", str(raw_copy)).exit_code == 0
    result = cli("--db", str(b), "load", "--source", str(parquet))
    assert result.exit_code == 0, result.stderr
    assert snapshot_of(a) == snapshot_of(b)


# --- bad input: a clear message naming what is wrong, non-zero exit, warehouse untouched ---


def rewrite(path: Path, transform) -> None:
    lines = path.read_text().split("\n")
    path.write_text("\n".join(transform(lines)))


@pytest.fixture
def loaded_then_broken(cli, raw_copy: Path, tmp_path: Path):
    db = tmp_path / "w.duckdb"
    assert cli("--db", str(db), "load", "--source", str(raw_copy)).exit_code == 0
    return db, raw_copy, snapshot_of(db)


def assert_untouched(db: Path, before: dict) -> None:
    assert snapshot_of(db) == before


def test_unparseable_value_names_file_line_and_column(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(source / "products.csv", lambda ls: [ls[0], ls[1].rsplit(",", 1)[0] + ",lots", *ls[2:]])
    (source / "events.csv").write_text((source / "events.csv").read_text())  # untouched tables
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "products.csv line 2" in result.stderr
    assert "column inventory" in result.stderr
    assert "'lots'" in result.stderr
    assert result.stdout == ""
    assert_untouched(db, before)


def test_missing_column_names_it(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(
        source / "orders.csv", lambda ls: [ls[0].replace("shipping_cost", "ship_cost"), *ls[1:]]
    )
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "orders.csv" in result.stderr and "missing column(s) shipping_cost" in result.stderr
    assert "ship_cost" in result.stderr
    assert_untouched(db, before)


def test_duplicate_primary_key_names_the_key(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(source / "events.csv", lambda ls: [*ls, ls[5]])
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    event_id = (source / "events.csv").read_text().split("\n")[5].split(",")[0]
    assert "duplicate primary key (event_id)" in result.stderr and event_id in result.stderr
    assert_untouched(db, before)


def test_duplicate_composite_key_in_order_items(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(source / "order_items.csv", lambda ls: [*ls, ls[1].rsplit(",", 1)[0] + ",9"])
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "duplicate primary key (order_id, product_id)" in result.stderr
    assert_untouched(db, before)


def test_empty_primary_key_names_the_row(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(source / "users.csv", lambda ls: [ls[0], ls[1], "," + ls[2].split(",", 1)[1], *ls[3:]])
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "empty user_id" in result.stderr and "data rows 2" in result.stderr
    assert_untouched(db, before)


def test_empty_key_in_a_big_file_names_its_rows_in_file_order(cli, loaded_then_broken) -> None:
    # a stored raw table keeps no row order (its load is faster without): 400,000 users in 40 row
    # groups come back shuffled by two threads, so the rows named are counted in the file
    db, source, before = loaded_then_broken
    users = source / "users.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * exclude (n) replace (case when n in (5, 390000) then null else "
            f"'user-' || n end as user_id) from (select u.*, t.range + 1 as n from "
            f"(select * from read_csv('{source / 'users.csv'}') limit 1) as u, range(400000) as t) "
            f"order by n) to '{users}' (row_group_size 10000)"
        )
        rows = con.execute(f"select count(*) from '{users}'").fetchone()
    assert rows is not None and rows[0] > 390000
    (source / "users.csv").unlink()
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "2 row(s) with empty user_id in raw table users (data rows 5, 390000)" in result.stderr
    assert_untouched(db, before)


def test_empty_key_in_a_folder_of_files_names_the_file(cli, raw_copy: Path, tmp_path: Path) -> None:
    # users as a folder of two batch files, the second's third data row without its key
    lines = (raw_copy / "users.csv").read_text().split("\n")
    (raw_copy / "users").mkdir()
    (raw_copy / "users" / "a.csv").write_text("\n".join(lines[:4]))
    second = [lines[0], *lines[4:7]]
    second[3] = "," + second[3].split(",", 1)[1]
    (raw_copy / "users" / "b.csv").write_text("\n".join(second))
    (raw_copy / "users.csv").unlink()
    db = tmp_path / "w.duckdb"
    result = cli("--db", str(db), "load", "--source", str(raw_copy))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "1 row(s) with empty user_id in raw table users (b.csv data rows 3)" in result.stderr
    assert not db.exists()


def test_ragged_row_names_the_line(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    rewrite(source / "promos.csv", lambda ls: [*ls[:3], ls[3] + ",extra", *ls[4:]])
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "promos.csv line 4" in result.stderr
    assert_untouched(db, before)


def test_missing_table_file_is_named(cli, loaded_then_broken) -> None:
    db, source, before = loaded_then_broken
    (source / "promos.csv").unlink()
    result = cli("--db", str(db), "load", "--source", str(source))
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "promos" in result.stderr
    assert_untouched(db, before)


def test_failed_load_is_recorded_in_the_run_log(cli, loaded_then_broken) -> None:
    db, source, _ = loaded_then_broken
    rewrite(source / "events.csv", lambda ls: [*ls, ls[5]])
    assert cli("--db", str(db), "load", "--source", str(source)).exit_code == 1
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute(
            "select command, status, message from meta.runs order by run_id"
        ).fetchall()
    assert [r[:2] for r in runs] == [("load", "success"), ("load", "error")]
    assert "duplicate primary key" in runs[1][2]


def test_query_is_read_only_and_formats_json(cli, loaded_then_broken) -> None:
    import json

    db, _, _ = loaded_then_broken
    result = cli(
        "--db", str(db), "query", "select count(*) as n from raw.products", "--format", "json"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"n": 30}]
    write = cli("--db", str(db), "query", "delete from raw.products")
    assert write.exit_code == ExitCode.TOOL_ERROR
    assert "read-only" in write.stderr.lower()


def test_load_accepts_the_dataset_root_and_what_generate_writes(
    cli, real_data: Path, tmp_path: Path
) -> None:
    # the shared dataset's root: raw/ beside inventory-weeks/
    db = tmp_path / "root.duckdb"
    result = cli("--db", str(db), "load", "--source", str(real_data))
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select location from meta.source").fetchall() == [
            (str((real_data / "raw").resolve()),)
        ]
        assert con.execute("select count(*) from raw.events").fetchone() == (3553,)
    # the folder `greenery generate` writes
    out = tmp_path / "sample"
    assert cli("generate", str(out), "--scale", "0.05").exit_code == 0
    generated = cli("--db", str(tmp_path / "gen.duckdb"), "load", "--source", str(out))
    assert generated.exit_code == 0, generated.stderr
    assert str((out / "raw").resolve()) in generated.stderr
    # a folder with neither exports nor raw/ still names what is missing
    (tmp_path / "empty").mkdir()
    empty = cli("--db", str(tmp_path / "e.duckdb"), "load", "--source", str(tmp_path / "empty"))
    assert empty.exit_code == ExitCode.TOOL_ERROR and "missing raw table file(s)" in empty.stderr


# the repeated keys the duplicate check reports, against a brute-force count (composite keys,
# NULLs, more repeated keys than it shows)
key_rows = st.lists(
    st.tuples(st.one_of(st.none(), st.sampled_from("abcdefgh")), st.integers(0, 3)), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(rows=key_rows)
def test_duplicate_keys_are_those_a_plain_count_finds(rows: list[tuple[str | None, int]]) -> None:
    from collections import Counter

    from greenery_cli.sql import render

    def null_last(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is None, v) for v in row)

    repeated = sorted(((*k, n) for k, n in Counter(rows).items() if n > 1), key=null_last)
    with duckdb.connect() as con:
        con.execute("create table t (k varchar, j integer)")
        if rows:
            con.executemany("insert into t values (?, ?)", rows)
        found = con.execute(render("load/duplicate_keys.sql", keys=["k", "j"], relation="t"))
        assert found.fetchall() == repeated[:5]
        singles = Counter(k for k, _ in rows)
        found = con.execute(render("load/duplicate_keys.sql", keys=["k"], relation="t"))
        expected = sorted(((k, n) for k, n in singles.items() if n > 1), key=null_last)
        assert found.fetchall() == expected[:5]
