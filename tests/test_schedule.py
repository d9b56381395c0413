"""The update-frequency matrix and `greenery schedule`: validation, crontab, airflow, check."""

from __future__ import annotations

import csv
import json
import re
import shlex
import shutil
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli
from tiny_project import MATRIX, make_project, make_warehouse, write_matrix

from greenery_cli.errors import DataError, ExitCode
from greenery_cli.matrix import Node, validate_matrix
from greenery_cli.schedule import ScheduleSettings, airflow_dag, check_overdue, crontab, plan

TINY_MODELS = {"stg_products", "stg_promos", "int_stock", "dim_stock", "fct_promos"}


def nodes(rows: list[tuple[str, str, str, str]]) -> list[Node]:
    return [Node(*row, line=i) for i, row in enumerate(rows, start=2)]


# --- matrix validation, on a hand-built matrix -------------------------------------------------


def test_a_complete_matrix_is_valid() -> None:
    validate_matrix(nodes(MATRIX), TINY_MODELS, "schedule.csv")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("dim_stok", "model", "Product", "weekly"), r"line \d+ \(node 'dim_stok'\): no model"),
        (("dim_stock", "model", "Product", "fortnightly"), r"frequency 'fortnightly' is not one"),
        (("dim_stock", "model", "Finance", "weekly"), r"business_line 'Finance' is not one"),
        (("dim_stock", "view", "Product", "weekly"), r"node_type 'view' is not one"),
        (("items_snapshot", "snapshot", "Product", "daily"), r"no snapshot named 'items_snapshot'"),
        (("carts", "source", "Core", "hourly"), r"no source named 'carts'"),
    ],
)
def test_a_bad_row_is_named_by_its_line(change: tuple[str, str, str, str], message: str) -> None:
    rows = [r for r in MATRIX if r[0] != "dim_stock"] + [change]
    with pytest.raises(DataError, match=message) as caught:
        validate_matrix(nodes(rows), TINY_MODELS, "schedule.csv")
    assert f"line {len(rows) + 1}" in str(caught.value)


def test_a_node_in_two_cells_is_refused_with_both_lines() -> None:
    rows = [*MATRIX, ("int_stock", "model", "Logistics", "monthly")]
    first = [r[0] for r in MATRIX].index("int_stock") + 2  # header is line 1
    expected = (
        rf"line {len(rows) + 1} \(node 'int_stock'\): in two cells, "
        rf"daily/Product \(line {first}\) and monthly/Logistics"
    )
    with pytest.raises(DataError, match=expected):
        validate_matrix(nodes(rows), TINY_MODELS, "schedule.csv")
    rows = [*MATRIX, ("int_stock", "model", "Product", "daily")]
    with pytest.raises(DataError, match="listed twice in cell daily/Product"):
        validate_matrix(nodes(rows), TINY_MODELS, "schedule.csv")


def test_every_model_must_be_covered_and_the_message_gives_the_rows_to_add() -> None:
    rows = [r for r in MATRIX if r[0] not in ("dim_stock", "fct_promos")]
    with pytest.raises(DataError) as caught:
        validate_matrix(nodes(rows), [*TINY_MODELS, "fct_product_funnel"], "seeds/schedule.csv")
    text = str(caught.value)
    assert text.startswith("seeds/schedule.csv: the update-frequency matrix is invalid")
    assert "model(s) missing from the matrix: dim_stock, fct_product_funnel, fct_promos" in text
    assert "fct_product_funnel,model,<business_line>,<frequency>" in text
    rows = [r for r in MATRIX if r[0] not in ("products_snapshot", "events")]
    with pytest.raises(DataError, match="snapshot.*missing.*products_snapshot"):
        validate_matrix(nodes(rows), TINY_MODELS, "schedule.csv")
    with pytest.raises(DataError, match="source.*missing.*events"):
        validate_matrix(nodes(rows), TINY_MODELS, "schedule.csv")


def test_a_cell_runs_one_command() -> None:
    mixed = [r for r in MATRIX if r[0] != "dim_stock"] + [("dim_stock", "model", "Core", "hourly")]
    with pytest.raises(
        DataError, match=r"a model in cell hourly/Core, which already holds a source"
    ):
        validate_matrix(nodes(mixed), TINY_MODELS, "schedule.csv")
    split = [r for r in MATRIX if r[0] != "events"] + [("events", "source", "Marketing", "daily")]
    with pytest.raises(DataError, match=r"source loads are in several cells"):
        validate_matrix(nodes(split), TINY_MODELS, "schedule.csv")


