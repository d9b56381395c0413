"""What the hardening costs: this checkout against another revision, whole processes, interleaved.

    python bench/hardening.py --scales 100,1000 --repeat 2 --before main

For each scale it generates the sample (Parquet, cached in --work), then times as child processes
(bench/launch.py: wall, CPU), alternating the two checkouts run by run so both meet the same
machine load: a load into a new warehouse; a load with nothing changed, alone and while another
process holds the warehouse open for reading; an hourly load that finds a new batch file with the
newest 1% of events (events a folder of files, the warehouse restored untimed before each run);
a no-change snapshot rerun; `freshness`; and a read-only `query`. A writer copies the published
warehouse before it works unless it found nothing to change and no reader holds the file
(docs/warehouse.md), so the hourly load, the snapshot, freshness and the no-change load beside a
reader carry that copy. It also times the copy alone (copy_file_range, then fsync) of each
scale's warehouse. Prints a table: median wall and CPU seconds of each side and their ratios
(after / before), and each load's share of a full load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Step, run_step  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RAW_TABLES = ("addresses", "users", "promos", "products", "orders", "order_items", "events")
HOLD = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print(con.execute('select count(*) from meta.runs').fetchone()[0], flush=True)\n"
    "sys.stdin.readline()\n"
)


def checkout(revision: str, into: Path) -> Path:
    """The tree of `revision`, extracted (not a worktree: nothing is registered in the repo)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def greenery(tree: Path, cwd: Path, *args: str) -> Step:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("GREENERY_DB", None)
    return Step((sys.executable, "-m", "greenery_cli", *args), env, cwd)


def sample(work: Path, scale: int, tree: Path) -> Path:
    out = work / f"scale{scale}-parquet"
    if not (out / "raw" / "events.parquet").is_file():
        step = greenery(tree, work, "generate", str(out), "--scale", str(scale), "--seed", "0")
        run_step(Step((*step.argv, "--format", "parquet"), step.env, step.cwd), work)
    return out / "raw"


def hourly_source(raw: Path, place: Path) -> tuple[Path, Path]:
    """A copy of the source whose events are a folder holding all but the newest 1% of them, and
    a file of that newest 1% to drop in."""
    import duckdb

    source = place / "hourly"
    shutil.rmtree(source, ignore_errors=True)
    (source / "events").mkdir(parents=True)
    for table in RAW_TABLES[:-1]:
        (source / f"{table}.parquet").symlink_to((raw / f"{table}.parquet").resolve())
    older, newest = source / "events" / "part-0.parquet", place / "part-1.parquet"
    con = duckdb.connect()
    con.execute(f"create view e as select * from read_parquet('{raw / 'events.parquet'}')")
    cut = con.execute("select quantile_disc(created_at, 0.99) from e").fetchall()[0][0]
    for target, op in ((older, "<"), (newest, ">=")):
        con.execute(
            f"copy (select * from e where created_at {op} $cut) to '{target}' (format parquet)",
            {"cut": cut},
        )
    con.close()
    return source, newest


