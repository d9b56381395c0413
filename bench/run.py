"""Benchmarks: greenery against hand-written DuckDB and dbt-duckdb, like for like.

    python bench/run.py --data ../shared/greenery-data --scales 100 --repeat 3 \\
        --results bench/results.json --out BENCHMARKS.md
    python bench/run.py --render --results bench/results.json --out BENCHMARKS.md
    python bench/run.py --list

Every contender runs as whole processes (bench/measure.py): greenery's CLI, the hand-written
DuckDB job (bench/handwritten/job.py) and dbt-duckdb running the peer project in its own virtual
environment (bench/contenders/dbt.py). For each dataset (--data, --replicate, --scales,
--catalogue) and each work item (bench/items.py, `--list`), the contenders run interleaved within
each repeat; every run's answer is checked, and a mismatch stops the benchmark with exit code 1
and writes nothing. Figures go to --results (JSON, merged with earlier runs) and --out (the
results block of BENCHMARKS.md, bench/report.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import replicate  # noqa: E402
from contenders import dbt as dbt_contender  # noqa: E402
from contenders.greenery import Greenery  # noqa: E402
from contenders.handwritten import HandWritten, write_contract  # noqa: E402
from datasets import Contenders, Dataset, mark_prepared, prepared_mark, remove, reusable  # noqa: E402
from items import ITEMS, Item  # noqa: E402
from measure import AnswerMismatch, CommandFailed, describe, interleave, run_untimed  # noqa: E402
from report import machine, write_markdown  # noqa: E402
from results import Figures, Results, Row, ratio, seconds  # noqa: E402

from greenery_cli.warehouse import DEFAULT_MEMORY_LIMIT, is_memory_size  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--data", type=Path, help="an export folder (raw/, inventory-weeks/), labelled 'real'")
    add(
        "--replicate",
        default="",
        help="with --data: also its raw tables repeated K times, "
        "ids suffixed (bench/replicate.py), e.g. 10,100; labelled 'real xK'",
    )
    add("--scales", default="", help="`greenery generate` scales, e.g. 1,100,1000")
    add(
        "--catalogue",
        type=int,
        default=0,
        help="a products catalogue of N products for the snapshot item, e.g. 3000000 (0: none)",
    )
    add("--items", help=f"comma-separated work items (default all): {', '.join(ITEMS)}")
    add("--repeat", type=int, default=3, help="measured runs per contender and item")
    add("--warmup", type=int, default=0, help="unmeasured runs per contender before them")
    add(
        "--format",
        dest="fmt",
        choices=("csv", "parquet"),
        default="parquet",
        help="file format of generated data",
    )
    add(
        "--dbt",
        choices=("install", "if-present", "no"),
        default="install",
        help="dbt-duckdb: install its environment when missing (default), use it only if present, "
        "or leave dbt out",
    )
    add("--dbt-venv", type=Path, default=dbt_contender.DEFAULT_VENV, help="dbt's environment")
    add(
        "--memory-limit",
        type=memory_budget,
        default=DEFAULT_MEMORY_LIMIT,
        help="DuckDB's memory limit for every contender, so that each answers in the same memory "
        f"(default {DEFAULT_MEMORY_LIMIT}, greenery's own default); 'each': every contender at "
        "its own default (greenery 3GB, the hand-written job and dbt-duckdb 80%% of RAM)",
    )
    add("--work", type=Path, help="scratch folder, kept (default: a temporary one, removed)")
    add(
        "--reuse",
        action="store_true",
        help="with --work: reuse the generated exports and question warehouses an earlier run "
        "prepared there to the end (the answers are still checked)",
    )
    add("--results", type=Path, help="JSON results; rows measured now replace earlier ones")
    add("--out", type=Path, help="Markdown page whose results block is rewritten")
    add("--render", action="store_true", help="only rewrite --out from --results")
    add("--list", action="store_true", help="list the work items and exit")
    args = parser.parse_args(argv)
    if args.render and not (args.results and args.out):
        parser.error("--render needs --results and --out")
    if args.reuse and not args.work:
        parser.error("--reuse needs --work (the folder an earlier run prepared)")
    args.item_keys = [k.strip() for k in args.items.split(",")] if args.items else list(ITEMS)
    unknown = [k for k in args.item_keys if k not in ITEMS]
    if unknown:
        parser.error(f"unknown work item(s) {', '.join(unknown)}; known: {', '.join(ITEMS)}")
    return args


def memory_budget(value: str) -> str:
    """--memory-limit: a size DuckDB reads (3GB, 512MB) or 'each'."""
    if value == "each" or is_memory_size(value):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: write a size like 3GB or 512MB, or each")


def tidy(command: str, work: Path) -> str:
    """A command as BENCHMARKS.md shows it: scratch paths as $WORK, the repository as `.`."""
    return (
        command.replace(str(work), "$WORK")
        .replace(str(REPO.parent / "shared"), "../shared")
        .replace(str(REPO) + "/", "")
    )


def list_items() -> None:
    for item in ITEMS.values():
        print(f"{item.key}: {item.title} ({', '.join(item.kinds)} datasets)")
        print(f"    measures: {item.measures}")
        print(f"    check: {item.check}")


def datasets(args: argparse.Namespace, c: Contenders, work: Path) -> Iterator[Dataset]:
    """Every dataset to measure, each prepared only when its turn comes."""
    yield Dataset("cli", work / "cli", c)
    if args.data:
        yield Dataset("real", work / "real", c, export=args.data.resolve())
        for copies in [int(k) for k in args.replicate.split(",") if k.strip()]:
            place = work / f"real-x{copies}"
            export = replicate.replicate(args.data, place / "export", copies, args.fmt)
            yield Dataset(f"real x{copies}", place, c, export=export)
    for scale in [int(s) for s in args.scales.split(",") if s.strip()]:
        place = work / f"scale-{scale}"
        recipe = f"greenery generate --scale {scale} --seed 0 --file-format {args.fmt}"
        if not reusable(place / "export", recipe, c.reuse):
            prepared_mark(place / "export").unlink(missing_ok=True)
            run_untimed(c.greenery.generate(place / "export", scale, args.fmt))
            mark_prepared(place / "export", recipe)
        yield Dataset(f"scale {scale}", place, c, export=place / "export")
    if args.catalogue:
        place = work / f"products-{args.catalogue}"
        yield Dataset(f"{args.catalogue} products", place, c, catalogue=args.catalogue)


def measure_item(item: Item, ds: Dataset, args: argparse.Namespace, work: Path) -> Row:
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    row = Row(ds.name, item.key, item.title, run=-1)
    why = item.requires(ds) if item.requires else None
    if why:
        row.skipped = why
        return row
    plans = item.plans(ds)
    expected = item.expected(ds) if item.expected else None
    outcome = interleave(
        f"{ds.name}, {item.title}",
        plans,
        max(args.repeat, item.min_repeat),
        expected=expected,
        warmup=args.warmup,
    )
    for name, samples in outcome.samples.items():
        row.contenders[name] = Figures(
            tidy(plans[name].shown, work),
            [s.wall for s in samples],
            [s.cpu for s in samples],
            [s.rss_mb for s in samples],
        )
    row.answer = describe(outcome.answer, 4000)
    row.load = [load_before, os.getloadavg()[0]]
    row.took_s = time.perf_counter() - started
    return row


def print_row(row: Row) -> None:
    if row.skipped:
        print(f"{row.dataset:<16} {row.title:<32} skipped: {row.skipped}", flush=True)
        return
    parts = [
        f"{name} {seconds(f.median)} [{seconds(min(f.wall))}-{seconds(max(f.wall))}] "
        f"cpu {seconds(f.cpu_median)} {f.peak_rss:.0f} MB"
        for name, f in row.contenders.items()
    ]
    c = row.contenders
    if "greenery" in c and "hand-written" in c:
        parts.append(f"g/h {ratio(c['greenery'], c['hand-written']):.2f}x")
    if "greenery" in c and "dbt" in c:
        parts.append(f"dbt/g {ratio(c['dbt'], c['greenery']):.2f}x")
    print(f"{row.dataset:<16} {row.title:<32} " + " | ".join(parts), flush=True)


def contenders(args: argparse.Namespace, work: Path) -> tuple[Contenders, dict[str, str]]:
    dbt = None
    versions: dict[str, str] = {}
    limit = None if args.memory_limit == "each" else args.memory_limit
    if args.dbt != "no":
        venv = args.dbt_venv.resolve()
        if not dbt_contender.venv_ready(venv) and args.dbt == "install":
            dbt_contender.install(venv)
        if dbt_contender.venv_ready(venv):
            dbt = dbt_contender.Dbt(venv, work, memory_limit=limit)
            versions = dbt_contender.versions(venv)
        else:
            print(f"note: no dbt environment at {venv}: dbt left out", file=sys.stderr)
    greenery = Greenery(work, memory_limit=limit)
    hand = HandWritten(write_contract(work / "contract.json"), work, memory_limit=limit)
    return Contenders(greenery, hand, dbt, args.fmt, reuse=args.reuse), versions


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        list_items()
        return 0
    if args.render:
        write_markdown(args.out, Results.read(args.results))
        return 0
    started, load_start, clock = datetime.now(UTC), os.getloadavg(), time.perf_counter()
    work = (args.work or Path(tempfile.mkdtemp(prefix="greenery-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    try:
        c, dbt_versions = contenders(args, work)
        for ds in datasets(args, c, work):
            for key in args.item_keys:
                item = ITEMS[key]
                if ds.kind in item.kinds:
                    rows.append(measure_item(item, ds, args, work))
                    print_row(rows[-1])
                    if args.work is None:
                        ds.clean()
            if args.work is None:
                remove(ds.place)  # big scales: one dataset's files on disk at a time
    except (AnswerMismatch, CommandFailed) as failure:
        print(f"\nBENCHMARK FAILED: {failure}\nnothing was written.", file=sys.stderr)
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    load_end = os.getloadavg()
    run = {
        "command": shlex.join(
            ["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": time.perf_counter() - clock,
        "load_average": f"{', '.join(f'{x:.2f}' for x in load_start)} at start, "
        f"{', '.join(f'{x:.2f}' for x in load_end)} at end (1, 5, 15 min)",
        "machine": machine(dbt_versions),
        "memory_limit": "each contender at its own default"
        if args.memory_limit == "each"
        else f"{args.memory_limit} for every contender",
    }
    if args.results:
        results = Results.read(args.results)
        results.merge(rows, run)
        results.write(args.results)
    else:
        results = Results()
        results.merge(rows, run)
    if args.out:
        write_markdown(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
