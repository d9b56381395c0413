"""Benchmark (not a test): the same greenery commands on DuckDB and on Spark (issue 19).

    python bench/spark.py [--scales 1,1000] [--repeat N] [--work DIR] [--timeout 1800]

Starts its own local Spark Connect server on 127.0.0.1 (a free port; `start_local_server`, as
tests/conftest.py does) and stops it at the end, also on an error or Ctrl-C. For each dataset
(scale 1: the real data, ../shared/greenery-data; scale K: `greenery generate --scale K
--file-format csv` into WORK/scale-K, kept for the next run) it runs, as whole processes,
`load --source DIR`, `snapshot --replay DIR/../inventory-weeks`, `funnel --by-step`,
`funnel --by product`, `inventory-changes`, `stockouts` and `fluctuations` on DuckDB (`--db
FILE`) and on Spark (`--engine sc://...`), interleaved per repeat (DuckDB then Spark, then Spark
then DuckDB, ...), and checks that the two engines' answers agree (the questions' and the
replay's JSON, floats to 9 places; the load's tables, rows, seeds and models from its summary).

Each command is timed by bench/launch.py (wall; CPU of the process tree). On Spark the work is
mostly in the server's JVM, so the server's CPU (utime + stime of its process group, from
/proc) is read before and after each command. Spark commands run through bench/spark_trace.py,
which says how much of the client's time went to the session's set-up and how much to
statements. Before each repeat the Spark databases and the DuckDB file are dropped (untimed),
so every repeat loads and replays from nothing. `--repeat` defaults to 3 for scale 1 and to 1
for larger scales (a Spark load at scale 1,000 takes many minutes); `--timeout` bounds each
command (default 30 min): a command that runs out is stopped and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import LAUNCH, median

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent.parent / "shared" / "greenery-data"  # /work/wt/<x> -> /work/shared
TRACE = Path(__file__).resolve().parent / "spark_trace.py"
DATABASES = ("raw", "seeds", "staging", "intermediate", "marts", "snapshots", "meta")
QUESTIONS = (
    ("funnel --by-step", ["funnel", "--by-step"]),
    ("funnel --by product", ["funnel", "--by", "product"]),
    ("inventory-changes", ["inventory-changes"]),
    ("stockouts", ["stockouts"]),
    ("fluctuations", ["fluctuations"]),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1", help="comma-separated, e.g. 1,1000 (default 1)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="default: 3 at scale 1, 1 at larger scales"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/greenery-bench-spark"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per command")
    parser.add_argument("--driver-memory", default="1g", help="the server's JVM heap")
    parser.add_argument("--real", type=Path, default=REAL, help="the real data (scale 1)")
    args = parser.parse_args(argv)
    try:
        args.scales = [int(s.replace("_", "")) for s in args.scales.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--scales: not a list of whole numbers: {args.scales!r}")
    if not args.scales or min(args.scales) < 1:
        parser.error("--scales: each scale must be 1 or more")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    return args


# -- data -----------------------------------------------------------------------------------------
def dataset(scale: int, args: argparse.Namespace) -> Path:
    """The export folder (raw/, inventory-weeks/) of a scale; generated once into WORK."""
    if scale == 1:
        return args.real
    folder = args.work / f"scale-{scale}"
    if not (folder / ".complete").exists():
        print(f"generating scale {scale} into {folder} (untimed) ...", file=sys.stderr)
        subprocess.run(
            ["greenery", "generate", str(folder), "--scale", str(scale), "--file-format", "csv"],
            check=True,
        )
        (folder / ".complete").touch()
    return folder


# -- measurement ----------------------------------------------------------------------------------
def server_cpu(pgid: int) -> float:
    """CPU seconds (user + system, with reaped children) of every process in a group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp), after state and ppid
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def run(argv: list[str], scratch: Path, timeout: float, pgid: int | None) -> dict[str, Any]:
    """One command through bench/launch.py: wall, CPU, RSS, exit, stdout, stderr, server CPU."""
    figures, out, err = scratch / "figures.json", scratch / "stdout", scratch / "stderr"
    figures.unlink(missing_ok=True)
    before = server_cpu(pgid) if pgid else 0.0
    clock = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", str(LAUNCH), str(figures), *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own group: a timeout stops the whole tree
        )
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return {"timeout": True, "wall": time.perf_counter() - clock, "exit": None}
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
    result: dict[str, Any] = json.loads(figures.read_text()) if figures.exists() else {"exit": -1}
    result["server_cpu"] = server_cpu(pgid) - before if pgid else 0.0
    result["stdout"] = out.read_text(errors="replace")
    result["stderr"] = err.read_text(errors="replace")
    return result


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def load_figures(stderr: str) -> dict[str, int] | None:
    """The key figures of a load's summary line (each engine words it its own way): raw tables
    written, rows in them, seeds, models built. A first load writes every table."""
    text = stderr.replace(",", "")
    duckdb = re.search(
        r"(\d+) of \d+ raw tables changed \(\+(\d+) rows\) (\d+) seed\(s\) reloaded; "
        r"models: (\d+) built",
        text,
    )
    spark = re.search(
        r"loaded (\d+) raw tables \((\d+) rows\) and (\d+) seeds built (\d+) models", text
    )
    found = duckdb or spark
    if found is None:
        return None
    return dict(zip(("tables", "rows", "seeds", "models"), map(int, found.groups()), strict=True))