def copy_seconds(db: Path) -> float:
    """copy_file_range of the whole file, then fsync: what a copying writer pays before it works."""
    target = db.with_name(db.name + ".benchcopy")
    started = time.perf_counter()
    with db.open("rb") as src, target.open("wb") as dst:
        size, done = os.fstat(src.fileno()).st_size, 0
        while done < size:
            step = os.copy_file_range(src.fileno(), dst.fileno(), min(64 << 20, size - done))
            if not step:
                break
            done += step
        os.fsync(dst.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


@contextmanager
def reader_holding(db: Path) -> Iterator[None]:
    """Another process with the warehouse open read-only for the whole block."""
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert reader.stdout is not None
    reader.stdout.readline()
    try:
        yield
    finally:
        reader.communicate(input=b"\n", timeout=60)


def tolerant(step: Step) -> Step:
    """The step with exit 1 taken as done (freshness: the sample's data may be stale)."""
    return Step(("sh", "-c", '"$@" || [ $? -eq 1 ]', "sh", *step.argv), step.env, step.cwd)


def remove_db(db: Path) -> None:
    """The warehouse and what lives beside it (lock, WAL, spill folder, working copies)."""
    for pattern in (db.name, f"{db.name}.*", f".{db.name}.work-*"):
        for leftover in db.parent.glob(pattern):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


Case = tuple[str, Callable[[str], Step], Callable[[str], None] | None, bool]


def run_scale(
    scale: int, trees: dict[str, Path], work: Path, scratch: Path, repeat: int
) -> list[tuple[int, str, dict[str, list[tuple[float, float]]]]]:
    """Every case at one scale, both sides interleaved; also prints each as it is measured."""
    rows: list[tuple[int, str, dict[str, list[tuple[float, float]]]]] = []
    raw = sample(work, scale, trees["after"])
    hourly, newest = hourly_source(raw, scratch)
    dbs = {side: scratch / f"{side}-{scale}.duckdb" for side in trees}
    bases = {side: scratch / f"base-{side}-{scale}.duckdb" for side in trees}
    for side, tree in trees.items():  # the hourly load's starting point, made once
        remove_db(bases[side])
        run_step(
            greenery(tree, scratch, "--db", str(bases[side]), "load", "--source", str(hourly)),
            scratch,
        )

    def fresh(side: str) -> None:
        remove_db(dbs[side])

    def restore(side: str) -> None:
        remove_db(dbs[side])
        shutil.copyfile(bases[side], dbs[side])
        (hourly / "events" / newest.name).unlink(missing_ok=True)
        shutil.copyfile(newest, hourly / "events" / newest.name)

    def cmd(*command: str) -> Callable[[str], Step]:
        return lambda side: greenery(trees[side], scratch, "--db", str(dbs[side]), *command)

    cases: list[Case] = [
        # name, command, untimed set-up before each run, beside a reader
        ("load, new warehouse", cmd("load", "--source", str(raw)), fresh, False),
        ("load, nothing changed", cmd("load", "--source", str(raw)), None, False),
        ("load, nothing changed, a reader open", cmd("load"), None, True),
        (
            "hourly load, a new file of 1% of events",
            cmd("load", "--source", str(hourly)),
            restore,
            False,
        ),
        ("snapshot, no change", cmd("snapshot", "--source", str(raw)), None, False),
        ("freshness", lambda side: tolerant(cmd("freshness")(side)), None, False),
        ("query (a reader)", cmd("query", "select count(*) from raw.events"), None, False),
    ]
    for name, command, setup, beside_reader in cases:
        times: dict[str, list[tuple[float, float]]] = {side: [] for side in trees}
        for _ in range(repeat):
            for side in trees:
                if setup:
                    setup(side)
                step = command(side)
                if beside_reader and side == "before":
                    times[side].append((float("nan"), float("nan")))  # exits 3: it cannot open
                    continue
                if beside_reader:
                    with reader_holding(dbs[side]):
                        sample_, _ = run_step(step, scratch)
                else:
                    sample_, _ = run_step(step, scratch)
                times[side].append((sample_.wall, sample_.cpu))
        rows.append((scale, name, times))
        print(f"scale {scale} {name}: " + _cells(times).replace(" | ", ", "), flush=True)
        if name == "load, new warehouse":  # leave a loaded warehouse for what follows
            for side in trees:
                run_step(cmd("load", "--source", str(raw))(side), scratch)
                run_step(cmd("snapshot", "--source", str(raw))(side), scratch)
    for side in trees:
        size = dbs[side].stat().st_size / 1e6
        copies = [copy_seconds(dbs[side]) for _ in range(repeat)]
        print(
            f"scale {scale} copy of the {side} warehouse ({size:,.0f} MB): "
            f"median {statistics.median(copies):.2f} s",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100", help="comma-separated generator scales")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--before", default="main", help="the revision to compare against")
    parser.add_argument("--work", type=Path, default=None, help="where samples are kept")
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / "greenery-bench-hardening"
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="hardening-", dir=work))
    trees = {"before": checkout(args.before, scratch / "before"), "after": REPO}
    rows: list[tuple[int, str, dict[str, list[tuple[float, float]]]]] = []
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            rows += run_scale(scale, trees, work, scratch, args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        "\n| scale | case | before wall | after wall | ratio | before CPU | after CPU | ratio |"
        " after, % of a full load (wall / CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    full = {scale: times for scale, name, times in rows if name == "load, new warehouse"}
    for scale, name, times in rows:
        print(f"| {scale} | {name} | {_cells(times)} | {_share(times, full[scale])} |")


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def _cells(times: dict[str, list[tuple[float, float]]]) -> str:
    wall = {s: _median([w for w, _ in t]) for s, t in times.items()}
    cpu = {s: _median([c for _, c in t]) for s, t in times.items()}
    return (
        f"{wall['before']:.2f} s | {wall['after']:.2f} s | {wall['after'] / wall['before']:.2f}x | "
        f"{cpu['before']:.2f} s | {cpu['after']:.2f} s | {cpu['after'] / cpu['before']:.2f}x"
    )


def _share(
    times: dict[str, list[tuple[float, float]]], full: dict[str, list[tuple[float, float]]]
) -> str:
    wall = _median([w for w, _ in times["after"]]) / _median([w for w, _ in full["after"]])
    cpu = _median([c for _, c in times["after"]]) / _median([c for _, c in full["after"]])
    return f"{wall:.1%} / {cpu:.1%}"


if __name__ == "__main__":
    main()
