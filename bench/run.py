"""Benchmarks: each greenery command against the same work hand-written in DuckDB.

    python bench/run.py --scales 1,100,1000,10000 --repeat 3 --out BENCHMARKS.md

For each scale of the sample-data generator (`greenery generate`), and for an existing export
folder given with --data (the real dataset: `--data ../shared/greenery-data`, labelled "real"),
it times, as child processes, the real CLI: generate, load, the first snapshot, a snapshot with
10% of products changed, the no-change rerun, `funnel --by-step`, `funnel --by product`,
inventory-changes, fluctuations, stockouts and report; then `greenery --help`, and a snapshot of a
large catalogue (--big-products, default 1,000,000, 10% changed). Each figure is the median of
--repeat runs with min, max and peak RSS. Beside each, the hand-written DuckDB baseline
(bench/baselines.py, bench/handwritten/*.sql) runs in this process on the same data, and the
ratio greenery / hand-written is printed and written to --out (Markdown) and --results (JSON,
merged with the results already there, so big scales can be run separately).

Commands that greenery does not have yet (generate, snapshot) are skipped with a printed note;
without the snapshot engine the inventory history is built by the hand-written merge.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines  # noqa: E402
import replicate  # noqa: E402
from harness import Measurement, measure, measure_inprocess, measure_pair, run_once  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIRST_AT = datetime(2024, 1, 1, 6, tzinfo=UTC)  # the first snapshot of the snapshot cases
CHANGED_AT = FIRST_AT + timedelta(days=7)  # the 10%-changed snapshot
MB_LIMIT = 4096
TARGETS = {
    # case -> (dataset it applies to, limit, what); ratio targets unless noted
    "load": ("scale 10000", 1.3, "ratio"),
    "funnel --by-step": ("scale 10000", 1.3, "ratio"),
    "funnel --by product": ("scale 10000", 1.3, "ratio"),
    "snapshot 10% changed": ("1000000 products", 1.5, "ratio"),
    "greenery --help": ("cli", 0.150, "seconds"),
    "report": ("real-size", 0.5, "seconds"),
}
CASES = (
    "generate",
    "load",
    "snapshot first run",
    "snapshot 10% changed",
    "snapshot no-change rerun",
    "funnel --by-step",
    "funnel --by product",
    "inventory-changes",
    "fluctuations",
    "stockouts",
    "report",
    "greenery --help",
)

HAND_DOES = {
    "generate": "no generator by hand: DuckDB COPY of the same generated tables, already in "
    "memory, to files of the same format (the cost of writing the output, a floor)",
    "load": "a new DuckDB file: the seven raw files read with read_csv (header, the contract's "
    "column types) or read_parquet with a cast per column, the seeds read the same way, then "
    "every model's rendered SELECT as CREATE TABLE in build order, in one transaction; no key "
    "checks, no run log",
    "snapshot first run": "bench/handwritten/snapshot_merge.sql on a copy of the same loaded "
    "warehouse: stage products (typed read), find new/changed/vanished against the current "
    "versions, close them, insert new versions and tombstones and the run row, in one "
    "transaction; no validation or invariant checks",
    "snapshot 10% changed": "the same merge on a copy of the same warehouse after the first "
    "snapshot, with the same products file (every 10th product by id has a new inventory)",
    "snapshot no-change rerun": "the same merge again on the unchanged file (writes only the run "
    "row)",
    "funnel --by-step": "bench/handwritten/funnel_by_step.sql over marts.fct_funnel_events: "
    "first page_view per session, then any add_to_cart / checkout within 24 h after it (mode "
    "any, unit session, the definition of queries/reports/funnel_*.sql); counts only",
    "funnel --by product": "bench/handwritten/funnel_by_product.sql over "
    "marts.fct_product_funnel_events, the same definition per (session, product), every "
    "product of marts.dim_products listed",
    "inventory-changes": "bench/handwritten/inventory_changes.sql: state as of the previous and "
    "the latest snapshot run, full outer join, rows that differ",
    "fluctuations": "bench/handwritten/fluctuations.sql: inventory states per product (repeats "
    "merged), changes, total change, min/max/stddev, first/last, path, rank",
    "stockouts": "bench/handwritten/stockouts.sql: spells of consecutive versions at inventory "
    "<= 0 overlapping the 3 weeks before the latest run, with restock",
    "report": "the four hand-written queries of its sections (inventory changes, fluctuations, "
    "stockouts, funnel by step) on one read-only connection",
    "greenery --help": "`python -c pass`: the interpreter's own start-up, as a child process",
}


@dataclass
class Row:
    dataset: str
    case: str
    command: str
    greenery: dict[str, float] | None = None
    hand: dict[str, float] | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.greenery and self.hand and self.hand["median"] > 0:
            return self.greenery["median"] / self.hand["median"]
        return None

    @property
    def cpu_ratio(self) -> float | None:
        g, h = self.greenery or {}, self.hand or {}
        if math.isfinite(g.get("cpu", math.nan)) and h.get("cpu", 0) > 0:
            return g["cpu"] / h["cpu"]
        return None


def figures(m: Measurement) -> dict[str, float]:
    return {
        "median": m.median,
        "min": m.low,
        "max": m.high,
        "peak_rss_mb": m.peak_rss_mb,
        "cpu": m.cpu_median,
        "runs": float(len(m.seconds)),
    }


@dataclass
class Bench:
    work: Path
    repeat: int
    fmt: str
    only: set[str] | None
    rows: list[Row] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"}
        script = Path(sys.executable).parent / "greenery"
        self.greenery = [str(script)] if script.exists() else [sys.executable, "-m", "greenery_cli"]
        self.has_generate = self.available("generate")
        self.has_snapshot = self.available("snapshot")
        self.plan = baselines.load_plan()

    def available(self, command: str) -> bool:
        probe = subprocess.run(
            [*self.greenery, command, "--help"], capture_output=True, env=self.env, check=False
        )
        return probe.returncode == 0

    def wanted(self, case: str) -> bool:
        return self.only is None or case in self.only

    def cli(self, db: Path | None, *args: str) -> list[str]:
        return [*self.greenery, *(["--db", str(db)] if db else []), *args]

    def shown(self, argv: list[str]) -> str:
        return " ".join(Path(a).name if a == self.greenery[0] else a for a in argv)

    def record(
        self,
        dataset: str,
        case: str,
        argv: list[str] | None,
        hand: Callable[[], object] | None,
        setup: Callable[[], object] | None = None,
        hand_setup: Callable[[], object] | None = None,
        note: str = "",
    ) -> Row:
        row = Row(dataset, case, self.shown(argv or []), note=note)
        if argv is not None and hand is not None:
            ours, theirs = measure_pair(
                case, argv, hand, self.repeat, setup, hand_setup, env=self.env
            )
            row.greenery, row.hand = figures(ours), figures(theirs)
        elif argv is not None:
            row.greenery = figures(measure(case, argv, self.repeat, setup=setup, env=self.env))
        elif hand is not None:
            row.hand = figures(measure_inprocess(case, hand, self.repeat, setup=hand_setup))
        self.rows.append(row)
        print_row(row)
        return row

    def skip(self, dataset: str, case: str, why: str) -> None:
        row = Row(dataset, case, "", note=f"skipped: {why}")
        self.rows.append(row)
        print_row(row)

    # --- datasets -------------------------------------------------------------------------

    def generated(self, scale: int) -> Path | None:
        dataset = f"scale {scale}"
        out = self.work / f"scale-{scale}"
        if not self.has_generate:
            self.skip(dataset, "generate", "`greenery generate` is not on this branch yet")
            return None
        argv = self.cli(None, "generate", str(out), "--scale", str(scale), "--seed", "0")
        argv += ["--format", self.fmt]
        if self.wanted("generate"):
            row = Row(dataset, "generate", self.shown(argv))
            row.greenery = figures(
                measure("generate", argv, self.repeat, setup=lambda: remove(out), env=self.env)
            )
            con, files = baselines.floor_tables(out)
            floor = self.work / "floor"
            row.hand = figures(
                measure_inprocess(
                    "generate",
                    lambda: baselines.write_floor(con, files, floor),
                    self.repeat,
                    setup=lambda: remove(floor),
                )
            )
            con.close()
            remove(floor)
            self.rows.append(row)
            print_row(row)
        else:
            run_once(argv, self.env)
        return out

    def dataset(self, name: str, folder: Path) -> None:
        """Every per-dataset case over an export folder (raw/ and inventory-weeks/)."""
        raw = folder / "raw"
        place = self.work / name.replace(" ", "-")
        place.mkdir(parents=True, exist_ok=True)
        loaded = place / "loaded.duckdb"
        hand_db = place / "hand.duckdb"
        load_argv = self.cli(loaded, "load", "--source", str(raw))
        if self.wanted("load"):
            self.record(
                name,
                "load",
                load_argv,
                lambda: baselines.load(hand_db, raw, self.plan),
                setup=lambda: remove_db(loaded),
                hand_setup=lambda: remove_db(hand_db),
            )
        else:
            remove_db(loaded)
            run_once(load_argv, self.env)
        remove_db(hand_db)
        self.snapshot_cases(name, place, loaded, raw / products_name(raw))
        history = self.history(place, loaded, folder / "inventory-weeks")
        self.read_cases(name, history)

    def snapshot_cases(self, name: str, place: Path, loaded: Path, products: Path) -> None:
        cases = ("snapshot first run", "snapshot 10% changed", "snapshot no-change rerun")
        if not any(self.wanted(c) for c in cases):
            return
        if not self.has_snapshot:
            for case in cases:
                self.skip(name, case, "`greenery snapshot` is not on this branch yet")
            return
        first_dir = place / "products-first"
        changed_dir = place / "products-changed"
        link_products(products, first_dir)
        changed = write_changed(products, changed_dir)
        base, run_db = place / "snap-base.duckdb", place / "snap.duckdb"
        hand_base, hand_db = place / "hand-base.duckdb", place / "hand-snap.duckdb"
        first_args = ("snapshot", "--source", str(first_dir), "--at", iso(FIRST_AT))
        first_argv = self.cli(run_db, *first_args)
        n_changed = f"{changed[0]:,} of {changed[1]:,} products changed"
        if self.wanted("snapshot first run"):
            self.record(
                name,
                "snapshot first run",
                first_argv,
                lambda: baselines.snapshot(hand_db, products, FIRST_AT),
                setup=lambda: copy_db(loaded, run_db),
                hand_setup=lambda: copy_db(loaded, hand_db),
                note=f"{changed[1]:,} products",
            )
        # the state after the first snapshot, for greenery and for the baseline
        copy_db(loaded, base)
        run_once(self.cli(base, *first_args), self.env)
        copy_db(base, hand_base)  # the baseline merges into greenery's own snapshot tables
        changed_argv = self.cli(run_db, "snapshot", "--source", str(changed_dir))
        changed_argv += ["--at", iso(CHANGED_AT)]
        changed_products = changed_dir / products.name
        if self.wanted("snapshot 10% changed"):
            self.record(
                name,
                "snapshot 10% changed",
                changed_argv,
                lambda: baselines.snapshot(hand_db, changed_products, CHANGED_AT),
                setup=lambda: copy_db(base, run_db),
                hand_setup=lambda: copy_db(hand_base, hand_db),
                note=n_changed,
            )
        if self.wanted("snapshot no-change rerun"):
            # run_db and hand_db now hold the 10%-changed run; rerun without --at (now)
            self.record(
                name,
                "snapshot no-change rerun",
                self.cli(run_db, "snapshot", "--source", str(changed_dir)),
                lambda: baselines.snapshot(hand_db, changed_products, datetime.now(UTC)),
                note="0 changes",
            )
        for db in (base, run_db, hand_base, hand_db):
            remove_db(db)

    def history(self, place: Path, loaded: Path, weeks: Path) -> Path:
        """The loaded warehouse plus the weekly product states replayed as snapshots."""
        history = place / "history.duckdb"
        copy_db(loaded, history)
        with (weeks / "schedule.csv").open(newline="") as handle:
            schedule = list(csv.DictReader(handle))
        for week in schedule:
            at = datetime.fromisoformat(week["snapshot_at"].replace("Z", "+00:00"))
            if self.has_snapshot:
                folder = place / f"week-{week['week']}"
                link_products(weeks / week["file"], folder)
                run_once(
                    self.cli(history, "snapshot", "--source", str(folder), "--at", iso(at)),
                    self.env,
                )
            else:
                baselines.snapshot(history, weeks / week["file"], at)
        return history

    def read_cases(self, name: str, db: Path) -> None:
        built_by = "" if self.has_snapshot else "history built by the hand-written merge"
        reads = (
            ("funnel --by-step", ("funnel", "--by-step"), ("funnel_by_step",)),
            ("funnel --by product", ("funnel", "--by", "product"), ("funnel_by_product",)),
            ("inventory-changes", ("inventory-changes",), ("inventory_changes",)),
            ("fluctuations", ("fluctuations",), ("fluctuations",)),
            ("stockouts", ("stockouts",), ("stockouts",)),
            (
                "report",
                ("report",),
                ("inventory_changes", "fluctuations", "stockouts", "funnel_by_step"),
            ),
        )
        for case, args, queries in reads:
            if not self.wanted(case):
                continue
            note = built_by if not case.startswith("funnel") else ""
            self.record(
                name,
                case,
                self.cli(db, *args, "--format", "json"),
                lambda q=queries: baselines.query(db, q),  # type: ignore[misc]
                note=note,
            )

    def startup(self) -> None:
        if self.wanted("greenery --help"):
            repeat = max(self.repeat, 10)  # cheap and noisy: more runs for a steadier median
            hand = measure("python -c pass", [sys.executable, "-c", "pass"], repeat)
            row = Row("cli", "greenery --help", "greenery --help", hand=figures(hand))
            row.greenery = figures(
                measure("--help", self.cli(None, "--help"), repeat, env=self.env)
            )
            row.note = f"{repeat} runs"
            self.rows.append(row)
            print_row(row)

    def big_snapshot(self, products: int) -> None:
        name = f"{products} products"
        cases = ("snapshot first run", "snapshot 10% changed", "snapshot no-change rerun")
        if not self.has_snapshot:
            for case in cases:
                self.skip(name, case, "`greenery snapshot` is not on this branch yet")
            return
        place = self.work / f"products-{products}"
        source = place / "catalogue"
        source.mkdir(parents=True, exist_ok=True)
        catalogue = source / f"products.{self.fmt}"
        write_catalogue(catalogue, products)
        empty = place / "empty.duckdb"
        remove_db(empty)
        self.snapshot_cases(name, place, empty, catalogue)
        remove(place)


# --- files ----------------------------------------------------------------------------------


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def remove_db(db: Path) -> None:
    for suffix in ("", ".wal", ".lock"):
        remove(db.with_name(db.name + suffix))


def copy_db(source: Path, target: Path) -> None:
    remove_db(target)
    if source.exists():
        shutil.copyfile(source, target)


def products_name(raw: Path) -> str:
    return baselines.export_file(raw, "products").name


def link_products(products: Path, folder: Path) -> None:
    """A source folder holding only products.<ext> (the snapshot reads nothing else)."""
    remove(folder)
    folder.mkdir(parents=True)
    (folder / f"products{products.suffix}").symlink_to(products.resolve())


def write_changed(products: Path, folder: Path) -> tuple[int, int]:
    """products.<ext> with every 10th product (by id) given a new inventory: (changed, all)."""
    import duckdb

    remove(folder)
    folder.mkdir(parents=True)
    target = folder / products.name
    options = "(format csv, header true)" if products.suffix == ".csv" else "(format parquet)"
    con = duckdb.connect()
    reader = baselines.typed_reader(products, baselines.PRODUCT_TYPES)
    con.execute(
        f"copy (select product_id, name, price, case when row_number() over (order by "
        f"product_id) % 10 = 0 then coalesce(inventory, 0) + 7 else inventory end as inventory "
        f"from ({reader}) order by product_id) to '{target}' {options}"
    )
    total = int(con.execute(f"select count(*) from ({reader})").fetchall()[0][0])
    con.close()
    return total // 10, total


def write_catalogue(target: Path, products: int) -> None:
    """A large products table shaped like the real one (uuid-like ids, names, prices, stock)."""
    import duckdb

    options = "(format csv, header true)" if target.suffix == ".csv" else "(format parquet)"
    con = duckdb.connect()
    con.execute(
        f"copy (select md5(i::varchar)::uuid::varchar as product_id, 'Plant ' || i as name, "
        f"round(5 + (i % 600) / 10.0, 2)::double as price, ((i * 7919) % 120)::integer "
        f"as inventory from range({products}) as t(i)) to '{target}' {options}"
    )
    con.close()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- output ---------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def print_row(row: Row, again: bool = False) -> None:
    g, h = row.greenery or {}, row.hand or {}
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    cpu = f"{row.cpu_ratio:.2f}x" if row.cpu_ratio is not None else "-"
    rss = f"{g['peak_rss_mb']:.0f} MB" if g else "-"
    print(
        f"{row.dataset:<18} {row.case:<26} {seconds(g.get('median')):>9} "
        f"[{seconds(g.get('min'))} .. {seconds(g.get('max'))}] {rss:>8} | "
        f"hand {seconds(h.get('median')):>9} | {ratio:>7} (cpu {cpu:>6})  {row.note}",
        flush=True,
    )


def machine() -> dict[str, str]:
    def sh(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        except OSError:
            return ""

    import duckdb
    import polars

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in sh("lscpu").splitlines()
            if line.startswith("Model name")
        ),
        platform.processor(),
    )
    commit = sh("git", "-C", str(REPO), "rev-parse", "--short", "HEAD").strip()
    return {
        "nproc": sh("nproc").strip(),
        "memory": sh("free", "-h").strip(),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "greenery commit": commit,
    }


def dataset_order(name: str) -> tuple[int, float]:
    if name == "cli":
        return (0, 0)
    if name == "real":
        return (1, 0)
    if name.startswith("real x"):
        return (1, float(name.removeprefix("real x")))
    if name.startswith("scale "):
        return (2, float(name.split()[1]))
    return (3, float(name.split()[0]))


def status(row: Row) -> str:
    target = TARGETS.get(row.case)
    if not target or not row.greenery:
        return ""
    where, limit, kind = target
    if where == "real-size":
        if row.dataset not in ("real", "scale 1"):
            return ""
    elif row.dataset != where and row.dataset != where.replace("scale ", "real x"):
        return ""
    value = row.ratio if kind == "ratio" else row.greenery["median"]
    if value is None:
        return ""
    shown = f"{limit}x" if kind == "ratio" else seconds(limit)
    return f"{'met' if value <= limit else 'MISSED'} (< {shown})"


def targets(rows: list[Row]) -> list[str]:
    """One line per target of issue 11: the figure measured against it, or that it was not."""
    lines = []
    wanted = [
        ("load at scale 10,000", "load", ("scale 10000", "real x10000"), "ratio", 1.3),
        ("funnel --by-step at scale 10,000", "funnel --by-step", ("scale 10000", "real x10000"),
         "ratio", 1.3),
        ("funnel --by product at scale 10,000", "funnel --by product",
         ("scale 10000", "real x10000"), "ratio", 1.3),
        ("snapshot of 1,000,000 products, 10% changed", "snapshot 10% changed",
         ("1000000 products",), "ratio", 1.5),
        ("`greenery --help`", "greenery --help", ("cli",), "seconds", 0.150),
        ("`greenery report` on the real-size warehouse", "report", ("real", "scale 1"),
         "seconds", 0.5),
    ]  # fmt: skip
    for label, case, datasets, kind, limit in wanted:
        found = [r for r in rows if r.case == case and r.dataset in datasets and r.greenery]
        shown = f"within {limit}x" if kind == "ratio" else f"under {seconds(limit)}"
        if not found:
            lines.append(f"- {label}, {shown}: **not measured** in these results")
        for r in found:
            assert r.greenery is not None
            value = r.ratio if kind == "ratio" else r.greenery["median"]
            if value is None:
                continue
            if kind == "ratio":
                cpu = r.cpu_ratio
                text = f"{value:.2f}x" + (f" (CPU time {cpu:.2f}x)" if cpu is not None else "")
            else:
                text = f"{seconds(value)} (CPU time {seconds(r.greenery.get('cpu'))})"
            verdict = "met" if value <= limit else "MISSED"
            lines.append(f"- {label} ({r.dataset}), {shown}: {text}, **{verdict}**")
    for dataset in ("scale 10000", "real x10000"):
        big = [r for r in rows if r.dataset == dataset and r.greenery]
        if not big:
            continue
        worst = max(big, key=lambda r: r.greenery["peak_rss_mb"] if r.greenery else 0)
        assert worst.greenery is not None
        peak = worst.greenery["peak_rss_mb"]
        verdict = "met" if peak < MB_LIMIT else "MISSED"
        lines.append(
            f"- peak RSS at scale 10,000 ({dataset}) under 4 GB: {peak:.0f} MB ({worst.case}), "
            f"**{verdict}**"
        )
    if not any(r.dataset in ("scale 10000", "real x10000") and r.greenery for r in rows):
        lines.append("- peak RSS at scale 10,000 under 4 GB: **not measured** in these results")
    return lines


def markdown(rows: list[Row], runs: list[dict[str, object]]) -> str:
    lines = [
        "| dataset | case | greenery median | min | max | CPU | peak RSS | hand-written median "
        "| CPU | ratio | CPU ratio | target | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (dataset_order(r.dataset), CASES.index(r.case))):
        g, h = row.greenery or {}, row.hand or {}
        rss = f"{g['peak_rss_mb']:.0f} MB" if g else "-"
        over = g and row.dataset in ("scale 10000", "real x10000") and g["peak_rss_mb"] > MB_LIMIT
        lines.append(
            f"| {row.dataset} | {row.case} | {seconds(g.get('median'))} | "
            f"{seconds(g.get('min'))} | {seconds(g.get('max'))} | {seconds(g.get('cpu'))} | "
            f"{rss}{' (over 4 GB)' if over else ''} | {seconds(h.get('median'))} | "
            f"{seconds(h.get('cpu'))} | "
            f"{f'{row.ratio:.2f}x' if row.ratio is not None else '-'} | "
            f"{f'{row.cpu_ratio:.2f}x' if row.cpu_ratio is not None else '-'} | {status(row)} | "
            f"{row.note} |"
        )
    out = ["<!-- results:start (written by bench/run.py) -->", "", "### Targets", ""]
    out += targets(rows)
    out += ["", "### Results", "", *lines, "", "### What each hand-written baseline does", ""]
    out += [f"- **{case}**: {HAND_DOES[case]}" for case in CASES]
    out += ["", "### Runs", ""]
    for run in runs:
        out.append(f"- `{run['command']}` ({run['started']}, {run['duration_s']:.0f} s)")
        if run.get("load_average"):
            out.append(f"  - load average {run['load_average']}")
    info = runs[-1]["machine"] if runs else {}
    assert isinstance(info, dict)
    out += ["", "### Machine (latest run)", ""]
    for key, value in info.items():
        if key == "memory":
            out += ["- memory (`free -h`):", "", "```", str(value), "```", ""]
        else:
            out.append(f"- {key}: {value}")
    out += ["", "<!-- results:end -->"]
    return "\n".join(out) + "\n"


def write_markdown(path: Path, rows: list[Row], runs: list[dict[str, object]]) -> None:
    """Replace the results block of an existing BENCHMARKS.md (or write a bare one)."""
    block = markdown(rows, runs)
    text = path.read_text() if path.exists() else ""
    start, end = "<!-- results:start", "<!-- results:end -->"
    if start in text and end in text:
        before = text[: text.index(start)]
        after = text[text.index(end) + len(end) :].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = (text + "\n" if text else "# Benchmarks\n\n") + block
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales", default="1", help="generator scales, e.g. 1,100,1000 ('' = none)"
    )
    parser.add_argument("--data", type=Path, help="an existing export folder, labelled 'real'")
    parser.add_argument(
        "--replicate",
        default="",
        help="with --data: also the real data repeated K times (ids suffixed), e.g. 100,1000",
    )
    parser.add_argument(
        "--replicas-only", action="store_true", help="with --replicate: skip the folder itself"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv")
    parser.add_argument(
        "--big-products", type=int, default=1_000_000, help="large-catalogue snapshot (0 = skip)"
    )
    parser.add_argument("--only", help="comma-separated cases to run (default all)")
    parser.add_argument("--work", type=Path, help="scratch folder (default a temporary one)")
    parser.add_argument("--out", type=Path, help="Markdown file whose results block is rewritten")
    parser.add_argument(
        "--results", type=Path, help="JSON results file; rows measured now replace older ones"
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite --out from --results; measure nothing"
    )
    args = parser.parse_args(argv)
    if args.render:
        if not (args.results and args.out):
            parser.error("--render needs --results and --out")
        saved = json.loads(args.results.read_text())
        write_markdown(args.out, [Row(**r) for r in saved["rows"]], saved["runs"])
        return 0
    started = datetime.now(UTC)
    load_at_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    clock = time.perf_counter()
    only = {c.strip() for c in args.only.split(",")} if args.only else None
    unknown = (only or set()) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}; cases: {', '.join(CASES)}")
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="greenery-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, args.repeat, args.fmt, only)
    for command in ("generate", "snapshot"):
        if not getattr(bench, f"has_{command}"):
            print(f"note: `greenery {command}` is missing: its cases are skipped", flush=True)
    try:
        bench.startup()
        if args.data:
            if not args.replicas_only:
                bench.dataset("real", args.data)
            for copies in [int(k) for k in args.replicate.split(",") if k.strip()]:
                folder = replicate.replicate(args.data, work / f"real-x{copies}", copies, args.fmt)
                bench.dataset(f"real x{copies}", folder)
                remove(folder)
        for scale in scales:
            folder = bench.generated(scale)
            if folder is not None:
                bench.dataset(f"scale {scale}", folder)
                remove(folder)
        if args.big_products:
            bench.big_snapshot(args.big_products)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    this_run = {
        "command": shlex.join(
            ["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "load_average": f"{load_at_start} at start, "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " at end (1, 5, 15 min)",
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": time.perf_counter() - clock,
        "machine": machine(),
    }
    rows, runs = bench.rows, [this_run]
    if args.results:
        if args.results.exists():
            old = json.loads(args.results.read_text())
            fresh = {(r.dataset, r.case) for r in rows}
            rows = [Row(**r) for r in old["rows"] if (r["dataset"], r["case"]) not in fresh] + rows
            runs = [*old["runs"], this_run]
        args.results.write_text(
            json.dumps({"rows": [asdict(r) for r in rows], "runs": runs}, indent=1) + "\n"
        )
    if args.out:
        write_markdown(args.out, rows, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
