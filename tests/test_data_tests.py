"""`greenery test`: each kind of test catching a hand-made violation and passing on clean data,
the snapshot invariants, declaration errors, selection, the record of results, the real dataset."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli

from greenery_cli.data_tests import declared_tests
from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.test_run import TestSettings, run_tests
from greenery_cli.warehouse import open_warehouse


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop's declarations (greenery.toml, sources, exposures) but no models or tests."""
    folder = tmp_path / "project"
    shutil.copytree(REPO / "queries", folder / "queries")
    shutil.copy(REPO / "greenery.toml", folder / "greenery.toml")
    for layer in ("staging", "intermediate", "marts"):
        shutil.rmtree(folder / "queries" / layer)
    for singular in (folder / "queries" / "tests").glob("*.sql"):
        singular.unlink()
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(folder))
    return folder


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def warehouse(db: Path, *statements: str) -> Path:
    with open_warehouse(db, write=True) as wh:
        for statement in statements:
            wh.execute(statement)
    return db


def results(db: Path, *select: str) -> dict[str, dict]:
    """Test results by name; unselected, greenery's own snapshot invariants are left out."""
    report = run_tests(TestSettings(db=db, select=select))
    rows = report.results.iter_rows(named=True)
    return {r["test"]: r for r in rows if select or not r["test"].startswith("snapshot_")}


MODELS = {
    "queries/staging/stg_shops.sql": "-- shops\nselect 1 as shop_id\n",
    "queries/staging/stg_plants.sql": "-- plants\nselect 1 as plant_id\n",
}
SCHEMA = """
    [stg_shops.columns]
    shop_id = ["unique", "not_null"]

    [stg_plants.columns]
    plant_id = ["unique", "not_null"]

    [[stg_plants.tests]]
    test = "accepted_values"
    column = "light"
    values = ["sun", "shade"]

    [[stg_plants.tests]]
    test = "relationships"
    column = "shop_id"
    to = "stg_shops"
"""
CLEAN = (
    "create table staging.stg_shops as select * from (values (1), (2)) t(shop_id)",
    "create table staging.stg_plants as select * from (values "
    "(1, 'sun', 1), (2, 'shade', 2), (3, null, null)) t(plant_id, light, shop_id)",
)


def test_every_kind_passes_on_clean_data(project: Path, tmp_path: Path) -> None:
    write(project, {**MODELS, "queries/staging/schema.toml": SCHEMA})
    got = results(warehouse(tmp_path / "w.duckdb", *CLEAN))
    assert {name: r["status"] for name, r in got.items()} == {
        "unique_stg_shops_shop_id": "pass",
        "not_null_stg_shops_shop_id": "pass",
        "unique_stg_plants_plant_id": "pass",
        "not_null_stg_plants_plant_id": "pass",
        "accepted_values_stg_plants_light": "pass",
        "relationships_stg_plants_shop_id__stg_shops": "pass",
    }
    assert all(r["failures"] == 0 for r in got.values())


def test_every_kind_catches_its_violation(project: Path, tmp_path: Path) -> None:
    write(project, {**MODELS, "queries/staging/schema.toml": SCHEMA})
    db = warehouse(
        tmp_path / "w.duckdb",
        "create table staging.stg_shops as select * from (values (1), (1), (2), (2), (2), "
        "(null)) t(shop_id)",
        "create table staging.stg_plants as select * from (values "
        "(1, 'sun', 1), (2, 'moon', 9), (3, 'moon', 2), (4, 'mars', 7)) "
        "t(plant_id, light, shop_id)",
    )
    got = results(db)
    unique = got["unique_stg_shops_shop_id"]
    assert (unique["status"], unique["failures"]) == ("fail", 2)  # two repeated values
    assert json.loads(unique["examples"])[0] == {"value": 2, "occurrences": 3}
    assert (
        got["not_null_stg_shops_shop_id"]["status"],
        got["not_null_stg_shops_shop_id"]["failures"],
    ) == ("fail", 1)
    accepted = got["accepted_values_stg_plants_light"]
    assert (accepted["status"], accepted["failures"]) == ("fail", 2)  # moon and mars
    assert json.loads(accepted["examples"]) == [
        {"value": "moon", "occurrences": 2},
        {"value": "mars", "occurrences": 1},
    ]
    orphans = got["relationships_stg_plants_shop_id__stg_shops"]
    assert (orphans["status"], orphans["failures"]) == ("fail", 2)
    assert sorted(e["plant_id"] for e in json.loads(orphans["examples"])) == [2, 4]
    assert got["unique_stg_plants_plant_id"]["status"] == "pass"


