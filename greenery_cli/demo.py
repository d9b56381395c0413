"""`greenery demo`: a ready warehouse from built-in sample data, then the week-4 report.

The sample (`greenery generate` output) is cached per seed, scale and generator version in
$GREENERY_CACHE_DIR, else $XDG_CACHE_HOME/greenery, else ~/.cache/greenery (a temporary folder
when none is writable). The warehouse is built in a temporary file beside the target and moved
into place under the target's writer lock, so a failed demo leaves the old file untouched;
a warehouse the demo did not make is never replaced without --force.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from greenery_cli import __version__, interrupts
from greenery_cli.errors import GreeneryError, UsageError, WarehouseBusy
from greenery_cli.report import WeeklyReport
from greenery_cli.resources import cache_root
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, resolve_db_path

DEMO_SEED = 1
COMPLETE = ".complete"  # written last: a sample folder without it is regenerated
DEMO_DDL = """
create table if not exists meta.demo (
    run_id bigint not null,
    made_at timestamptz not null,
    seed bigint not null,
    scale double not null,
    sample varchar not null,
    source varchar not null
)
"""


@dataclass(frozen=True)
class DemoSettings:
    db: str | Path | None
    seed: int = DEMO_SEED
    scale: float = 1.0
    force: bool = False
    wait: float = DEFAULT_WAIT_SECONDS


@dataclass
class DemoResult:
    db: Path
    sample: Path  # the generated data: raw/ and inventory-weeks/
    source: Path  # the folder the warehouse loaded and snapshotted (its remembered source)
    generated: bool  # False when the cached sample was reused
    replaced: bool  # an earlier warehouse was replaced
    snapshots: list[tuple[int, datetime]] = field(default_factory=list)  # (week, taken_at)
    report: WeeklyReport = field(default_factory=WeeklyReport)
    stock: str | None = None  # the stock-aware funnel in one sentence


def generator_fingerprint() -> str:
    """A short hash of the generator's code and SQL: a changed generator gets a fresh cache."""
    import hashlib

    from greenery_cli import generate, sample_words
    from greenery_cli.resources import ENGINE_QUERIES

    digest = hashlib.sha256()
    files = [Path(generate.__file__), Path(sample_words.__file__)]
    files += sorted((ENGINE_QUERIES / "generate").glob("*.sql"))
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def sample_dir(seed: int, scale: float) -> Path:
    name = f"sample-{__version__}-{generator_fingerprint()}-seed{seed}-scale{scale:g}"
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError:
        root = Path(tempfile.gettempdir()) / f"greenery-{os.getuid()}"
        root.mkdir(parents=True, exist_ok=True)
    return root / name


