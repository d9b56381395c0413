"""Benchmark: the SQL rewritten to run on Spark too does not slow DuckDB down.

For each rewrite, the DuckDB-only original (from git, `--before REV`) and today's portable
form are rendered the same way and run in fresh processes, interleaved, each materialising
every row (`create temp table ... as`) in a read-only connection to a warehouse file. Prints
the median seconds per side, the ratio, and whether DuckDB plans both with the same operators.

    python bench/portable_rewrites.py --db W.duckdb --history H.duckdb [--before main] [--runs 7]

W: a loaded warehouse (e.g. `greenery generate OUT --scale 100 --file-format parquet`, then
`greenery --db W load --source OUT/raw`); H: one with snapshot history (the weekly products
files of a generate run with a large --products, replayed with `greenery snapshot --at`).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (name, file, which warehouse, the snapshot() relation for invariants, parameters)
REWRITES = [
    ("dim_users: USING -> ON", "queries/marts/dim_users.sql", "db", {}),
    ("fct_orders: USING -> ON", "queries/marts/fct_orders.sql", "db", {}),
    (
        "stockouts: epoch(a - b) -> epoch(a) - epoch(b)",
        "greenery_cli/queries/reports/stockouts.sql",
        "history",
        {"threshold": 0, "start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
    ),
    (
        "overlap invariant: 'infinity' -> IS NULL OR",
        "greenery_cli/queries/snapshot/invariants/snapshot_versions_do_not_overlap.sql",
        "history",
        {},
    ),
]

_RUNNER = """
import sys, time, duckdb
db, path = sys.argv[1], sys.argv[2]
sql = open(path).read()
params = eval(sys.argv[3])
con = duckdb.connect(db, read_only=True)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
clock = time.perf_counter()
con.execute(f"create temp table measured as {sql}", params or None)
elapsed = time.perf_counter() - clock
rows, digest = con.execute("select count(*), sum(hash(m)) from measured as m").fetchone()
plan = con.execute(f"explain {sql}", params or None).fetchall()[0][1]
import re
operators = "-".join(re.findall(r"[╭┌]─ ([^─]+?) ─", plan))
import hashlib
print(elapsed, rows, int(hashlib.sha1(operators.encode()).hexdigest()[:12], 16), digest)
"""


def render(text: str) -> str:
    """A model or engine template rendered as greenery would, relations written out."""
    import jinja2

    layers = {"stg_": "staging", "int_": "intermediate"}

    def ref(name: str) -> str:
        return f"{next((v for k, v in layers.items() if name.startswith(k)), 'marts')}.{name}"

    sql = (
        jinja2.Environment(undefined=jinja2.StrictUndefined)
        .from_string(text)
        .render(
            ref=ref,
            source=lambda t: f"raw.{t}",
            seed=lambda s: f"seeds.{s}",
            snapshot=lambda s: f"snapshots.{s}",
            config=lambda **_: "",
        )
    )
    return sql.strip().rstrip(";")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--history", required=True)
    parser.add_argument("--before", default="main", help="git revision of the originals")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", default="/tmp/greenery-portable-rewrites")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'rewrite':48} {'before s':>9} {'after s':>9} {'after/before':>12}  rows  same plan")
    for name, file, which, params in REWRITES:
        before = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{args.before}:{file}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        after = (REPO / file).read_text()
        paths = {}
        for side, text in (("before", before), ("after", after)):
            sql = render(text)
            # the report binds $name parameters; the bench binds them the same way
            paths[side] = work / f"{re.sub(r'[^a-z]+', '_', name.lower())}_{side}.sql"
            paths[side].write_text(sql)
        db = args.db if which == "db" else args.history
        times: dict[str, list[float]] = {"before": [], "after": []}
        seen: dict[str, tuple[int, int, str]] = {}
        for _ in range(args.runs):
            for side in ("before", "after"):  # interleaved: load on the machine hits both
                out = subprocess.run(
                    [sys.executable, "-c", _RUNNER, db, str(paths[side]), repr(params)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                times[side].append(float(out[0]))
                seen[side] = (int(out[1]), int(out[2]), out[3])
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        if (seen["before"][0], seen["before"][2]) != (seen["after"][0], seen["after"][2]):
            raise SystemExit(f"{name}: the rewrite changed the rows")
        same = "yes" if seen["before"][1] == seen["after"][1] else "no"
        print(f"{name:48} {b:9.4f} {a:9.4f} {a / b:12.2f}  {seen['after'][0]:>5}  {same}")


if __name__ == "__main__":
    main()
