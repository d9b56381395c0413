"""Shared fixtures: pinned environment, a CLI runner with separate stdout/stderr, real data."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from greenery_cli.project.sources import RawTable

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "greenery-data"


def _shop_sources() -> tuple[RawTable, ...]:
    from greenery_cli.project import builtin_root, read_project

    return read_project(builtin_root()).sources


# the shop's raw tables, as the built-in project declares them (queries/sources.toml)
RAW_TABLES = _shop_sources()
RAW_TABLE_NAMES = tuple(t.name for t in RAW_TABLES)


def raw_table(name: str) -> RawTable:
    return next(t for t in RAW_TABLES if t.name == name)


@pytest.fixture(autouse=True)
def pinned_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keep the developer's own settings out; run in a TZ far from UTC to prove we ignore it."""
    for name in list(os.environ):
        if name.startswith(("GREENERY_", "PG")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # child processes import the checkout under test too, never an installed copy
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.chdir(tmp_path)
    from greenery_cli.project import use_project_dir

    use_project_dir(None)  # an earlier in-process --project-dir must not leak into this test
    yield
    use_project_dir(None)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def imports_of_a_second_run(args: list[str], heavy: tuple[str, ...]) -> tuple[str, list[str]]:
    """`greenery ARGS` twice, each in a fresh interpreter (the first renders and remembers what
    the start-up cache keeps, the second reuses it): the second's stdout, and which of the
    modules `heavy` it imported. Both must exit 0."""
    import ast
    import subprocess

    code = (
        "import sys\n"
        "from greenery_cli.cli import main\n"
        "try:\n"
        "    main(sys.argv[2:])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = sys.argv[1].split(',')\n"
        "print('IMPORTED', [m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    argv = [sys.executable, "-c", code, ",".join(heavy), *args]
    runs = [subprocess.run(argv, capture_output=True, text=True) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    line = next(x for x in runs[1].stderr.splitlines() if x.startswith("IMPORTED "))
    return runs[1].stdout, ast.literal_eval(line.removeprefix("IMPORTED "))


def run_cli(*args: str, input: str | None = None) -> CliResult:
    """Run `greenery ARGS` in-process through the real entry point (exit-code mapping included)."""
    from click.testing import CliRunner

    from greenery_cli.cli import main

    runner = CliRunner()
    with runner.isolation(input=input) as (out, err, _):
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def cli() -> type[CliResult]:
    return run_cli  # type: ignore[return-value]


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "raw" / "events.csv").is_file():
        pytest.skip(f"the real greenery dataset is not at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def raw_copy(real_data: Path, tmp_path: Path) -> Path:
    """A writable copy of the real raw exports, for tests that break them on purpose."""
    target = tmp_path / "exports"
    shutil.copytree(real_data / "raw", target)
    return target


@pytest.fixture(scope="session")
def loaded_real_warehouse(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse loaded once from the real raw exports (read-only for tests)."""
    from greenery_cli.load import LoadSettings, load

    db = tmp_path_factory.mktemp("real") / "real.duckdb"
    load(LoadSettings(db=db, source=str(real_data / "raw")))
    return db


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark Connect server for the whole test run (slow tests), stopped at the end.

    Skips, saying why, where the `spark` extra or Java 17+ is missing."""
    from greenery_cli.engines.spark import missing_modules

    missing = missing_modules()
    if missing:
        pytest.skip(
            f"the spark extra is not installed ({', '.join(missing)}): pip install -e '.[spark]'"
        )
    from greenery_cli.engines.spark.server import (
        java_executable,
        java_major_version,
        start_local_server,
    )

    java = java_executable()
    version = java_major_version(java) if java else None
    if version is None or version < 17:
        pytest.skip(
            f"Spark needs Java 17+ (found {version or 'none'}): "
            "apt-get install default-jre-headless"
        )
    server = start_local_server(tmp_path_factory.mktemp("spark"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark(spark_server: Any) -> Iterator[Any]:
    """A Spark Connect session on the test run's server."""
    import warnings

    with warnings.catch_warnings():
        # pyspark 4.3 warns about pandas 3 on import; the extra pins pandas < 3, a dev venv may not
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(spark_server.url).create()  # never an earlier default
    try:
        yield session
    finally:
        session.stop()


# the greenery databases a Spark load, snapshot and run log write on the server
GREENERY_DATABASES = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots", "meta")


def drop_spark_warehouse(spark: Any) -> None:
    for database in GREENERY_DATABASES:
        spark.sql(f"drop database if exists {database} cascade").collect()


def load_and_replay(engine: tuple[str, ...], real_data: Path) -> tuple[str, str]:
    """The real exports loaded, then the four weekly products files replayed, by the CLI; what
    each said on stderr."""
    loaded = run_cli(*engine, "load", "--source", str(real_data / "raw"))
    assert loaded.exit_code == 0, loaded.stderr
    replayed = run_cli(*engine, "snapshot", "--replay", str(real_data / "inventory-weeks"))
    assert replayed.exit_code == 0, replayed.stderr
    return loaded.stderr, replayed.stderr


def copy_warehouse(db: Path, target: Path) -> Path:
    """A copy of a DuckDB warehouse file (and its write-ahead log, if one is left) to write to."""
    shutil.copy(db, target)
    wal = db.with_name(f"{db.name}.wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(f"{target.name}.wal"))
    return target


@pytest.fixture(scope="session")
def real_replayed_duckdb(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """load_and_replay on a DuckDB warehouse, once (read-only for tests: copy it to write)."""
    db = tmp_path_factory.mktemp("real-replayed") / "replayed.duckdb"
    load_and_replay(("--db", str(db)), real_data)
    return db


@pytest.fixture(scope="session")
def real_replayed_spark(spark_server: Any, spark: Any, real_data: Path) -> str:
    """load_and_replay on the test run's Spark server, once, from no greenery databases; its
    URL. The tests using it run before those that write other data there (see below)."""
    drop_spark_warehouse(spark)
    loaded, replayed = load_and_replay(("--engine", spark_server.url), real_data)
    assert "loaded 7 raw tables" in loaded and "replayed 4 of 4 states" in replayed
    return str(spark_server.url)


# The slow Spark tests share one server, so the order of those that write its greenery
# databases matters. First the modules using real_replayed_spark: the CLI tests (their run log
# must be the load's and the replay's alone), build's (it adds runs of its own), then any other
# module using it; last the ones that write other data over the same databases (test's loads
# broken exports, real_data's copies DuckDB's tables). Collection puts their tests in this order
# in the places they take; every other test keeps its place.
SHARED_SPARK_USERS = ("test_spark_cli", "test_spark_build")
SPARK_OVERWRITERS = (
    "test_spark_data_tests",
    "test_spark_real_data",
    "test_spark_snapshot_guards",
    "test_spark_snapshot_columns",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    users = {i.path.stem for i in items if "real_replayed_spark" in getattr(i, "fixturenames", ())}
    order = [*SHARED_SPARK_USERS, *sorted(users - set(SHARED_SPARK_USERS)), *SPARK_OVERWRITERS]
    places = [i for i, item in enumerate(items) if item.path.stem in order]
    ordered = sorted((items[i] for i in places), key=lambda item: order.index(item.path.stem))
    for place, item in zip(places, ordered, strict=True):
        items[place] = item


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/*.txt from the current rendering (then review the diff).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def on_stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """`--engine sc://...` answered by the stand-in over the DuckDB file put in ["db"]."""
    pytest.importorskip("sqlglot", reason="the spark extra is not installed")
    from spark_stand_in import BuildingStandIn

    from greenery_cli.engines.spark import engine as spark_engine
    from greenery_cli.warehouse import open_warehouse

    target: dict[str, Path] = {}

    @contextmanager
    def connect(_spec: Any) -> Iterator[BuildingStandIn]:
        with open_warehouse(target["db"], write=True) as wh:
            yield BuildingStandIn(wh)

    monkeypatch.setattr(spark_engine, "connect", connect)
    yield target
