"""Materialisations, state-aware rebuilds (what is rebuilt, and why) and selection, on the
hand-built engine project (tests/engine_project.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli
from engine_project import DAY1_ROWS, make_engine_project, write_batch, write_customers

from greenery_cli.errors import ExitCode


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def latest(db: Path) -> dict[str, tuple[str, str]]:
    return {
        m: (a, r)
        for m, a, r in rows(
            db,
            "select model, action, reason from meta.model_builds "
            "where run_id = (select max(run_id) from meta.model_builds)",
        )
    }


def built(db: Path) -> set[str]:
    return {m for m, (a, _) in latest(db).items() if a != "skipped"}


def ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    project = make_engine_project(tmp_path / "project", monkeypatch)
    folder = tmp_path / "exports"
    write_customers(folder, [("s1", "north"), ("s2", "south")])
    write_batch(folder, "b1", DAY1_ROWS)
    db = tmp_path / "w.duckdb"
    ok("--db", str(db), "load", "--source", str(folder))
    return project, folder, db


def kinds(db: Path) -> dict[str, str]:
    return {
        f"{s}.{n}": t
        for s, n, t in rows(
            db,
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts')",
        )
    }


def test_each_materialisation_makes_its_kind_of_relation(loaded) -> None:
    _, _, db = loaded
    found = kinds(db)
    assert found["staging.stg_events"] == "VIEW"  # the layer default
    assert found["marts.fct_daily_table"] == "BASE TABLE"
    assert found["marts.fct_events"] == "BASE TABLE"  # incremental
    assert "intermediate.int_paid" not in found  # ephemeral: inlined into its readers
    assert rows(db, "select order_id from marts.fct_paid_orders") == [("o2",)]
    # a view shows the raw table as it is, with no build
    with duckdb.connect(str(db)) as con:
        con.execute("insert into raw.events values ('x1', 's1', null, 'view', now())")
    assert rows(db, "select count(*) from staging.stg_events") == [(5,)]


def test_an_unchanged_reload_builds_nothing(loaded) -> None:
    _, _, db = loaded
    ok("--db", str(db), "load")
    assert built(db) == set()
    assert set(latest(db).values()) >= {("skipped", "up to date")}
    assert rows(db, "select message from meta.runs order by run_id desc limit 1") == [
        ("0 of 2 raw tables changed (+0 rows), 0 seed(s) reloaded; models: 10 skipped",)
    ]


def test_changing_one_models_sql_rebuilds_exactly_it_and_its_descendants(loaded) -> None:
    project, _, db = loaded
    path = project / "queries" / "marts" / "fct_order_status.sql"
    path.write_text(path.read_text().replace("-- each order's", "-- every order's"))
    ok("--db", str(db), "load")
    got = latest(db)
    assert built(db) == {"fct_order_status", "fct_paid_orders"}
    assert got["fct_order_status"] == ("built", "its SQL changed")
    assert got["fct_paid_orders"] == ("built", "marts.fct_order_status changed")
    ok("--db", str(db), "build")
    assert built(db) == set()


def test_a_changed_macro_rebuilds_the_models_that_call_it(loaded) -> None:
    project, _, db = loaded
    macros = project / "queries" / "macros"
    macros.mkdir()
    (macros / "days.sql").write_text(
        "{% macro day_of(column) %}date_trunc('day', {{ column }}){% endmacro %}\n"
    )
    path = project / "queries" / "marts" / "fct_daily_table.sql"
    path.write_text(
        path.read_text().replace("date_trunc('day', created_at)", "{{ day_of('created_at') }}")
    )
    ok("--db", str(db), "build")
    assert built(db) == {"fct_daily_table"}
    (macros / "days.sql").write_text(
        "{% macro day_of(column) %}cast(date_trunc('day', {{ column }}) as timestamptz)"
        "{% endmacro %}\n"
    )
    ok("--db", str(db), "build")
    assert latest(db)["fct_daily_table"] == ("built", "macro file queries/macros/days.sql changed")
    assert built(db) == {"fct_daily_table"}


def test_a_changed_config_rebuilds_and_the_relation_follows_the_materialisation(loaded) -> None:
    project, _, db = loaded
    path = project / "queries" / "marts" / "fct_daily_table.sql"
    text = path.read_text()
    for kind, expected in (("view", "VIEW"), ("ephemeral", None), ("table", "BASE TABLE")):
        path.write_text(f"{{{{ config(materialized='{kind}') }}}}\n{text}")
        ok("--db", str(db), "build", "--select", "fct_daily_table")
        assert kinds(db).get("marts.fct_daily_table") == expected
    assert latest(db)["fct_daily_table"][0] == "built"
    assert rows(db, "select sum(events) from marts.fct_daily_table") == [(4,)]


def test_a_data_test_reads_an_ephemeral_model_inlined(loaded) -> None:
    project, _, db = loaded
    (project / "queries" / "intermediate" / "schema.toml").write_text(
        '[int_paid.columns]\norder_id = ["unique", "not_null"]\n'
    )
    result = run_cli("--db", str(db), "test", "--select", "int_paid", "--format", "json")
    assert result.exit_code == 0, result.stderr
    statuses = {r["test"]: r["status"] for r in json.loads(result.stdout)}
    assert statuses == {"unique_int_paid_order_id": "pass", "not_null_int_paid_order_id": "pass"}


def test_a_model_fails_and_every_model_of_the_command_is_rolled_back(loaded) -> None:
    project, _, db = loaded
    before = rows(db, "select count(*) from meta.model_builds")
    (project / "queries" / "marts" / "fct_sessions.sql").write_text("select nope from nowhere\n")
    result = run_cli("--db", str(db), "build", "--full-refresh")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "model fct_sessions" in result.stderr
    assert rows(db, "select count(*) from meta.model_builds") == before


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tag:events", {"fct_events", "fct_event_log"}),
        ("layer:staging", {"stg_events", "stg_customers"}),
        ("source:customers", {"stg_customers"}),
        ("source:customers+", {"stg_customers", "fct_events"}),
        ("+fct_paid_orders", {"fct_paid_orders", "fct_order_status", "int_paid", "stg_events"}),
        ("int_paid+", {"int_paid", "fct_paid_orders"}),
    ],
)
def test_selectors_pick_the_models_they_name(loaded, selector: str, expected: set[str]) -> None:
    _, _, db = loaded
    out = ok("--db", str(db), "build", "--select", selector, "--full-refresh", "--format", "json")
    assert {r["model"] for r in json.loads(out)} == expected


def test_state_modified_picks_what_changed_since_its_build(loaded) -> None:
    project, _, db = loaded
    out = ok("--db", str(db), "build", "--select", "state:modified", "--format", "json")
    assert json.loads(out) == []
    path = project / "queries" / "marts" / "fct_order_status.sql"
    path.write_text(path.read_text() + "\n")
    out = ok("--db", str(db), "build", "--select", "state:modified+", "--format", "json")
    assert {r["model"]: r["action"] for r in json.loads(out)} == {
        "fct_order_status": "built",
        "fct_paid_orders": "built",
    }
    result = run_cli("--db", str(db), "test", "--select", "state:modified")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "state:modified works with load and build only" in result.stderr


def test_load_select_loads_only_the_raw_tables_the_selection_reads(loaded) -> None:
    _, folder, db = loaded
    write_customers(folder, [("s1", "east")])
    write_batch(folder, "b2", [("e90", "s1", "o1", "paid", "2021-02-12T00:00:00Z")])
    ok("--db", str(db), "load", "--select", "+fct_order_status")
    last = rows(db, "select max(run_id) from meta.runs")[0][0]
    loads = rows(db, f"select table_name, action from meta.loads where run_id = {last}")
    assert loads == [("events", "appended")]
    assert built(db) == {"fct_order_status"}
    assert rows(db, "select region from raw.customers where session_id = 's1'") == [("north",)]


def test_models_says_what_each_model_is_and_why_it_was_or_was_not_rebuilt(loaded) -> None:
    project, folder, db = loaded
    write_batch(folder, "b2", [("e90", "s1", "o1", "paid", "2021-02-12T00:00:00Z")])
    ok("--db", str(db), "load")
    path = project / "queries" / "marts" / "fct_daily_table.sql"
    path.write_text(path.read_text() + "\n")
    models = {r["model"]: r for r in json.loads(ok("--db", str(db), "models", "--format", "json"))}
    assert models["fct_events"]["materialized"] == "incremental"
    assert models["fct_events"]["last_action"] == "incremental"
    assert models["fct_events"]["last_reason"].startswith("new data in raw.events from 2021-02-12")
    assert models["fct_events"]["state"] == "up to date"
    assert models["stg_customers"]["last_action"] == "skipped"
    assert models["fct_daily_table"]["state"] == "stale: its SQL changed"
    assert models["int_paid"]["state"] == "inlined into the models that read it"


def test_the_run_log_lists_skipped_models_as_skipped(loaded) -> None:
    _, _, db = loaded
    ok("--db", str(db), "load")
    runs = json.loads(ok("--db", str(db), "runs", "--format", "json", "--limit", "1"))
    results = {r["unique_id"]: r for r in runs[0]["results"]}
    assert results["model.fct_events"]["status"] == "skipped"
    assert results["model.fct_events"]["message"] == "up to date"


def test_freshness_of_a_view_is_its_inputs(loaded) -> None:
    _, _, db = loaded
    checks = json.loads(ok("--db", str(db), "freshness", "--format", "json"))
    by_name = {c["name"]: c for c in checks}
    assert by_name["staging.stg_events"]["status"] == "pass"
    assert by_name["staging.stg_events"]["note"] == "a view: as fresh as its inputs"
    assert by_name["marts.fct_events"]["note"].startswith("built by run 1")


CONFIG_ERRORS = [
    (
        "queries/marts/schema.toml",
        '[fct_daily_table]\nmaterialized = "view"\n',
        "fct_daily_table.sql",
        "{{ config(materialized='table') }}\n",
        "materialized is declared twice with different values: 'view' in "
        "queries/marts/schema.toml line 1 [fct_daily_table] and 'table' in "
        "queries/marts/fct_daily_table.sql config()",
    ),
    (
        "queries/marts/schema.toml",
        '[fct_daily_table]\nmaterialised = "view"\n',
        None,
        None,
        "queries/marts/schema.toml line 2: [fct_daily_table]: unknown key(s) materialised",
    ),
    (
        "greenery.toml",
        '[project]\nname = "x"\n[snapshot]\nsource = "customers"\n'
        'unique_key = "session_id"\ncheck_columns = ["region"]\n'
        '[models.staging]\nmaterialized = "viw"\n',
        None,
        None,
        "greenery.toml line 8: [models.staging]: materialized = 'viw': expected one of view, "
        "table, incremental, ephemeral",
    ),
    (
        "greenery.toml",
        '[project]\nname = "x"\n[snapshot]\nsource = "customers"\n'
        'unique_key = "session_id"\ncheck_columns = ["region"]\n'
        '[models.staging]\nmaterialised = "view"\n',
        None,
        None,
        "greenery.toml line 8: [models.staging]: unknown key(s) materialised",
    ),
    (
        "greenery.toml",
        '[project]\nname = "x"\n[snapshot]\nsource = "customers"\n'
        'unique_key = "session_id"\ncheck_columns = ["region"]\n'
        '[models.sandbox]\nmaterialized = "view"\n',
        None,
        None,
        "[models]: unknown key(s) sandbox",
    ),
    (
        "queries/marts/schema.toml",
        '[fct_daily]\nmaterialized = "incremental"\nevent_time = "day"\nlookback = "soon"\n',
        None,
        None,
        "queries/marts/schema.toml line 1 [fct_daily]: lookback: 'soon' is not a duration",
    ),
    (
        "queries/marts/schema.toml",
        '[fct_daily_table]\nmaterialized = "incremental"\nincremental_strategy = "merge"\n',
        None,
        None,
        "the merge strategy needs a unique_key",
    ),
    (
        "queries/marts/schema.toml",
        '[fct_daily_table]\nunique_key = "day"\n',
        None,
        None,
        "unique_key applies to incremental models only (this one is table)",
    ),
    (
        None,
        None,
        "fct_daily_table.sql",
        "{{ config(materialised='view') }}\n",
        "queries/marts/fct_daily_table.sql: config() got unknown key(s) materialised",
    ),
]


@pytest.mark.parametrize(("toml", "toml_text", "sql", "sql_prefix", "message"), CONFIG_ERRORS)
def test_bad_model_config_is_refused_naming_where(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    toml: str | None,
    toml_text: str | None,
    sql: str | None,
    sql_prefix: str | None,
    message: str,
) -> None:
    project = make_engine_project(tmp_path / "project", monkeypatch)
    if toml is not None and toml_text is not None:
        target = project / toml
        target.write_text(toml_text if toml == "greenery.toml" else toml_text)
    if sql is not None and sql_prefix is not None:
        path = project / "queries" / "marts" / sql
        path.write_text(sql_prefix + path.read_text())
    result = run_cli("--db", str(tmp_path / "w.duckdb"), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert os.environ["GREENERY_PROJECT_DIR"] == str(project)


V1_META = """
create schema meta;
create table meta.schema_version (version integer not null, applied_at timestamptz not null
    default current_timestamp);
