"""Every command's table at 80 and 120 columns, compared exactly with tests/golden/*.txt.

The warehouse is the real dataset loaded once, with the four weekly product states replayed
as snapshot runs, so the answers are the known ones. Values that change from run to run (the
wall clock, elapsed seconds, this machine's paths) are pinned: the command's library function
is wrapped to pin those columns before the command renders them, so the command's own
rendering path is what is compared. Nothing is masked after rendering.

Regenerate with `pytest tests/test_golden_tables.py --update-golden`, then read every changed
file (`git diff tests/golden`): each must be legible at its width with nothing important cut.
On a mismatch the rendering is written beside the golden file as <name>.actual.txt.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import REAL_DATA, run_cli

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (80, 120)
# the moment pinned wall-clock times are shown at, and "now" for ages measured from them
PINNED_NOW = datetime(2024, 10, 29, 9, 0, tzinfo=UTC)
PINNED_AT = datetime(2024, 10, 29, 8, 0, tzinfo=UTC)
WALL_CLOCK = datetime(2025, 1, 1, tzinfo=UTC)  # later than any time in the dataset


@pytest.fixture(scope="session")
def golden_db(loaded_real_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real warehouse with the four weekly states as snapshot runs 3-6, and a test run."""
    from greenery_cli.snapshot_replay import ReplaySettings, replay

    db = tmp_path_factory.mktemp("golden") / "golden.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    replay(ReplaySettings(db=db, folder=str(REAL_DATA / "inventory-weeks")))
    assert run_cli("--db", str(db), "test").exit_code == 0
    return db


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`greenery demo`'s warehouse (the seeded sample, whose snapshots cover its events, so the
    funnel's stock columns are filled)."""
    import os

    from greenery_cli.demo import DemoSettings, demo

    folder = tmp_path_factory.mktemp("demo")
    before = os.environ.get("GREENERY_CACHE_DIR")
    os.environ["GREENERY_CACHE_DIR"] = str(folder / "cache")
    try:
        demo(DemoSettings(db=folder / "demo.duckdb"))
    finally:
        if before is None:
            os.environ.pop("GREENERY_CACHE_DIR", None)
        else:
            os.environ["GREENERY_CACHE_DIR"] = before
    return folder / "demo.duckdb"


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / f"{name}.txt"
    actual = path.with_suffix(".actual.txt")
    if update:
        path.write_text(text, encoding="utf-8")
        actual.unlink(missing_ok=True)
        return
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if text != expected:
        actual.write_text(text, encoding="utf-8")
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                str(path),
                str(actual),
            )
        )
        pytest.fail(f"{name} differs from its golden file (--update-golden rewrites):\n{diff}")
    actual.unlink(missing_ok=True)


def render(db: Path, width: int, *args: str) -> str:
    import os

    os.environ["GREENERY_WIDTH"] = str(width)  # undone by pinned_environment's monkeypatch
    result = run_cli("--db", str(db), *args)
    assert result.exit_code in (0, 1), result.stderr
    assert result.stdout.strip(), f"`{' '.join(args)}` printed nothing"
    return result.stdout


# --- the pins ----------------------------------------------------------------------------


def _pin_times(df: Any, *columns: str) -> Any:
    """Wall-clock times (after the dataset's) become PINNED_AT; the dataset's own stay."""
    import polars as pl

    return df.with_columns(
        pl.when(pl.col(c) >= WALL_CLOCK).then(PINNED_AT).otherwise(pl.col(c)).alias(c)
        for c in columns
        if c in df.columns
    )


def _pin_seconds(df: Any, *columns: str) -> Any:
    import polars as pl

    return df.with_columns(
        pl.when(pl.col(c).is_null()).then(None).otherwise(0.01).alias(c)
        for c in columns
        if c in df.columns
    )


def _pin_paths(df: Any, *columns: str) -> Any:
    """This machine's path to the dataset reads as the repository-relative one."""
    import polars as pl

    shown = "../shared/greenery-data"
    here, real = str(REAL_DATA), str(REAL_DATA.resolve())
    return df.with_columns(
        pl.col(c)
        .str.replace_all(here, shown, literal=True)
        .str.replace_all(real, shown, literal=True)
        .alias(c)
        for c in columns
    )


def pinned_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenery_cli.runs as runs

    original = runs.list_runs

    def list_runs(settings: Any) -> Any:
        frame = _pin_times(original(settings), "started_at", "completed_at")
        return _pin_paths(_pin_seconds(frame, "elapsed_time"), "args")

    monkeypatch.setattr(runs, "list_runs", list_runs)