def answer(item: str, result: dict[str, Any]) -> Any:
    if item == "load":
        figures = load_figures(result["stderr"])
        if figures is None:
            raise SystemExit(f"no load summary found in:\n{result['stderr'][-1000:]}")
        return figures
    found = rounded(json.loads(result["stdout"]))
    if item.startswith("snapshot"):  # DuckDB names each state's file by its path, Spark by name
        for state in found["states"]:
            state["file"] = Path(state["file"]).name
        # DuckDB's rewind guard notes a remembered source; Spark has no remembered source yet
        found.pop("note", None)
    return found


def reset_spark(url: str) -> None:
    """Drop greenery's databases on the server (untimed), so a repeat starts from nothing."""
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(url).create()
    try:
        for name in DATABASES:
            session.sql(f"drop database if exists {name} cascade").collect()
    finally:
        session.stop()


# -- the run --------------------------------------------------------------------------------------
def bench_scale(
    scale: int, repeat: int, args: argparse.Namespace, url: str, pgid: int, scratch: Path
) -> list[dict[str, Any]]:
    folder = dataset(scale, args)
    db = args.work / f"scale-{scale}.duckdb"
    items = [
        ("load", ["load", "--source", str(folder / "raw")]),
        ("snapshot --replay", ["--format", "json", "snapshot", "--replay"]),
        *((name, ["--format", "json", *argv]) for name, argv in QUESTIONS),
    ]
    items[1][1].append(str(folder / "inventory-weeks"))
    engines = {
        "duckdb": ["greenery", "--db", str(db)],
        "spark": [sys.executable, str(TRACE), str(scratch / "trace.json"), "--engine", url],
    }
    records: list[dict[str, Any]] = []
    for round_no in range(repeat):
        for suffix in ("", ".wal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        reset_spark(url)
        order = ["duckdb", "spark"] if round_no % 2 == 0 else ["spark", "duckdb"]
        for item, argv in items:
            answers = {}
            for engine in order:
                (scratch / "trace.json").unlink(missing_ok=True)
                result = run(
                    [*engines[engine], *argv],
                    scratch,
                    args.timeout,
                    pgid if engine == "spark" else None,
                )
                record = {"scale": scale, "round": round_no, "item": item, "engine": engine}
                record.update({k: v for k, v in result.items() if k not in ("stdout", "stderr")})
                trace = scratch / "trace.json"
                if engine == "spark" and trace.exists():
                    record["trace"] = json.loads(trace.read_text())
                records.append(record)
                write_records(args.work, records, scale)
                shown = f"scale {scale} round {round_no + 1}/{repeat} {item:20} {engine:6}"
                if result.get("timeout"):
                    print(f"{shown} TIMED OUT after {args.timeout:g} s", file=sys.stderr)
                    return records
                if result["exit"] != 0:
                    tail = result["stderr"][-2000:]
                    raise SystemExit(f"{shown} exited {result['exit']}:\n{tail}")
                answers[engine] = answer(item, result)
                print(
                    f"{shown} wall {result['wall']:8.2f} s  cpu {result['cpu']:7.2f} s  "
                    f"server cpu {record['server_cpu']:7.2f} s",
                    file=sys.stderr,
                )
            if answers["duckdb"] != answers["spark"]:
                raise SystemExit(
                    f"scale {scale} {item}: the engines disagree:\n"
                    f"  duckdb {json.dumps(answers['duckdb'])[:600]}\n"
                    f"  spark  {json.dumps(answers['spark'])[:600]}"
                )
    return records


def write_records(work: Path, records: list[dict[str, Any]], scale: int) -> None:
    (work / f"results-scale-{scale}.json").write_text(json.dumps(records, indent=1))


def table(records: list[dict[str, Any]]) -> str:
    """The medians per scale and item, as a Markdown table."""
    lines = [
        "| scale | command | DuckDB wall s | DuckDB CPU s | Spark wall s | Spark client CPU s "
        "| Spark server CPU s | connect s | statements (s) | wall ratio |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    keys = dict.fromkeys((r["scale"], r["item"]) for r in records)
    for scale, item in keys:
        got = {
            e: [r for r in records if (r["scale"], r["item"], r["engine"]) == (scale, item, e)]
            for e in ("duckdb", "spark")
        }
        if any(r.get("timeout") for r in got["spark"]):
            lines.append(
                f"| {scale:,} | {item} | {median([r['wall'] for r in got['duckdb']]):.2f} | "
                f"{median([r['cpu'] for r in got['duckdb']]):.2f} | "
                f"timed out at {got['spark'][-1]['wall']:.0f} | | | | | |"
            )
            continue
        done = {e: [r for r in rs if r.get("exit") == 0] for e, rs in got.items()}
        if not done["duckdb"] or not done["spark"]:
            continue

        def m(engine: str, key: str, done: dict[str, list[dict[str, Any]]] = done) -> float:
            return median([r[key] for r in done[engine]])

        traces = [r["trace"] for r in done["spark"] if "trace" in r]
        connect = median([t["connect"] for t in traces])
        statements = median([t["statements"] for t in traces])
        statement_s = median([t["statement_s"] for t in traces])
        lines.append(
            f"| {scale:,} | {item} | {m('duckdb', 'wall'):.2f} | {m('duckdb', 'cpu'):.2f} | "
            f"{m('spark', 'wall'):.2f} | {m('spark', 'cpu'):.2f} | {m('spark', 'server_cpu'):.2f} "
            f"| {connect:.2f} | {statements:g} ({statement_s:.1f}) | "
            f"{m('spark', 'wall') / m('duckdb', 'wall'):.0f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from greenery_cli.engines.spark.server import start_local_server

    args.work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped
    print(f"load average {os.getloadavg()}; starting a local Spark server ...", file=sys.stderr)
    # the server's catalogue is in memory: tables an earlier server left on disk would collide
    shutil.rmtree(args.work / "spark-server", ignore_errors=True)
    server = start_local_server(args.work / "spark-server", driver_memory=args.driver_memory)
    records: list[dict[str, Any]] = []
    try:
        print(f"server {server.url} listened after {server.started_in:.1f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="greenery-bench-spark-") as folder:
            for scale in args.scales:
                repeat = args.repeat or (3 if scale == 1 else 1)
                records += bench_scale(
                    scale, repeat, args, server.url, server.process.pid, Path(folder)
                )
    finally:
        server.stop()
        print(f"server stopped; load average {os.getloadavg()}", file=sys.stderr)
        if records:
            print(table(records))


if __name__ == "__main__":
    main()
