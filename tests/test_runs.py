"""`greenery runs`: the run log of every writing command, failures included, in dbt's words."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from conftest import run_cli

from greenery_cli import __version__
from greenery_cli.errors import ExitCode

DBT_RUN_RESULTS_KEYS = {
    "run_id",
    "command",
    "args",
    "status",
    "started_at",
    "completed_at",
    "elapsed_time",
    "rows_affected",
    "message",
    "greenery_version",
    "results",
}


def runs(db: Path, *args: str) -> list[dict]:
    result = run_cli("--db", str(db), "runs", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def empty_warehouse(db: Path) -> Path:
    from greenery_cli.warehouse import open_warehouse

    with open_warehouse(db, write=True):
        pass
    return db


def test_a_failed_load_is_recorded_with_its_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    missing = tmp_path / "no-such-exports"
    first = run_cli("--db", str(db), "load", "--source", str(missing))
    assert first.exit_code == ExitCode.TOOL_ERROR
    assert not db.exists()  # a failed first command makes no warehouse
    failed = run_cli("--db", str(empty_warehouse(db)), "load", "--source", str(missing))
    assert failed.exit_code == ExitCode.TOOL_ERROR
    [run] = runs(db)
    assert set(run) == DBT_RUN_RESULTS_KEYS
    assert run["command"] == "load"
    assert run["status"] == "error"
    assert run["args"] == {"source": str(missing), "select": [], "full_refresh": False}
    assert str(missing) in run["message"] and "does not exist" in run["message"]
    assert run["rows_affected"] is None
    assert run["results"] == []  # the load's model builds rolled back with it
    assert run["greenery_version"] == __version__
    started = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
    completed = datetime.fromisoformat(run["completed_at"].replace("Z", "+00:00"))
    assert run["started_at"].endswith("Z") and started <= completed
    assert run["elapsed_time"] >= 0


def test_every_writing_command_is_logged_newest_first(
    loaded_real_warehouse: Path, real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    assert run_cli("--db", str(db), "freshness").exit_code == 0
    assert run_cli("--db", str(db), "test", "--select", "stg_orders").exit_code == 0
    bad = run_cli("--db", str(db), "test", "--select", "no_such_model")
    assert bad.exit_code == ExitCode.TOOL_ERROR
    logged = runs(db)
    assert [r["command"] for r in logged] == ["test", "test", "freshness", "load"]
    assert [r["run_id"] for r in logged] == sorted((r["run_id"] for r in logged), reverse=True)
    refused, test, freshness, load = logged
    assert refused["status"] == "error"
    assert refused["message"] == "--select no_such_model: no model, snapshot or test of that name"
    assert test["args"] == {"select": ["stg_orders"]}
    assert test["status"] == "success" and "warn" in test["message"]
    assert freshness["status"] == "success"
    assert load["rows_affected"] == sum(
        len((real_data / "raw" / f"{t}.csv").read_text().splitlines()) - 1
        for t in ("addresses", "users", "promos", "products", "orders", "order_items", "events")
    )
    assert [r["run_id"] for r in runs(db, "--limit", "1")] == [refused["run_id"]]
    assert [r["command"] for r in runs(db, "--command", "load")] == ["load"]
    assert len(runs(db, "--command", "test")) == 2
    assert runs(db, "--command", "snapshot") == []


def test_a_failing_test_run_is_recorded_as_fail(
    loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    with duckdb.connect(str(db)) as con:  # stg_promos is a view: a repeated raw row shows in it
        con.execute("insert into raw.promos select * from raw.promos limit 1")
    result = run_cli("--db", str(db), "test", "-s", "stg_promos")
    assert result.exit_code == ExitCode.WORK_FAILED
    [run] = runs(db, "--command", "test")
    assert run["status"] == "fail"
    assert "1 fail" in run["message"]


def test_table_and_csv_views(tmp_path: Path) -> None:
    db = empty_warehouse(tmp_path / "w.duckdb")
    run_cli("--db", str(db), "load", "--source", str(tmp_path / "nothing"))
    table = run_cli("--db", str(db), "runs")
    assert table.exit_code == 0
    assert "load" in table.stdout and "error" in table.stdout
    csv_out = run_cli("--db", str(db), "runs", "--format", "csv").stdout.splitlines()
    assert csv_out[0].split(",") == [
        "run_id",
        "command",
        "args",
        "status",
        "started_at",
        "completed_at",
        "elapsed_time",
        "rows_affected",
        "message",
        "greenery_version",
    ]
    assert len(csv_out) == 2


def test_checking_commands_do_not_create_a_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    for command in ("runs", "test", "freshness"):
        result = run_cli("--db", str(missing), command)
        assert result.exit_code == ExitCode.TOOL_ERROR, command
        assert "no warehouse at" in result.stderr
    assert not missing.exists()


def test_json_lists_each_runs_nodes_like_dbt_run_results(
    loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    from greenery_cli.models import discover

    db = tmp_path / "real.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    assert run_cli("--db", str(db), "test", "-s", "stg_promos").exit_code == 0
    assert run_cli("--db", str(db), "freshness").exit_code == 0
    freshness, test, load = runs(db)
    models = discover()
    assert {n["unique_id"] for n in load["results"]} == {f"model.{m}" for m in models}
    built = {n["unique_id"]: n for n in load["results"]}
    assert built["model.stg_promos"]["adapter_response"] == {}  # a view holds no rows
    assert built["model.stg_promos"]["status"] == "success"
    assert built["model.dim_products"]["adapter_response"] == {"rows_affected": 30}
    assert {n["unique_id"] for n in test["results"]} == {
        "test.unique_stg_promos_promo_id",
        "test.not_null_stg_promos_promo_id",
        "test.accepted_values_stg_promos_promo_status",
        "test.relationships_stg_orders_promo_id__stg_promos",
        "test.order_totals_add_up",  # a singular test that reads stg_promos
    }
    assert all(n["status"] == "pass" and n["failures"] == 0 for n in test["results"])
    node = test["results"][0]
    assert set(node) == {
        "unique_id",
        "status",
        "execution_time",
        "timing",
        "adapter_response",
        "failures",
        "message",
    }
    assert node["timing"][0]["name"] == "execute"
    checked = {n["unique_id"]: n["status"] for n in freshness["results"]}
    assert checked["source.orders"] == "pass"
    assert checked["model.fct_orders"] == "pass"
    assert checked["snapshot.products_snapshot"] == "skip"
