"""`greenery build`: selectors, matrix selectors, dependency order, all or nothing, run log."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli
from tiny_project import make_project, make_warehouse

from greenery_cli.build import choose
from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.matrix import Node
from greenery_cli.models import Model


def model(name: str, layer: str, *depends_on: str) -> Model:
    return Model(name, layer, Path(f"{name}.sql"), "select 1", depends_on, (), (), "")


# stg_a ─┐
#        ├─ int_ab ─ fct_x ─ fct_z
# stg_b ─┘
#   └──── dim_y
GRAPH = {
    m.name: m
    for m in (
        model("stg_a", "staging"),
        model("stg_b", "staging"),
        model("int_ab", "intermediate", "stg_a", "stg_b"),
        model("fct_x", "marts", "int_ab"),
        model("fct_z", "marts", "fct_x"),
        model("dim_y", "marts", "stg_b"),
    )
}
CELLS = [
    Node("stg_a", "model", "Core", "daily"),
    Node("stg_b", "model", "Core", "daily"),
    Node("int_ab", "model", "Logistics", "daily"),
    Node("fct_x", "model", "Logistics", "hourly"),
    Node("fct_z", "model", "Marketing", "hourly"),
    Node("dim_y", "model", "Marketing", "daily"),
    Node("products_snapshot", "snapshot", "Product", "daily"),
]


def names(models: list[Model]) -> set[str]:
    return {m.name for m in models}


def assert_dependency_order(models: list[Model]) -> None:
    seen: set[str] = set()
    for m in models:
        assert not (set(m.depends_on) & set(names(models))) - seen, f"{m.name} before its inputs"
        seen.add(m.name)


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["dim_y"], {"dim_y"}),
        (["int_ab+"], {"int_ab", "fct_x", "fct_z"}),
        (["+fct_x"], {"stg_a", "stg_b", "int_ab", "fct_x"}),
        (["stg_b+"], {"stg_b", "int_ab", "fct_x", "fct_z", "dim_y"}),
        (["+int_ab+"], {"stg_a", "stg_b", "int_ab", "fct_x", "fct_z"}),
        (["fct_z", "dim_y"], {"fct_z", "dim_y"}),
        (["fct_z dim_y"], {"fct_z", "dim_y"}),
        (["+dim_y", "stg_a+"], {"stg_b", "dim_y", "stg_a", "int_ab", "fct_x", "fct_z"}),
        ([], set(GRAPH)),
    ],
)
def test_selectors_pick_exactly_the_expected_models(
    selectors: list[str], expected: set[str]
) -> None:
    chosen = choose(GRAPH, selectors)
    assert names(chosen) == expected
    assert len(chosen) == len(expected)
    assert_dependency_order(chosen)


@pytest.mark.parametrize(
    ("selectors", "frequency", "business_line", "expected"),
    [
        ([], "daily", None, {"stg_a", "stg_b", "int_ab", "dim_y"}),
        ([], "hourly", None, {"fct_x", "fct_z"}),
        ([], None, "Logistics", {"int_ab", "fct_x"}),
        ([], "daily", "Core", {"stg_a", "stg_b"}),
        (["int_ab+"], "hourly", None, {"fct_x", "fct_z"}),
        (["+fct_z"], None, "Core", {"stg_a", "stg_b"}),
    ],
)
def test_matrix_selectors_pick_the_models_in_those_cells(
    selectors: list[str], frequency: str | None, business_line: str | None, expected: set[str]
) -> None:
    chosen = choose(GRAPH, selectors, CELLS, frequency, business_line)
    assert names(chosen) == expected
    assert_dependency_order(chosen)


def test_a_cell_without_models_is_a_usage_error_naming_what_runs_it() -> None:
    with pytest.raises(UsageError, match="products_snapshot.*greenery snapshot"):
        choose(GRAPH, [], CELLS, "daily", "Product")
    with pytest.raises(UsageError, match="no model in matrix cell"):
        choose(GRAPH, [], CELLS, "monthly", None)
    with pytest.raises(UsageError, match="share no model"):
        choose(GRAPH, ["dim_y"], CELLS, "hourly", None)
    with pytest.raises(UsageError, match="no model named nope"):
        choose(GRAPH, ["nope+"])


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_build_records_each_model_of_the_selection(tmp_path, monkeypatch) -> None:
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3), ("p2", "Moss", 0)])
    result = run_cli("--db", str(db), "build", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert rows(db, "select count(*) from marts.dim_stock") == [(1,)]

    # nothing changed since: the selection is considered and skipped, each with its reason
    result = run_cli("--db", str(db), "build", "--select", "stg_products+", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "model,layer,materialized,action,rows,duration_s,reason"
    assert {line.split(",")[3] for line in lines[1:]} == {"skipped"}
    assert "models: 3 skipped" in result.stderr
    run_id = rows(db, "select max(run_id) from meta.runs where command = 'build'")[0][0]
    decided = rows(
        db, f"select model, action, reason from meta.model_builds where run_id = {run_id}"
    )
    assert {(m, a, r) for m, a, r in decided} == {
        (m, "skipped", "up to date") for m in ("stg_products", "int_stock", "dim_stock")
    }

    result = run_cli(
        "--db", str(db), "build", "--select", "stg_products+", "--full-refresh", "--format", "csv"
    )
    assert result.exit_code == 0, result.stderr
    run_id = rows(db, "select max(run_id) from meta.runs where command = 'build'")[0][0]
    built = rows(db, f"select model, rows from meta.model_builds where run_id = {run_id}")
    # the shop's greenery.toml makes staging and intermediate views: they hold no rows
    assert dict(built) == {"stg_products": None, "int_stock": None, "dim_stock": 1}
    status = rows(db, f"select status, rows_affected from meta.runs where run_id = {run_id}")
    assert status == [("success", 1)]

    result = run_cli(
        "--db",
        str(db),
        "build",
        "--frequency",
        "daily",
        "--business-line",
        "Product",
        "--full-refresh",
    )
    assert result.exit_code == 0, result.stderr
    run_id = rows(db, "select max(run_id) from meta.runs")[0][0]
    built = rows(db, f"select model from meta.model_builds where run_id = {run_id} order by all")
    assert built == [("int_stock",), ("stg_products",)]


def test_build_is_all_or_nothing_when_a_model_fails(tmp_path, monkeypatch) -> None:
    project = make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3), ("p2", "Moss", 0)])
    assert run_cli("--db", str(db), "build").exit_code == 0
    builds_before = rows(db, "select count(*) from meta.model_builds")
    with duckdb.connect(str(db)) as con:
        con.execute("insert into raw.products values ('p3', 'Ivy', 1.0, 7)")
    (project / "queries" / "marts" / "fct_promos.sql").write_text(
        "-- broken\nselect no_such_column from {{ ref('stg_promos') }}\n"
    )
    result = run_cli("--db", str(db), "build", "--full-refresh")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "fct_promos" in result.stderr and "no_such_column" in result.stderr
    assert "Traceback" not in result.stderr
    # dim_stock, rebuilt (with Ivy) before the failure, was rolled back with it
    assert rows(db, "select count(*) from marts.dim_stock") == [(1,)]
    assert rows(db, "select count(*) from meta.model_builds") == builds_before
    last = rows(db, "select status, message from meta.runs order by run_id desc limit 1")[0]
    assert last[0] == "error" and "fct_promos" in last[1]


def test_build_refuses_missing_inputs_with_the_fix(tmp_path, monkeypatch) -> None:
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    result = run_cli("--db", str(db), "build", "--select", "int_stock")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "stg_products" in result.stderr and "never been built" in result.stderr
    empty = tmp_path / "empty.duckdb"
    result = run_cli("--db", str(empty), "build", "--select", "stg_products")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "raw.products" in result.stderr and "greenery load" in result.stderr


def refs_in_queries() -> dict[str, set[str]]:
    """model -> the models it refs, read straight from the SQL text."""
    graph = {}
    for path in (REPO / "queries").glob("*/*.sql"):
        if path.parent.name in ("staging", "intermediate", "marts"):
            graph[path.stem] = set(re.findall(r"ref\('(\w+)'\)", path.read_text()))
    return graph


def test_real_build_of_a_model_and_its_downstream(loaded_real_warehouse, tmp_path) -> None:
    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    graph = refs_in_queries()
    expected = {"stg_orders"}
    while True:
        more = {m for m, parents in graph.items() if parents & expected} - expected
        if not more:
            break
        expected |= more
    result = run_cli(
        "--db", str(db), "build", "--select", "stg_orders+", "--full-refresh", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    run_id = rows(db, "select max(run_id) from meta.runs")[0][0]
    built = [r[0] for r in rows(db, f"select model from meta.model_builds where run_id = {run_id}")]
    assert set(built) == expected and len(built) == len(expected)
    with (REPO.parent / "shared" / "greenery-data" / "raw" / "orders.csv").open() as handle:
        orders = sum(1 for _ in csv.DictReader(handle))
    assert rows(db, "select count(*) from marts.fct_orders") == [(orders,)]


def test_real_build_of_a_matrix_cell(loaded_real_warehouse, tmp_path) -> None:
    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    with (REPO / "seeds" / "schedule.csv").open() as handle:
        expected = {
            r["node"]
            for r in csv.DictReader(handle)
            if (r["frequency"], r["business_line"], r["node_type"])
            == ("hourly", "Marketing", "model")
        }
    assert expected
    result = run_cli(
        "--db", str(db), "build", "--frequency", "hourly", "--business-line", "Marketing"
    )
    assert result.exit_code == 0, result.stderr
    run_id = rows(db, "select max(run_id) from meta.runs")[0][0]
    built = rows(db, f"select model from meta.model_builds where run_id = {run_id}")
    assert {r[0] for r in built} == expected