def pinned_freshness(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import polars as pl

    import greenery_cli.freshness as freshness

    original = freshness.check_freshness

    def check_freshness(settings: Any) -> Any:
        report = original(settings)
        checks = _pin_times(report.checks, "loaded_at")
        age = lambda c: (pl.lit(PINNED_NOW) - pl.col(c)).dt.total_seconds()  # noqa: E731
        checks = checks.with_columns(
            load_age_s=pl.when(pl.col("loaded_at").is_null())
            .then(None)
            .otherwise(age("loaded_at")),
            record_age_s=pl.when(pl.col("newest_record_at").is_null())
            .then(None)
            .otherwise(age("newest_record_at")),
        )
        return dataclasses.replace(report, checks=_pin_seconds(checks, "duration_s"))

    monkeypatch.setattr(freshness, "check_freshness", check_freshness)


def pinned_models(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenery_cli.models as models

    original = models.catalogue
    monkeypatch.setattr(
        models,
        "catalogue",
        lambda db, **kw: _pin_seconds(_pin_times(original(db, **kw), "built_at"), "duration_s"),
    )


def pinned_build(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenery_cli.build as build

    original = build.build_models

    def build_models(settings: Any) -> Any:
        result = original(settings)
        frame = _pin_seconds(result.frame(), "duration_s")
        return SimpleNamespace(
            frame=lambda: frame, models=result.models, run_id=result.run_id, notes=result.notes
        )

    monkeypatch.setattr(build, "build_models", build_models)


def pinned_overdue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Last runs on the wall clock read as PINNED_AT; ages are measured two days later, so the
    hourly and daily cells are overdue and the weekly ones are not."""
    import greenery_cli.schedule as schedule
    from greenery_cli.warehouse import open_warehouse

    original = schedule.last_runs

    def last_runs(wh: Any) -> Any:
        aware = {k: v if v.tzinfo else v.replace(tzinfo=UTC) for k, v in original(wh).items()}
        return {k: PINNED_AT if v >= WALL_CLOCK else v for k, v in aware.items()}

    def check_overdue(db: Any, wait: float = 10.0, engine: Any = None) -> Any:
        assert engine is None or not engine.is_spark
        with open_warehouse(db, wait=wait) as wh:
            return schedule.node_ages(wh, PINNED_NOW + timedelta(days=2))

    monkeypatch.setattr(schedule, "last_runs", last_runs)
    monkeypatch.setattr(schedule, "check_overdue", check_overdue)


def pinned_snapshot_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenery_cli.snapshot as snapshot

    original = snapshot.list_runs
    monkeypatch.setattr(
        snapshot, "list_runs", lambda db, wait=10.0: _pin_paths(original(db, wait=wait), "source")
    )


def pinned_project(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenery_cli.project.describe as describe

    original = describe.summarise

    def summarise() -> Any:
        data = original().as_dict()
        data["root"] = "/home/analytics/greenery"
        return SimpleNamespace(as_dict=lambda: data)

    monkeypatch.setattr(describe, "summarise", summarise)


# --- the tables --------------------------------------------------------------------------

Pin = Callable[[pytest.MonkeyPatch], None] | None
TABLES: dict[str, tuple[tuple[str, ...], Pin]] = {
    "inventory-changes": (("inventory-changes",), None),
    "fluctuations": (("fluctuations",), None),
    "stockouts": (("stockouts",), None),
    "funnel": (("funnel",), None),
    "funnel-by-step": (("funnel", "--by-step"), None),
    "funnel-by-product": (("funnel", "--by", "product"), None),
    "funnel-by-state": (("funnel", "--by", "state"), None),
    "funnel-list": (("funnel", "--list", "dropped@3", "--limit", "5"), None),
    "funnel-trend": (("funnel", "--trend", "day"), None),
    "funnel-time-to-convert": (("funnel", "--time-to-convert"), None),
    "report": (("report",), None),
    "test": (("test",), None),
    "query": (
        (
            "query",
            "select a.address_id, a.address, a.zipcode, a.state, a.country, "
            "p.product_name, p.price_usd, p.inventory from raw.addresses a, staging.stg_products p "
            "order by a.address_id, p.product_name limit 6",
        ),
        None,
    ),
    "schedule": (("schedule", "--format", "table"), None),
    "schedule-check": (("schedule", "check"), pinned_overdue),
    "runs": (("runs", "--all"), pinned_runs),
    "freshness": (("freshness",), pinned_freshness),
    "models": (("models",), pinned_models),
    "build": (("build",), pinned_build),
    "snapshot-list": (("snapshot", "list"), pinned_snapshot_runs),
    "snapshot-dry-run": (
        (
            "snapshot",
            "--dry-run",
            "--at",
            "2024-11-05T06:00:00Z",
            "--source",
            str(REAL_DATA / "raw"),  # week 1's products: back from week 4's
            "--allow-rewind",
        ),
        None,
    ),
    "project": (("project",), pinned_project),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_matches_its_golden_file(
    name: str,
    width: int,
    golden_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    update_golden: bool,
) -> None:
    args, pin = TABLES[name]
    db = golden_db
    if args[0] in ("test", "freshness", "build", "runs"):
        # writers (and runs, which lists them) get a private copy: the log stays the same
        db = tmp_path / "golden.duckdb"
        shutil.copy(golden_db, db)
    if pin:
        pin(monkeypatch)
    text = render(db, width, *args)
    check_golden(f"{name}-{width}", text, update_golden)


# on the demo's warehouse: what `greenery demo` prints (the report) and the stock columns
DEMO_TABLES: dict[str, tuple[str, ...]] = {
    "demo-report": ("report",),
    "demo-funnel-by-product": ("funnel", "--by", "product", "--top", "8"),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(DEMO_TABLES))
def test_demo_table_matches_its_golden_file(
    name: str, width: int, demo_db: Path, update_golden: bool
) -> None:
    check_golden(f"{name}-{width}", render(demo_db, width, *DEMO_TABLES[name]), update_golden)


@pytest.mark.parametrize("name", sorted([*TABLES, *DEMO_TABLES]))
def test_no_golden_line_is_wider_than_its_width(name: str) -> None:
    for width in WIDTHS:
        path = GOLDEN / f"{name}-{width}.txt"
        wide = [line for line in path.read_text().splitlines() if len(line) > width]
        assert not wide, f"{path.name}: {wide[:3]}"


def test_every_golden_file_belongs_to_a_table() -> None:
    expected = {f"{name}-{width}.txt" for name in [*TABLES, *DEMO_TABLES] for width in WIDTHS}
    assert {p.name for p in GOLDEN.glob("*.txt") if ".actual" not in p.name} == expected
