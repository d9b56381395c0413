"""Benchmark: the funnel's chain engine without ASOF joins (portable to Spark) against the
ASOF version, on DuckDB.

The question functions of two code trees (`--before REV`, from git, and the working tree) render
their SQL for the variants below (the chain engine: `--order ordered`, `--time-to-convert`,
`--exclude`); each statement then runs in fresh processes, interleaved, materialising every row
in a read-only connection. Prints medians of wall and CPU seconds, the ratio, and whether both
gave the same rows.

    python bench/funnel_rewrite.py --db WAREHOUSE.duckdb [--before REV] [--runs 5]

WAREHOUSE: a loaded warehouse, e.g. the `greenery-history.duckdb` bench/run.py leaves in its
`--work` folder for a scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# run in a child with the tree to use first on sys.path (an editable install's finder removed)
_CAPTURE = r"""
import json, os, sys
tree, db = sys.argv[1], sys.argv[2]
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, tree)
os.environ["GREENERY_STARTUP_CACHE"] = "off"
import greenery_cli
assert greenery_cli.__file__.startswith(tree), greenery_cli.__file__
from pathlib import Path
from greenery_cli import funnel
from greenery_cli.warehouse import open_warehouse

class Recording:
    def __init__(self, wh):
        self.wh, self.sent = wh, []
    def __getattr__(self, name):
        return getattr(self.wh, name)
    def fetch(self, sql, params=None):
        self.sent.append((sql, params))
        return self.wh.fetch(sql, params)

shipped = (funnel.Exclusion("package_shipped"),)
variants = {
    "ordered summary": ("summary", funnel.FunnelSettings(order="ordered")),
    "ordered by-product": ("by-product", funnel.FunnelSettings(order="ordered")),
    "ordered summary, by user": ("summary", funnel.FunnelSettings(order="ordered", unit="user")),
    "any time-to-convert": ("time-to-convert", funnel.FunnelSettings()),
    "ordered time-to-convert": ("time-to-convert", funnel.FunnelSettings(order="ordered")),
    "any --exclude package_shipped": ("summary", funnel.FunnelSettings(exclusions=shipped)),
}
out = {}
with open_warehouse(Path(db)) as wh:
    for name, (question, settings) in variants.items():
        recording = Recording(wh)
        funnel.QUESTION_FUNCTIONS[question](recording, settings)
        sql, params = max(recording.sent, key=lambda sent: len(sent[0]))
        out[name] = [sql, {k: v.isoformat() if hasattr(v, "isoformat") else v
                           for k, v in (params or {}).items()}]
print(json.dumps(out))
"""

_RUNNER = r"""
import json, resource, sys, time, duckdb
db, sql, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
con = duckdb.connect(db, read_only=True)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
before, clock = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
con.execute(f"create temp table measured as {sql}", params or None)
wall, after = time.perf_counter() - clock, resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
rows, digest = con.execute("select count(*), sum(hash(m)) from measured as m").fetchone()
print(wall, cpu, rows, digest)
"""


def _capture(tree: Path, db: str) -> dict[str, list]:
    out = subprocess.run(
        [sys.executable, "-c", _CAPTURE, str(tree), db], capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"rendering with {tree} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # the last line: notes may precede it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--before", default="main", help="git revision with the ASOF version")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="the variants whose name contains this text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.before, "greenery_cli"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
        sides = {"before": _capture(Path(scratch), args.db), "after": _capture(REPO, args.db)}
    print(
        f"{'variant':32} {'before s':>9} {'after s':>9} {'cpu b':>7} {'cpu a':>7} "
        f"{'cpu a/b':>7}  rows same"
    )
    for name in sides["before"]:
        if args.only and args.only not in name:
            continue
        figures: dict[str, list[float]] = {"before": [], "after": [], "cb": [], "ca": []}
        answers = {}
        for _ in range(args.runs):
            for side in ("before", "after"):  # interleaved: load on the machine hits both
                sql, params = sides[side][name]
                out = subprocess.run(
                    [sys.executable, "-c", _RUNNER, args.db, sql, json.dumps(params)],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    raise SystemExit(f"{name} ({side}) failed:\n{out.stderr[-2000:]}")
                wall, cpu, rows, digest = out.stdout.split()
                figures[side].append(float(wall))
                figures["c" + side[0]].append(float(cpu))
                answers[side] = (rows, digest)
        m = {key: statistics.median(values) for key, values in figures.items()}
        same = "yes" if answers["before"] == answers["after"] else "NO"
        print(
            f"{name:32} {m['before']:9.3f} {m['after']:9.3f} {m['cb']:7.3f} {m['ca']:7.3f} "
            f"{m['ca'] / m['cb']:7.2f}  {answers['after'][0]:>4} {same}"
        )
        if same == "NO":
            raise SystemExit(f"{name}: the rewrite changed the rows")


if __name__ == "__main__":
    main()