def test_severity_where_and_names(project: Path, tmp_path: Path) -> None:
    write(
        project,
        {
            **MODELS,
            "queries/staging/schema.toml": """
                [[stg_plants.tests]]
                test = "not_null"
                column = "light"
                severity = "warn"
                reason = "new plants are measured later"

                [[stg_plants.tests]]
                test = "not_null"
                column = "light"
                where = "plant_id < 3"
                name = "light_known_for_old_plants"
            """,
        },
    )
    db = warehouse(tmp_path / "w.duckdb", *CLEAN)
    got = results(db)
    assert got["not_null_stg_plants_light"]["status"] == "warn"
    assert got["not_null_stg_plants_light"]["reason"] == "new plants are measured later"
    assert got["light_known_for_old_plants"]["status"] == "pass"
    result = run_cli("--db", str(db), "test")
    assert result.exit_code == 0, result.stderr  # warnings alone
    assert "1 pass, 1 warn" in result.stderr


def test_singular_tests_fail_on_returned_rows_and_exit_1(project: Path, tmp_path: Path) -> None:
    write(
        project,
        {
            **MODELS,
            "queries/tests/plants_have_light.sql": """
                -- Every plant has a light requirement.
                select plant_id from {{ ref('stg_plants') }} where light is null
            """,
            "queries/tests/shops_exist.sql": """
                -- There is at least one shop.
                {{ config(severity='warn', reason='a new shop list is empty until the import') }}
                select 'no shops' as problem where not exists (select 1 from {{ ref('stg_shops') }})
            """,
        },
    )
    db = warehouse(tmp_path / "w.duckdb", *CLEAN)
    result = run_cli("--db", str(db), "test", "--format", "json")
    assert result.exit_code == ExitCode.WORK_FAILED
    rows = {r["test"]: r for r in json.loads(result.stdout)}
    assert rows["plants_have_light"]["status"] == "fail"
    assert rows["plants_have_light"]["examples"] == [{"plant_id": 3}]
    assert rows["plants_have_light"]["target"] == "staging.stg_plants"
    assert rows["shops_exist"]["status"] == "pass"
    assert rows["shops_exist"]["severity"] == "warn"


def test_missing_models_and_columns_are_errors(project: Path, tmp_path: Path) -> None:
    write(
        project,
        {
            **MODELS,
            "queries/staging/schema.toml": '[stg_shops.columns]\nshop_id = ["unique"]\n'
            'owner = ["not_null"]\n\n[stg_plants.columns]\nplant_id = ["unique"]\n',
        },
    )
    db = warehouse(tmp_path / "w.duckdb", CLEAN[0])
    got = results(db)
    assert got["unique_stg_shops_shop_id"]["status"] == "pass"
    assert got["not_null_stg_shops_owner"]["status"] == "error"
    assert (
        "queries/staging/schema.toml: staging.stg_shops has no column owner"
        in (got["not_null_stg_shops_owner"]["message"])
    )
    assert got["unique_stg_plants_plant_id"]["status"] == "error"
    assert "staging.stg_plants does not exist" in got["unique_stg_plants_plant_id"]["message"]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ('[stg_trees.columns]\nid = ["unique"]\n', r"\[stg_trees\] names no model"),
        ('[stg_shops.columns]\nshop_id = ["accepted_values"]\n', "needs arguments"),
        ('[[stg_shops.tests]]\ntest = "unique"\ncolumn = "shop_id"\nseverity = "warn"\n', "reason"),
        ('[[stg_shops.tests]]\ntest = "sorted"\ncolumn = "shop_id"\n', "'sorted' is not one of"),
        ('[[stg_shops.tests]]\ntest = "unique"\ncolumn = "shop id"\n', "not a column name"),
        ('[[stg_shops.tests]]\ntest = "unique"\ncolumn = "a"\ncolour = 1\n', "unknown key"),
        ('[[stg_shops.tests]]\ntest = "relationships"\ncolumn = "a"\nto = "x"\n', "names no model"),
        ('[[stg_shops.tests]]\ntest = "unique"\ncolumn = "a"\nwhere = 1\n', "where must be text"),
        ('[stg_shops]\ntests = "unique"\n', r"use \[\[stg_shops.tests\]\]"),
        ("[stg_shops\n", "queries/staging/schema.toml"),
    ],
)
def test_bad_declarations_are_usage_errors(
    project: Path, tmp_path: Path, schema: str, message: str
) -> None:
    write(project, {**MODELS, "queries/staging/schema.toml": schema})
    with pytest.raises(UsageError, match=message):
        declared_tests()


