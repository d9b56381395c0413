"""The parse cache (greenery_cli/project/parse_cache.py): a project's models and tests are read
again exactly when a file they were read from differs, and nothing planted in the cache runs."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import pytest
from conftest import imports_of_a_second_run, run_cli
from engine_project import DAY1_ROWS, make_engine_project, write_batch, write_customers

from greenery_cli import models as models_module
from greenery_cli.data_tests import declared_tests
from greenery_cli.errors import ModelError
from greenery_cli.models import discover


def _entry(home: Path) -> Path:
    [entry] = (home / ".cache" / "greenery" / "parse").glob("*.pickle")
    return entry


def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what this process read, as a new process would."""
    monkeypatch.setattr(models_module, "_discovered", {})


def _plant(entry: Path, model: str, sql: str) -> None:
    kept = pickle.loads(entry.read_bytes())
    kept["models"][model] = dataclasses.replace(kept["models"][model], sql=sql)
    kept["tests"] = [dataclasses.replace(t, sql=f"{sql} -- {t.name}") for t in kept["tests"]]
    entry.write_bytes(pickle.dumps(kept))


def test_the_project_is_read_again_only_when_a_file_it_was_read_from_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_engine_project(tmp_path / "project", monkeypatch)
    fresh = discover()
    tests = declared_tests()
    assert tests and "fct_daily" in fresh
    entry = _entry(tmp_path / "home")
    # what is read back is the entry's (proved by planting a marker) ...
    _plant(entry, "fct_daily", "select 'from the cache'")
    _fresh_process(monkeypatch)
    assert discover()["fct_daily"].sql == "select 'from the cache'"
    assert all(t.sql.startswith("select 'from the cache'") for t in declared_tests())
    assert discover()["fct_events"] == fresh["fct_events"]
    # ... until a file differs, even one written back with the same size and modification time
    path = root / "queries" / "marts" / "fct_daily.sql"
    text, info = path.read_text(), path.stat()
    edited = text.replace("-- ", "--+", 1)
    assert edited != text and len(edited) == len(text)
    path.write_text(edited)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    _fresh_process(monkeypatch)
    assert discover()["fct_daily"].sql == fresh["fct_daily"].sql.replace("-- ", "--+", 1)
    assert [t.sql for t in declared_tests()] == [t.sql for t in tests]
    # a new file is a difference too
    _plant(entry, "fct_daily", "select 'from the cache'")
    (root / "queries" / "marts" / "fct_new.sql").write_text("select 1 as one\n")
    _fresh_process(monkeypatch)
    found = discover()
    assert found["fct_daily"].sql != "select 'from the cache'" and "fct_new" in found


def test_the_greenery_toml_is_part_of_what_the_project_was_read_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_engine_project(tmp_path / "project", monkeypatch)
    assert discover()["fct_daily_table"].config.materialized == "table"
    config = root / "greenery.toml"
    config.write_text(config.read_text().replace('[models]\nmaterialized = "table"', "[models]"))
    _fresh_process(monkeypatch)
    assert discover()["fct_daily_table"].config.materialized == "table"  # the default
    config.write_text(config.read_text().replace("[models]", '[models]\nmaterialized = "view"', 1))
    _fresh_process(monkeypatch)
    assert discover()["fct_daily_table"].config.materialized == "view"


def test_a_planted_entry_runs_no_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_engine_project(tmp_path / "project", monkeypatch)
    fresh = discover()
    entry = _entry(tmp_path / "home")
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    for planted in (Planted(), {"digest": "x", "models": Planted()}, b"\x80\x05garbage"):
        entry.write_bytes(planted if isinstance(planted, bytes) else pickle.dumps(planted))
        _fresh_process(monkeypatch)
        assert discover() == fresh
        assert not marker.exists()


def test_a_project_that_fails_to_read_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_engine_project(tmp_path / "project", monkeypatch)
    path = root / "queries" / "marts" / "fct_daily.sql"
    good = path.read_text()
    path.write_text(good + "\n{% if %}\n")
    for _ in range(2):
        _fresh_process(monkeypatch)
        with pytest.raises(ModelError, match="fct_daily.sql"):
            discover()
    assert not (tmp_path / "home" / ".cache" / "greenery" / "parse").exists()
    path.write_text(good)
    _fresh_process(monkeypatch)
    assert "fct_daily" in discover()


def test_startup_cache_off_reads_the_project_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_engine_project(tmp_path / "project", monkeypatch)
    monkeypatch.setenv("GREENERY_STARTUP_CACHE", "off")
    discover()
    declared_tests()
    assert not (tmp_path / "home" / ".cache" / "greenery" / "parse").exists()


def test_a_load_that_finds_nothing_changed_imports_neither_jinja2_nor_rich(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_engine_project(tmp_path / "project", monkeypatch)
    folder = tmp_path / "exports"
    write_customers(folder, [("s1", "north"), ("s2", "south")])
    write_batch(folder, "b1", DAY1_ROWS)
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(folder)).exit_code == 0
    _, imported = imports_of_a_second_run(["--db", str(db), "load"], ("jinja2", "rich"))
    assert imported == []
    result = run_cli("--db", str(db), "load")
    assert result.exit_code == 0, result.stderr
    assert "0 of 2 raw tables changed" in result.stderr