create sequence meta.run_id_seq start 1;
create table meta.model_builds (run_id bigint not null, model varchar not null,
    layer varchar not null, rows bigint not null, started_at timestamptz not null,
    finished_at timestamptz not null, duration_s double not null);
create table meta.loads (run_id bigint not null, table_name varchar not null,
    source_kind varchar not null, location varchar not null, rows bigint not null,
    loaded_at timestamptz not null);
insert into meta.schema_version (version) values (1);
"""


def test_a_warehouse_from_before_the_engine_is_read_then_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_engine_project(tmp_path / "project", monkeypatch)
    folder = tmp_path / "exports"
    write_customers(folder, [("s1", "north")])
    write_batch(folder, "b1", DAY1_ROWS)
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(V1_META)
        con.execute(
            "insert into meta.model_builds values (1, 'fct_events', 'marts', 3, now(), now(), 1)"
        )
    models = {r["model"]: r for r in json.loads(ok("--db", str(db), "models", "--format", "json"))}
    assert models["fct_events"]["rows"] == 3  # its old build, read as it was recorded
    assert models["fct_events"]["state"] == "stale: missing from the warehouse"
    ok("--db", str(db), "load", "--source", str(folder))
    assert rows(db, "select max(version) from meta.schema_version") == [(2,)]
    assert built(db) >= {"fct_events", "fct_sessions"}
    ok("--db", str(db), "load")
    assert built(db) == set()
