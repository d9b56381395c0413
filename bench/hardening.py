"""What the hardening costs: this checkout against another revision, whole processes, interleaved.

    python bench/hardening.py --scales 100,1000 --repeat 2 --before main

For each scale it generates the sample (CSV and Parquet, cached in --work), then times as child
processes, alternating the two checkouts run by run so both meet the same machine load:
a load into a new warehouse (CSV, Parquet), a reload over the loaded one, a no-change snapshot
rerun, `freshness` and a read-only `query`. A writer now copies the published warehouse before it
works (docs/warehouse.md), so the reload, the snapshot and freshness carry that copy; the load
into a new warehouse carries the exact per-value checks. It also times the copy alone
(copy_file_range, then fsync) of each scale's warehouse. Prints a table: median wall and CPU
seconds of each side and their ratios (after / before).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import run_once  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def checkout(revision: str, into: Path) -> Path:
    """The tree of `revision`, extracted (not a worktree: nothing is registered in the repo)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def greenery(tree: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("GREENERY_DB", None)
    return [sys.executable, "-m", "greenery_cli", *args], env


def sample(work: Path, scale: int, fmt: str, tree: Path) -> Path:
    out = work / f"scale{scale}-{fmt}"
    if not (out / "raw" / f"events.{fmt}").is_file():
        argv, env = greenery(tree, "generate", str(out), "--scale", str(scale), "--seed", "0")
        run_once([*argv, "--format", fmt], env)
    return out / "raw"


def copy_seconds(db: Path) -> float:
    """copy_file_range of the whole file, then fsync: what a writer pays before it works."""
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
    rows: list[tuple[str, str, dict[str, list[tuple[float, float]]]]] = []
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            csv_raw = sample(work, scale, "csv", trees["after"])
            parquet_raw = sample(work, scale, "parquet", trees["after"])
            dbs = {side: scratch / f"{side}-{scale}.duckdb" for side in trees}

            def fresh(side: str, dbs: dict[str, Path] = dbs) -> None:
                for leftover in scratch.glob(f"{dbs[side].name}*"):
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()

            snapshot = ["snapshot", "--source", str(parquet_raw)]
            cases = [
                # name, command, before each run, run once untimed first
                ("load CSV, new warehouse", ["load", "--source", str(csv_raw)], fresh, False),
                (
                    "load Parquet, new warehouse",
                    ["load", "--source", str(parquet_raw)],
                    fresh,
                    False,
                ),
                ("reload over the warehouse", ["load", "--source", str(parquet_raw)], None, False),
                ("snapshot, no change", snapshot, None, True),
                ("freshness", ["freshness"], None, False),
                ("query (a reader)", ["query", "select count(*) from raw.events"], None, False),
            ]
            for name, command, setup, warm in cases:
                times: dict[str, list[tuple[float, float]]] = {side: [] for side in trees}
                for side, tree in trees.items() if warm else ():
                    run_once(*greenery(tree, "--db", str(dbs[side]), *command))
                for _ in range(args.repeat):
                    for side, tree in trees.items():
                        if setup:
                            setup(side)
                        argv, env = greenery(tree, "--db", str(dbs[side]), *command)
                        if command == ["freshness"]:  # the sample's data may be stale: exit 1
                            argv = ["sh", "-c", '"$@" || [ $? -eq 1 ]', "sh", *argv]
                        wall, _rss, cpu = run_once(argv, env)
                        times[side].append((wall, cpu))
                rows.append((f"scale {scale}", name, times))
                print(f"scale {scale} {name}: " + _summary(times), flush=True)
            for side in trees:
                size = dbs[side].stat().st_size / 1e6
                copies = [copy_seconds(dbs[side]) for _ in range(args.repeat)]
                print(
                    f"scale {scale} copy of the {side} warehouse ({size:,.0f} MB): "
                    f"median {statistics.median(copies):.2f} s",
                    flush=True,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n| data | case | before wall | after wall | ratio | before CPU | after CPU | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for data, name, times in rows:
        print(f"| {data} | {name} | {_cells(times)} |")


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


def _summary(times: dict[str, list[tuple[float, float]]]) -> str:
    return _cells(times).replace(" | ", ", ")


if __name__ == "__main__":
    main()