def test_the_real_matrix_covers_every_model_the_snapshot_and_every_source(real_data) -> None:
    with (REPO / "seeds" / "schedule.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_type: dict[str, set[str]] = {}
    for row in rows:
        by_type.setdefault(row["node_type"], set()).add(row["node"])
    queries = {
        p.stem
        for layer in ("staging", "intermediate", "marts")
        for p in (REPO / "queries" / layer).glob("*.sql")
    }
    assert by_type["model"] == queries
    assert by_type["source"] == {p.stem for p in (real_data / "raw").glob("*.csv")}
    assert by_type["snapshot"] == {"products_snapshot"}
    assert len({r["node"] for r in rows}) == len(rows)


def test_load_refuses_an_invalid_matrix_and_loads_nothing(real_data, tmp_path, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(REPO / "queries", project / "queries")
    shutil.copytree(REPO / "seeds", project / "seeds")
    shutil.copy(REPO / "greenery.toml", project / "greenery.toml")
    matrix = project / "seeds" / "schedule.csv"
    lines = matrix.read_text().splitlines()
    lines = [line for line in lines if not line.startswith("dim_products,")]
    lines.append("dim_products,model,Product,fortnightly")
    matrix.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(project))
    db = tmp_path / "w.duckdb"
    result = run_cli("--db", str(db), "load", "--source", str(real_data / "raw"))
    assert result.exit_code == ExitCode.WORK_FAILED
    flat = " ".join(result.stderr.split())
    assert f"line {len(lines)} (node 'dim_products'): frequency 'fortnightly'" in flat
    assert not db.exists()  # a failed first load makes no warehouse at all


# --- the crontab --------------------------------------------------------------------------------

FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]  # minute hour dom month dow


