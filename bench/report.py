"""Reporting: the results block of BENCHMARKS.md (targets, one table per dataset, what each work
item measures and checks, the exact commands, the runs and the machine), and the machine facts
recorded with each run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from items import ITEMS
from results import Figures, Results, Row, cpu_ratio, ratio, seconds
from targets import TARGETS, evaluate

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start", "<!-- results:end -->"
CONTENDERS = ("greenery", "hand-written", "dbt")


def machine(dbt_versions: dict[str, str] | None = None) -> dict[str, Any]:
    """The machine and software a run measured on."""

    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return ""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip()

    kib = first("/proc/meminfo", "MemTotal").split()[0] or "0"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    info = {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": round(int(kib) / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": importlib.metadata.version("duckdb"),
        "polars": importlib.metadata.version("polars"),
        "greenery commit": git("rev-parse", "--short", "HEAD") + (" (modified)" if dirty else ""),
    }
    if dbt_versions:
        info["dbt (its own environment)"] = ", ".join(f"{k} {v}" for k, v in dbt_versions.items())
    return info


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


def cell(f: Figures | None) -> str:
    if f is None:
        return "-"
    return (
        f"{seconds(f.median)} [{seconds(min(f.wall))} - {seconds(max(f.wall))}]<br>"
        f"CPU {seconds(f.cpu_median)}, {f.peak_rss:.0f} MB"
    )


def ratio_cell(a: Figures | None, b: Figures | None) -> str:
    if a is None or b is None:
        return "-"
    return f"{ratio(a, b):.2f}x (CPU {cpu_ratio(a, b):.2f}x)"


def table(rows: list[Row]) -> list[str]:
    """One dataset's rows: a column per contender (greenery, hand-written, dbt, then any other),
    greenery / hand-written, and every other contender / greenery."""
    found = {name for row in rows for name in row.contenders}
    names = [n for n in CONTENDERS] + sorted(found - set(CONTENDERS))
    others = [n for n in names if n not in ("greenery", "hand-written")]
    head = ["work item", *names, "greenery / hand-written", *(f"{n} / greenery" for n in others)]
    lines = ["| " + " | ".join([*head, "load", "run"]) + " |"]
    lines.append("|---" * len(names) + "|---" + "|---:" * (1 + len(others)) + "|---|---:|")
    for row in rows:
        if row.skipped:
            blank = " |" * (len(head) - 1)
            lines.append(f"| {row.title} | skipped: {row.skipped}{blank} | {row.run + 1} |")
            continue
        c = row.contenders
        g = c.get("greenery")
        cells = [row.title, *(cell(c.get(n)) for n in names), ratio_cell(g, c.get("hand-written"))]
        cells += [ratio_cell(c.get(n), g) for n in others]
        cells += [" -> ".join(f"{x:.1f}" for x in row.load), str(row.run + 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def short(answer: str, limit: int = 80) -> str:
    return answer if len(answer) <= limit else answer[: limit - 4] + " ..."


def items_section(rows: list[Row]) -> list[str]:
    out = []
    for item in ITEMS.values():
        done = [r for r in rows if r.item == item.key and r.contenders]
        out.append(f"- **{item.title}** (`--items {item.key}`): {item.measures}. "
                   f"Answer check: {item.check}.")  # fmt: skip
        if done:
            last = done[-1]
            out.append(f"  Commands ({last.dataset}, run {last.run + 1}):")
            out += [f"  - {name}: `{f.command}`" for name, f in last.contenders.items()]
            answers = "; ".join(f"{r.dataset} `{short(r.answer)}`" for r in done)
            out.append(f"  Answers every run gave: {answers}.")
            took = ", ".join(f"{r.dataset} {r.took_s:.0f} s" for r in done)
            out.append(f"  Time in the benchmark, preparation included: {took}.")
    return out


def runs_section(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for number, run in enumerate(runs, start=1):
        m = run["machine"]
        out.append(
            f"{number}. `{run['command']}`: {run['started']}, {run['duration_s']:.0f} s; load "
            f"average {run['load_average']}; {m['cores']} cores, {m['memory_gib']} GiB, "
            f"{m['cpu']}; greenery {m['greenery commit']}; DuckDB memory limit: "
            f"{run.get('memory_limit', 'each contender at its own default')}"
        )
    return out


def markdown(results: Results) -> str:
    rows = sorted(
        results.rows,
        key=lambda r: (
            dataset_order(r.dataset),
            list(ITEMS).index(r.item) if r.item in ITEMS else 99,
        ),
    )
    out = [
        f"{START} (written by bench/run.py: `python bench/run.py --render` rewrites it) -->",
        "",
        "### Targets",
        "",
    ]
    for target in TARGETS:
        out += evaluate(target, rows)
    out += [
        "",
        "### Results",
        "",
        "Each cell: the median wall time of the contender's runs [min - max], then its median "
        "CPU time (user + system of the process and every child it waited for) and its peak RSS. "
        "Ratios of medians, wall (CPU). `load`: the 1-minute load average before and after the "
        "item; `run`: the command that measured it (under Runs).",
    ]
    for dataset in dict.fromkeys(r.dataset for r in rows):
        out += ["", f"#### {dataset}", "", *table([r for r in rows if r.dataset == dataset])]
    out += ["", "### Work items", "", *items_section(rows)]
    out += ["", "### Runs", "", *runs_section(results.runs)]
    if results.runs:
        out += ["", "### Machine (latest run)", ""]
        out += [f"- {k}: {v}" for k, v in results.runs[-1]["machine"].items()]
    out += ["", END]
    return "\n".join(out) + "\n"


def write_markdown(path: Path, results: Results) -> None:
    """Replace the results block of an existing page (or write a page holding only it)."""
    block = markdown(results)
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        before = text[: text.index(START)]
        after = text[text.index(END) + len(END) :].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = (text + "\n" if text else "# Benchmarks\n\n") + block
    path.write_text(text)