def test_select_picks_the_tests_reading_a_model(project: Path, tmp_path: Path) -> None:
    write(project, {**MODELS, "queries/staging/schema.toml": SCHEMA})
    db = warehouse(tmp_path / "w.duckdb", *CLEAN)
    assert set(results(db, "stg_shops")) == {
        "unique_stg_shops_shop_id",
        "not_null_stg_shops_shop_id",
        "relationships_stg_plants_shop_id__stg_shops",  # reads stg_shops too (dbt's eager mode)
    }
    assert set(results(db, "unique_stg_plants_plant_id")) == {"unique_stg_plants_plant_id"}
    result = run_cli("--db", str(db), "test", "--select", "stg_trees")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "--select stg_trees" in result.stderr


def test_results_and_the_run_are_recorded(project: Path, tmp_path: Path) -> None:
    write(project, {**MODELS, "queries/staging/schema.toml": SCHEMA})
    db = warehouse(tmp_path / "w.duckdb", *CLEAN)
    db_clean = run_tests(TestSettings(db=db))
    with open_warehouse(db, write=True) as wh:
        wh.execute("insert into staging.stg_shops values (1)")
    failing = run_tests(TestSettings(db=db, select=("stg_shops",)))
    assert not db_clean.failed and failing.failed
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute(
            "select run_id, count(*), count(*) filter (where status = 'fail') "
            "from meta.test_results group by 1 order by 1"
        ).fetchall()
        runs = con.execute("select run_id, command, status, message from meta.runs").fetchall()
    # the 6 declared tests and greenery's 3 snapshot invariants, which skip without a snapshot
    assert recorded == [(db_clean.run_id, 9, 0), (failing.run_id, 3, 1)]
    assert runs == [
        (db_clean.run_id, "test", "success", "6 pass, 3 skip"),
        (failing.run_id, "test", "fail", "2 pass, 1 fail"),
    ]


SNAPSHOT_DDL = (
    "create table snapshots.products_snapshot (snapshot_row_id bigint, product_id varchar, "
    "name varchar, price double, inventory integer, valid_from timestamptz not null, "
    "valid_to timestamptz, is_deleted boolean not null, opened_by_run bigint not null, "
    "closed_by_run bigint)"
)
CLEAN_HISTORY = (
    "insert into snapshots.products_snapshot values "
    "(1, 'p1', 'Fern', 10, 5, '2024-10-10', '2024-10-16', false, 1, 2), "
    "(2, 'p1', 'Fern', 10, 3, '2024-10-16', null, false, 2, null), "
    "(3, 'p2', 'Palm', 20, 1, '2024-10-10', '2024-10-16', false, 1, 2), "
    "(4, 'p2', 'Palm', 20, 1, '2024-10-16', null, true, 2, null)"
)
SNAPSHOT_TESTS = (
    "snapshot_one_current_row_per_product",
    "snapshot_versions_do_not_overlap",
    "snapshot_valid_to_after_valid_from",
)


def test_snapshot_invariants_skip_without_a_snapshot(tmp_path: Path) -> None:
    db = warehouse(tmp_path / "w.duckdb")
    got = results(db, "products_snapshot")
    assert set(got) == set(SNAPSHOT_TESTS)
    for result in got.values():
        assert result["status"] == "skip"
        assert result["message"].startswith("no snapshot yet")
    assert run_cli("--db", str(db), "test", "-s", "products_snapshot").exit_code == 0


def test_snapshot_invariants_pass_on_a_clean_history(tmp_path: Path) -> None:
    db = warehouse(tmp_path / "w.duckdb", SNAPSHOT_DDL, CLEAN_HISTORY)
    got = results(db, "products_snapshot")
    assert {n: r["status"] for n, r in got.items()} == dict.fromkeys(SNAPSHOT_TESTS, "pass")


