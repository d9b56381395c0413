"""What keeps a question's start-up small: plain rows instead of polars, the rendered-SQL cache,
the remembered project verdict. Behaviour only; the time they save is measured by bench/run.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import imports_of_a_second_run, run_cli

from greenery_cli import sql
from greenery_cli.errors import ExitCode
from greenery_cli.rows import Rows

QUERY = """
select * from (values
    (1, 'a', 1.5::double, 2.25::decimal(6, 2), timestamptz '2024-01-01 10:00:00+02', true),
    (2, null, null, null, null, false),
    (3, 'c', -0.5, 1, timestamptz '2024-03-01 00:00:00Z', null)
) as t (id, name, x, d, seen_at, flag)
order by id
"""


def test_rows_read_as_the_polars_frame_of_the_same_query() -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows = Rows.from_cursor(con.execute(QUERY))
    frame = con.sql(QUERY).pl()
    assert rows.columns == frame.columns
    assert rows.height == frame.height == len(rows) == 3
    assert rows.to_dicts() == frame.to_dicts()
    assert list(rows.iter_rows()) == list(frame.iter_rows())
    assert list(rows.iter_rows(named=True)) == list(frame.iter_rows(named=True))
    assert rows.row(1, named=True) == frame.row(1, named=True)
    assert rows["name"].to_list() == frame["name"].to_list()
    assert rows["name"].null_count() == frame["name"].null_count() == 1
    numeric = {n for n, t in frame.schema.items() if t.is_numeric()}
    assert {n for n, t in rows.schema.items() if t.is_numeric()} == numeric
    assert rows.select("flag", "id").columns == ["flag", "id"]
    assert rows.where([True, False, True])["id"] == [1, 3]
    assert rows.to_polars().to_dicts() == frame.to_dicts()


def test_rows_built_in_python_infer_their_types() -> None:
    rows = Rows.from_dicts([{"a": None, "b": "x"}, {"a": 2, "b": None}], ["a", "b"])
    assert {n: t.name for n, t in rows.schema.items()} == {"a": "BIGINT", "b": "VARCHAR"}
    assert rows.equals(Rows(["a", "b"], [(None, "x"), (2, None)], ["BIGINT", "VARCHAR"]))
    with pytest.raises(KeyError, match="no column 'c'"):
        rows["c"]


def test_rendered_sql_is_reused_only_while_its_templates_are_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GREENERY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sql, "_rendered", {})
    context = {"by": "id", "oldest_first": False}
    fresh = sql.render("reports/snapshot_runs.sql", **context)
    [entry] = (tmp_path / "cache" / "sql").glob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["sql"] == fresh and set(stored["files"]) == {"reports/snapshot_runs.sql"}
    # what is read back is the cache's (proved by planting a marker) ...
    stored["sql"] = "select 'from the cache'"
    entry.write_text(json.dumps(stored))
    monkeypatch.setattr(sql, "_rendered", {})
    assert sql.render("reports/snapshot_runs.sql", **context) == "select 'from the cache'"
    # ... until a template it used is not the one it was rendered from: then it renders again
    stored["files"]["reports/snapshot_runs.sql"][1] -= 1
    entry.write_text(json.dumps(stored))
    monkeypatch.setattr(sql, "_rendered", {})
    assert sql.render("reports/snapshot_runs.sql", **context) == fresh
    # included templates are checked too
    monkeypatch.setattr(sql, "_rendered", {})
    sql.render(
        "reports/funnel_by_step.sql",
        engine="buckets",
        mode="any",
        entry="every",
        unit_column="session_id",
        run_column="session_run",
        by_product=False,
        n_steps=3,
        has_since=False,
        has_until=False,
        need="level",
        stage_exclusions=[],
    )
    files = [json.loads(p.read_text())["files"] for p in (tmp_path / "cache" / "sql").glob("*")]
    assert any("reports/funnel_attempts_buckets.sql" in f for f in files)
    # off: nothing more is written
    monkeypatch.setenv("GREENERY_STARTUP_CACHE", "off")
    monkeypatch.setattr(sql, "_rendered", {})
    before = sorted((tmp_path / "cache" / "sql").iterdir())
    sql.render("reports/snapshot_runs.sql", by="all", oldest_first=True, limit=True)
    assert sorted((tmp_path / "cache" / "sql").iterdir()) == before


def test_a_question_imports_neither_polars_nor_jinja2_nor_rich(
    loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    args = ["--db", str(loaded_real_warehouse), "funnel", "--by-step", "--format", "json"]
    stdout, imported = imports_of_a_second_run(
        args, ("polars", "pyarrow", "jinja2", "rich", "tomllib")
    )
    assert [row["count"] for row in json.loads(stdout)] == [578, 467, 361]
    assert imported == []


def test_a_project_broken_after_it_was_accepted_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    assert run_cli("init", str(root)).exit_code == 0
    accepted = run_cli("--project-dir", str(root), "project")
    assert accepted.exit_code == 0, accepted.stderr
    config = root / "greenery.toml"
    config.write_text(config.read_text() + "\n[nonsense]\nx = 1\n")
    refused = run_cli("--project-dir", str(root), "stockouts")
    assert refused.exit_code == ExitCode.TOOL_ERROR
    assert "greenery.toml" in refused.stderr and "nonsense" in refused.stderr


def test_polars_is_still_there_for_whoever_wants_a_frame() -> None:
    rows = Rows(["a"], [(1,), (2,)], ["BIGINT"])
    assert rows.to_polars().equals(pl.DataFrame({"a": [1, 2]}))


def test_the_report_reads_the_funnel_steps_and_the_datas_end_once(
    loaded_real_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`greenery report` asks two funnel questions of one reader: the steps seed and the newest
    event are read once between them, and the answers are those of each question asked alone."""
    from greenery_cli.funnel import FunnelSettings, funnel_by_product, funnel_by_step
    from greenery_cli.report import weekly_report
    from greenery_cli.warehouse import Warehouse, open_warehouse

    seen: list[str] = []
    for method in ("rows", "scalar", "fetch"):
        original = getattr(Warehouse, method)

        def recording(self: Warehouse, text: str, *a: object, _o: object = original) -> object:
            seen.append(text)
            return _o(self, text, *a)  # type: ignore[operator]

        monkeypatch.setattr(Warehouse, method, recording)
    with open_warehouse(loaded_real_warehouse) as wh:
        report = weekly_report(wh)
    assert sum("seeds.funnel_steps" in s and "from seeds" in s for s in seen) == 1, seen
    assert sum(s.startswith("select max(created_at_utc) from marts.") for s in seen) == 1
    monkeypatch.undo()
    with open_warehouse(loaded_real_warehouse) as wh:
        alone = funnel_by_step(wh, FunnelSettings()), funnel_by_product(wh, FunnelSettings())
    assert report.funnel_by_step is not None and report.funnel_by_product is not None
    assert report.funnel_by_step.rows.to_dicts() == alone[0].rows.to_dicts()
    assert report.funnel_by_product.rows.to_dicts() == alone[1].rows.to_dicts()