@contextmanager
def _folder_lock(path: Path, wait: float) -> Iterator[None]:
    """One demo at a time per sample folder (they rewrite its working source)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"another greenery demo is using the sample in {path} "
                        f"(waited {wait:g}s; see --wait)"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def ensure_sample(folder: Path, seed: int, scale: float) -> bool:
    """Generate the sample into `folder` unless a complete one is there; True if generated."""
    from greenery_cli.generate import GenerateSettings, generate

    if (folder / COMPLETE).is_file():
        return False
    (folder / COMPLETE).unlink(missing_ok=True)
    generate(GenerateSettings(out=folder, seed=seed, scale=scale))
    (folder / COMPLETE).write_text(f"greenery {__version__} seed {seed} scale {scale:g}\n")
    return True


def read_schedule(folder: Path) -> list[tuple[int, datetime, Path]]:
    import csv

    weeks = folder / "inventory-weeks"
    with (weeks / "schedule.csv").open(newline="") as handle:
        return [
            (
                int(row["week"]),
                datetime.fromisoformat(row["snapshot_at"].replace("Z", "+00:00")),
                weeks / row["file"],
            )
            for row in csv.DictReader(handle)
        ]


def demo_made(db: Path, wait: float) -> str | None:
    """None when the demo may replace `db`; otherwise the reason it may not."""
    from greenery_cli.sql import render
    from greenery_cli.warehouse import open_warehouse

    if not db.exists():
        return None
    try:
        with open_warehouse(db, wait=wait) as wh:
            if not wh.table_exists("meta", "demo"):
                return "it was not made by `greenery demo`"
            snapshots = wh.table_exists("snapshots", "snapshot_runs")
            since = wh.rows(render("demo/foreign_writes.sql", snapshots=snapshots))
            if since:
                command, run_id = since[0]
                return (
                    f"`greenery {command}` (run {run_id}) brought other data into it after "
                    "the demo made it"
                )
    except WarehouseBusy:
        raise
    except GreeneryError as exc:
        return f"it is not a greenery warehouse the demo made ({exc})"
    return None


def _refuse_unless_demos(db: Path, settings: DemoSettings) -> None:
    if settings.force:
        return
    reason = demo_made(db, settings.wait)
    if reason:
        raise UsageError(
            f"{db} already exists and {reason}; the demo will not replace it. "
            "Point --db / GREENERY_DB elsewhere, or pass --force to replace it."
        )


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".lock")):
        leftover.unlink(missing_ok=True)


def _build(
    tmp: Path, sample: Path, source: Path, settings: DemoSettings
) -> list[tuple[int, datetime]]:
    """Load the sample, then replay its weekly product states as snapshots, into `tmp`."""
    from greenery_cli.load import LoadSettings, load
    from greenery_cli.runlog import recorded_run
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot
    from greenery_cli.warehouse import open_warehouse

    schedule = read_schedule(sample)
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(sample / "raw", source)
    shutil.copyfile(schedule[0][2], source / "products.csv")
    load(LoadSettings(db=tmp, source=str(source), wait=settings.wait))
    taken: list[tuple[int, datetime]] = []
    for week, at, products in schedule:
        shutil.copyfile(products, source / "products.csv")
        result = take_snapshot(SnapshotSettings(db=tmp, source=str(source), at=at))
        taken.append((week, result.taken_at))
    with open_warehouse(tmp, write=True, wait=settings.wait) as wh:
        args = {"seed": settings.seed, "scale": settings.scale, "sample": str(sample)}
        with recorded_run(wh, "demo", args) as run:
            wh.execute(DEMO_DDL)
            wh.execute(
                "insert into meta.demo values (?, current_timestamp, ?, ?, ?, ?)",
                [run.run_id, settings.seed, settings.scale, str(sample), str(source.resolve())],
            )
    return taken


def demo(settings: DemoSettings) -> DemoResult:
    from greenery_cli.report import build_report
    from greenery_cli.warehouse import writer_lock

    db = resolve_db_path(settings.db).absolute()
    _refuse_unless_demos(db, settings)  # fail before any work; checked again before the move
    sample = sample_dir(settings.seed, settings.scale)
    with _folder_lock(sample, settings.wait):
        generated = ensure_sample(sample, settings.seed, settings.scale)
        source = sample / "source"
        db.parent.mkdir(parents=True, exist_ok=True)
        tmp = db.with_name(f".{db.name}.demo-{os.getpid()}.tmp")
        _remove_database(tmp)
        try:
            taken = _build(tmp, sample, source, settings)
            with writer_lock(db, settings.wait):
                _refuse_unless_demos(db, settings)
                replaced = db.exists()
                # a stale WAL of the old file must not be replayed into the new one
                db.with_name(db.name + ".wal").unlink(missing_ok=True)
                with interrupts.deferred():  # the rename is the commit: never cut in half
                    os.replace(tmp, db)
                    interrupts.changed(str(db))
        finally:
            _remove_database(tmp)
    result = DemoResult(db, sample, source, generated, replaced, taken)
    result.report = build_report(db, wait=settings.wait)
    result.stock = _stock_sentence(db)
    return result


def _stock_sentence(db: Path) -> str | None:
    """What no funnel tool shows: how views of out-of-stock products converted."""
    from greenery_cli.funnel import FunnelSettings, answer, stock_summary

    try:
        return stock_summary(answer(db, "by-product", FunnelSettings()))
    except GreeneryError:
        return None