@pytest.mark.parametrize(
    ("broken", "failing"),
    [
        # a second open version of p1
        (
            "insert into snapshots.products_snapshot values "
            "(5, 'p1', 'Fern', 10, 9, '2024-10-22', null, false, 3, null)",
            {"snapshot_one_current_row_per_product", "snapshot_versions_do_not_overlap"},
        ),
        # p2's first version reopened over its second
        (
            "update snapshots.products_snapshot set valid_to = '2024-10-20' "
            "where snapshot_row_id = 3",
            {"snapshot_versions_do_not_overlap"},
        ),
        # a version that ends when it begins
        (
            "insert into snapshots.products_snapshot values "
            "(5, 'p3', 'Cactus', 5, 1, '2024-10-10', '2024-10-10', false, 1, 1)",
            {"snapshot_valid_to_after_valid_from"},
        ),
    ],
)
def test_snapshot_invariants_catch_broken_histories(
    tmp_path: Path, broken: str, failing: set[str]
) -> None:
    db = warehouse(tmp_path / "w.duckdb", SNAPSHOT_DDL, CLEAN_HISTORY, broken)
    got = results(db, "products_snapshot")
    assert {n for n, r in got.items() if r["status"] == "fail"} == failing
    assert all(got[n]["failures"] >= 1 for n in failing)


def orders_csv(real_data: Path) -> list[dict[str, str]]:
    with (real_data / "raw" / "orders.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def weekly_history(real_data: Path) -> list[tuple]:
    """A type-2 history of products rebuilt from the weekly files, independently of greenery."""
    weeks = real_data / "inventory-weeks"
    with (weeks / "schedule.csv").open(newline="") as handle:
        schedule = list(csv.DictReader(handle))
    rows: list[list] = []
    current: dict[str, list] = {}
    for run_id, week in enumerate(schedule, start=1):
        with (weeks / week["file"]).open(newline="") as handle:
            products = {p["product_id"]: p for p in csv.DictReader(handle)}
        taken = when(week["snapshot_at"])
        for product_id, p in products.items():
            state = (p["name"], float(p["price"]), int(p["inventory"]))
            open_row = current.get(product_id)
            if open_row and tuple(open_row[2:5]) == state:
                continue
            if open_row:
                open_row[6], open_row[9] = taken, run_id
            row = [len(rows) + 1, product_id, *state, taken, None, False, run_id, None]
            rows.append(row)
            current[product_id] = row
    return [tuple(r) for r in rows]


def test_the_real_dataset_passes_with_its_warnings_explained(
    loaded_real_warehouse: Path, real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    with duckdb.connect(str(db)) as con:
        con.execute(SNAPSHOT_DDL)
        con.executemany(
            "insert into snapshots.products_snapshot values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            weekly_history(real_data),
        )
    result = run_cli("--db", str(db), "test", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = {r["test"]: r for r in json.loads(result.stdout)}
    warned = {n: r for n, r in rows.items() if r["status"] == "warn"}
    assert {n for n, r in rows.items() if r["status"] not in ("pass", "warn")} == set()
    assert all(r["reason"] for r in warned.values())

    # the two warnings, counted from the CSV files
    orders = orders_csv(real_data)
    with (real_data / "raw" / "events.csv").open(newline="") as handle:
        newest_event = max(when(e["created_at"]) for e in csv.DictReader(handle))
    no_estimate = [
        o
        for o in orders
        if o["status"] in ("shipped", "delivered") and not o["estimated_delivery_at"]
    ]
    overdue = [
        o
        for o in orders
        if o["status"] == "shipped"
        and o["estimated_delivery_at"]
        and when(o["estimated_delivery_at"]) < newest_event
    ]
    assert set(warned) == {"stg_orders_delivery_estimate_once_shipped", "shipped_orders_overdue"}
    assert warned["stg_orders_delivery_estimate_once_shipped"]["failures"] == len(no_estimate) > 0
    assert warned["shipped_orders_overdue"]["failures"] == len(overdue) > 0
    assert {rows[n]["status"] for n in SNAPSHOT_TESTS} == {"pass"}