def valid_cron_field(field: str, low: int, high: int) -> bool:
    """Standard cron syntax: * | N | N-M, each optionally /STEP, comma-separated."""
    for part in field.split(","):
        match = re.fullmatch(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?", part)
        if not match:
            return False
        start, end, step = match.group(2), match.group(3), match.group(4)
        if start is not None and not low <= int(start) <= high:
            return False
        if end is not None and not int(start) <= int(end) <= high:
            return False
        if step is not None and not 1 <= int(step) <= high:
            return False
    return True


def test_the_field_checker_itself_rejects_bad_fields() -> None:
    assert valid_cron_field("*/4", 0, 23) and valid_cron_field("1,5-7", 0, 59)
    assert not valid_cron_field("60", 0, 59)
    assert not valid_cron_field("0", 1, 31)
    assert not valid_cron_field("*/0", 0, 23)
    assert not valid_cron_field("every", 0, 23)


def real_cells() -> set[tuple[str, str]]:
    with (REPO / "seeds" / "schedule.csv").open() as handle:
        return {(r["frequency"], r["business_line"]) for r in csv.DictReader(handle)}


def job_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_crontab_lines_parse_and_run_the_exact_greenery_command(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    result = run_cli("--db", str(db), "schedule")
    assert result.exit_code == 0, result.stderr
    lines = job_lines(result.stdout)
    assert len(lines) == len(real_cells())
    minutes = []
    for line in lines:
        fields = line.split()
        for field, (low, high) in zip(fields[:5], FIELD_RANGES, strict=True):
            assert valid_cron_field(field, low, high), (field, line)
        minutes.append(fields[0])
        command = " ".join(fields[5:])
        assert command.startswith(f"flock -n {tmp_path}/logs/greenery-")
        assert f" --db {db} " in command
        assert re.search(rf">> {tmp_path}/logs/greenery-[\w-]+\.log 2>&1$", command)
        assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0
    assert len(set(minutes)) == len(minutes), "cells should start at different minutes"
    for frequency, business_line in real_cells():
        matching = [
            line
            for line in lines
            if f" build --frequency {frequency} --business-line {business_line} " in line
        ]
        kinds = {
            "snapshot" if " snapshot " in line else "load" if " load " in line else "build"
            for line in lines
            if f"greenery-{frequency}-{business_line.lower()}.log" in line
        }
        assert len(kinds) == 1
        assert len(matching) == (1 if kinds == {"build"} else 0)
    assert sum(" snapshot --wait" in line for line in lines) == 1
    assert sum(" load --wait" in line for line in lines) == 1
    assert "mkdir -p" in result.stderr
    offered = [line for line in result.stdout.splitlines() if "schedule check" in line]
    assert len(offered) == 1 and offered[0].startswith("# ")
    check = offered[0].removeprefix("# ").split()
    assert all(valid_cron_field(f, *r) for f, r in zip(check[:5], FIELD_RANGES, strict=True))
    assert check[5:9] == [check[5], "--db", str(db), "schedule"]


def test_jobs_name_the_teams_project_so_cron_runs_them_on_it(tmp_path, monkeypatch) -> None:
    """cron starts a job in $HOME, whose nearest greenery.toml is not the project's: every job
    of a project that is not the built-in one names it, and run from elsewhere, uses it."""
    assert run_cli("init", str(tmp_path / "shop")).exit_code == 0
    project = (tmp_path / "shop").resolve()
    monkeypatch.chdir(project)
    result = run_cli("--db", str(tmp_path / "w.duckdb"), "schedule", "--format", "json")
    assert result.exit_code == 0, result.stderr
    commands = [shlex.split(cell["command"]) for cell in json.loads(result.stdout)]
    assert commands and all(c[1:3] == ["--project-dir", str(project)] for c in commands)
    elsewhere = tmp_path / "cron-home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    check = run_cli(*commands[0][1:3], "--db", str(tmp_path / "w.duckdb"), "schedule", "check")
    assert f"using project greenery_shop at {project} (--project-dir)" in check.stderr
    # the built-in project is found from anywhere: its jobs carry no --project-dir
    builtin = run_cli("--db", str(tmp_path / "w.duckdb"), "schedule", "--format", "json")
    assert all("--project-dir" not in cell["command"] for cell in json.loads(builtin.stdout))


def test_jobs_on_spark_carry_the_engine_but_never_its_token(tmp_path, monkeypatch) -> None:
    def commands(*args: str) -> tuple[list[list[str]], str]:
        result = run_cli(*args, "schedule", "--format", "json")
        assert result.exit_code == 0, result.stderr
        return [shlex.split(c["command"]) for c in json.loads(result.stdout)], result.stderr

    jobs, _ = commands("--engine", "sc://spark-host:15002")
    assert all(j[1:3] == ["--engine", "sc://spark-host:15002"] and "--db" not in j for j in jobs)
    monkeypatch.setenv("GREENERY_ENGINE", "sc://spark-host:15002/;token=s3cr3t")
    jobs, said = commands()
    assert all("--engine" not in j and "--db" not in j for j in jobs)
    assert "GREENERY_ENGINE is set" in said and "token=***" in said
    crontab_text = run_cli("schedule")
    assert "s3cr3t" not in crontab_text.stdout + crontab_text.stderr
    monkeypatch.delenv("GREENERY_ENGINE")
    assert run_cli("init", str(tmp_path / "shop")).exit_code == 0
    config = tmp_path / "shop" / "greenery.toml"
    config.write_text('engine = "sc://spark-host:15002"\n' + config.read_text())
    jobs, _ = commands("--project-dir", str(tmp_path / "shop"))
    # the project's own engine setting comes with --project-dir
    assert all(j[1] == "--project-dir" and "--engine" not in j for j in jobs)


def test_check_on_spark_gives_duckdbs_verdict(tmp_path, monkeypatch, on_stand_in) -> None:
    from spark_stand_in import STAND_IN

    from greenery_cli.engines.url import parse_engine

    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    record_runs(
        db,
        {"stg_products": NOW - timedelta(days=3), "int_stock": NOW - timedelta(minutes=5)},
        loaded=NOW - timedelta(minutes=30),
        snapshot=NOW - timedelta(hours=5),
    )
    on_stand_in["db"] = db
    on_duckdb = check_overdue(db, now=NOW)
    on_spark = check_overdue(None, now=NOW, engine=parse_engine(STAND_IN))
    assert on_spark.to_dicts() == on_duckdb.to_dicts()
    assert {r["node"]: r["status"] for r in on_spark.to_dicts()}["stg_products"] == "overdue"


def test_crontab_escapes_percent_signs(tmp_path) -> None:
    db = tmp_path / "100%" / "w.duckdb"
    cells = plan(ScheduleSettings(db=db, log_dir=tmp_path / "logs", executable="/opt/greenery"))
    for line in job_lines(crontab(cells)):
        assert "100\\%" in line and not re.search(r"(?<!\\)%", line)


def test_log_dir_and_schedule_times_are_as_documented(tmp_path) -> None:
    cells = plan(ScheduleSettings(db="w.duckdb", log_dir=tmp_path / "cron-logs"))
    hourly = [c for c in cells if c.frequency == "hourly"]
    assert all(re.fullmatch(r"\d+ \* \* \* \*", c.cron) for c in hourly)
    daily = [c for c in cells if c.frequency == "daily"]
    assert all(re.fullmatch(r"\d+ 2 \* \* \*", c.cron) for c in daily)
    assert all(c.log_file.startswith(str(tmp_path / "cron-logs")) for c in cells)
    assert all(Path(shlex.split(c.command)[2]).is_absolute() for c in cells)


def test_json_is_the_same_schedule_as_data(tmp_path) -> None:
    db = tmp_path / "w.duckdb"
    as_json = json.loads(run_cli("--db", str(db), "schedule", "--format", "json").stdout)
    lines = job_lines(run_cli("--db", str(db), "schedule").stdout)
    assert [cell["crontab_line"] for cell in as_json] == lines
    assert {(c["frequency"], c["business_line"]) for c in as_json} == real_cells()
    first = as_json[0]
    assert set(first) >= {"cell", "cron", "command", "nodes", "log_file", "lock_file"}
    assert isinstance(first["nodes"], list)


# --- airflow ------------------------------------------------------------------------------------


def test_the_airflow_dag_compiles_and_declares_one_task_per_cell(tmp_path, monkeypatch) -> None:
    db = tmp_path / "w.duckdb"
    source = run_cli("--db", str(db), "schedule", "--format", "airflow").stdout
    code = compile(source, "greenery_dag.py", "exec")
    # run it against a stand-in for airflow, recording the DAGs and tasks it declares
    dags: list[dict] = []

    class DAG:
        def __init__(self, **kwargs) -> None:
            self.kwargs = kwargs
            self.tasks: list[dict] = []
            dags.append({"dag": kwargs, "tasks": self.tasks})

        def __enter__(self) -> DAG:
            DAG.current = self
            return self

        def __exit__(self, *exc) -> None:
            DAG.current = None

    def BashOperator(**kwargs) -> None:  # noqa: N802 - airflow's name
        DAG.current.tasks.append(kwargs)

    airflow = types.ModuleType("airflow")
    airflow.DAG = DAG
    bash = types.ModuleType("airflow.operators.bash")
    bash.BashOperator = BashOperator
    for name, module in {
        "airflow": airflow,
        "airflow.operators": types.ModuleType("x"),
        "airflow.operators.bash": bash,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    exec(code, {"__name__": "greenery_dag"})
    as_json = json.loads(run_cli("--db", str(db), "schedule", "--format", "json").stdout)
    assert len(dags) == len(as_json) == len(real_cells())
    for dag, cell in zip(dags, as_json, strict=True):
        assert dag["dag"]["schedule"] == cell["cron"]
        assert dag["dag"]["max_active_runs"] == 1
        assert [t["bash_command"] for t in dag["tasks"]] == [cell["command"]]
    assert len({d["dag"]["dag_id"] for d in dags}) == len(dags)


def test_airflow_literals_survive_awkward_paths(tmp_path) -> None:
    db = tmp_path / 'it\'s "here"' / "w.duckdb"
    cells = plan(ScheduleSettings(db=db, executable="/opt/green ery"))
    compile(airflow_dag(cells), "dag.py", "exec")


# --- --check --------------------------------------------------------------------------------------

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def record_runs(db: Path, models: dict[str, datetime], loaded: datetime, snapshot: datetime | None):
    with duckdb.connect(str(db)) as con:
        for name, at in models.items():
            con.execute(
                "insert into meta.model_builds (run_id, model, layer, rows, started_at, "
                "finished_at, duration_s) values (1, ?, 'x', 1, ?, ?, 0.1)",
                [name, at, at],
            )
        for table in (
            "products",
            "promos",
            "users",
            "orders",
            "order_items",
            "events",
            "addresses",
        ):
            con.execute(
                "insert into meta.loads (run_id, table_name, source_kind, location, rows, "
                "loaded_at) values (1, ?, 'files', '/x', 1, ?)",
                [table, loaded],
            )
        if snapshot is not None:
            con.execute(
                "create table snapshots.snapshot_runs (snapshot_run_id bigint, "
                "taken_at timestamptz)"
            )
            con.execute("insert into snapshots.snapshot_runs values (1, ?)", [snapshot])


def test_check_flags_a_model_older_than_its_frequency_and_not_one_just_built(
    tmp_path, monkeypatch
) -> None:
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    record_runs(
        db,
        {
            "stg_products": NOW - timedelta(days=3),  # daily: 3 days old is overdue
            "int_stock": NOW - timedelta(minutes=5),  # daily: just built
            "dim_stock": NOW - timedelta(days=2),  # weekly: fine
            "stg_promos": NOW - timedelta(hours=30),  # daily: within a day and a half
            # fct_promos: never built
        },
        loaded=NOW - timedelta(minutes=30),  # hourly sources: fresh
        snapshot=NOW - timedelta(hours=5),  # hourly snapshot: overdue
    )
    status = dict(check_overdue(db, now=NOW).select("node", "status").iter_rows())
    assert status["stg_products"] == "overdue"
    assert status["int_stock"] == "ok"
    assert status["dim_stock"] == "ok"
    assert status["stg_promos"] == "ok"
    assert status["fct_promos"] == "never"
    assert status["products_snapshot"] == "overdue"
    assert status["events"] == "ok"
    later = dict(check_overdue(db, now=NOW + timedelta(hours=3)).select("node", "status").rows())
    assert later["events"] == "overdue"


def test_check_exit_codes_follow_the_verdict(tmp_path, monkeypatch) -> None:
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    now = datetime.now(UTC)
    fresh = {m: now - timedelta(minutes=1) for m in TINY_MODELS}
    record_runs(db, {**fresh, "int_stock": now - timedelta(days=9)}, loaded=now, snapshot=now)
    result = run_cli("--db", str(db), "schedule", "check", "--format", "json")
    assert result.exit_code == ExitCode.WORK_FAILED
    overdue = json.loads(result.stdout)
    assert [(r["node"], r["status"]) for r in overdue] == [("int_stock", "overdue")]
    assert "1 of" in result.stderr
    assert run_cli("--db", str(db), "build").exit_code == 0  # rebuilds every model now
    result = run_cli("--db", str(db), "schedule", "check")
    assert result.exit_code == ExitCode.OK, result.stdout
    assert result.stdout == ""  # nothing for cron to mail
    assert "0 of" in result.stderr


def test_check_without_snapshot_table_reports_the_snapshot_as_never_run(tmp_path, monkeypatch):
    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    checked = check_overdue(db, now=NOW)
    assert dict(checked.select("node", "status").rows())["products_snapshot"] == "never"


def test_check_rejects_schedule_only_formats(tmp_path) -> None:
    result = run_cli("--db", str(tmp_path / "w.duckdb"), "schedule", "check", "--format", "airflow")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "--format" in result.stderr and "airflow" in result.stderr
    old = run_cli("--db", str(tmp_path / "w.duckdb"), "schedule", "--check", "--format", "airflow")
    assert old.exit_code == ExitCode.TOOL_ERROR and "not airflow" in old.stderr


def test_matrix_file_errors_name_the_file(tmp_path, monkeypatch) -> None:
    project = make_project(tmp_path / "project", monkeypatch)
    write_matrix(
        project / "seeds" / "schedule.csv", [*MATRIX, ("dim_stock", "model", "Core", "daily")]
    )
    result = run_cli("--db", str(tmp_path / "w.duckdb"), "schedule")
    assert result.exit_code == ExitCode.WORK_FAILED
    assert "schedule.csv" in result.stderr and "in two cells" in " ".join(result.stderr.split())


def test_a_replayed_snapshot_counts_from_when_it_ran_not_the_moment_it_replays(
    tmp_path, monkeypatch
) -> None:
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot

    make_project(tmp_path / "project", monkeypatch)
    db = make_warehouse(tmp_path / "w.duckdb", [("p1", "Fern", 3)])
    source = tmp_path / "exports"
    source.mkdir()
    (source / "products.csv").write_text("product_id,name,price,inventory\np1,Fern,3.5,3\n")
    long_ago = datetime(2021, 3, 1, 6, tzinfo=UTC)  # an old export replayed with --at
    with monkeypatch.context() as shipped:  # the snapshot engine's SQL, not the tiny project's
        shipped.delenv("GREENERY_PROJECT_DIR")
        take_snapshot(SnapshotSettings(db=db, source=str(source), at=long_ago))
    ran = datetime.now(UTC)
    status = dict(check_overdue(db, now=ran).select("node", "status").rows())
    assert status["products_snapshot"] == "ok"  # the hourly snapshot just ran
    later = dict(check_overdue(db, now=ran + timedelta(hours=3)).select("node", "status").rows())
    assert later["products_snapshot"] == "overdue"
