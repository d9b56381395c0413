"""The greenery contender: every greenery command the benchmark runs, and how its answers read.

The CLI changes underneath the benchmark (project layout, build engine, `--select`, funnel
semantics): adjust the commands and the JSON fields here, nowhere else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from measure import Plan, Step, shown

Rows = list[dict[str, Any]]


def _by_step(rows: Rows) -> list[int]:
    return [r["count"] for r in sorted(rows, key=lambda r: r["step"])]


def _by_product(rows: Rows) -> dict[str, list[int]]:
    return {r["product_id"]: [r["viewed"], r["added_to_cart"], r["checked_out"]] for r in rows}


def _changes(rows: Rows) -> dict[str, int | None]:
    return {r["product_id"]: r["change"] for r in rows}


def _fluctuations(rows: Rows) -> dict[str, list[int]]:
    """Products that changed (the report lists only those; the command lists every product)."""
    return {r["product_id"]: [r["changes"], r["total_change"]] for r in rows if r["changes"]}


def _stockouts(rows: Rows) -> list[str]:
    return sorted({r["product_id"] for r in rows})


def _report(sections: dict[str, Rows]) -> dict[str, object]:
    return {
        "inventory_changes": _changes(sections["inventory_changes"]),
        "fluctuations": _fluctuations(sections["fluctuations"]),
        "stockouts": _stockouts(sections["stockouts"]),
        "funnel_by_step": _by_step(sections["funnel_by_step"]),
        "funnel_by_product": _by_product(sections["funnel_by_product"]),
    }


# question -> (its arguments, its JSON answer -> the normalised answer every contender gives)
QUESTIONS: dict[str, tuple[tuple[str, ...], Callable[[Any], object]]] = {
    "funnel --by-step": (("funnel", "--by-step"), _by_step),
    "funnel --by product": (("funnel", "--by", "product"), _by_product),
    "inventory-changes": (("inventory-changes",), _changes),
    "fluctuations": (("fluctuations",), _fluctuations),
    "stockouts": (("stockouts",), _stockouts),
    "report": (("report",), _report),
}
# what `funnel --by-step` needs, for `load --select`: the funnel checks that all four of its
# marts exist (greenery_cli/funnel.py _MARTS) before any question
FUNNEL_MODELS = "+fct_funnel_events +fct_event_path +fct_product_funnel_events +dim_products"


def compile_bytecode() -> Path:
    """Compile greenery's modules to bytecode, as `pip install` does for an installed package.

    An editable install (this checkout) has only what earlier runs wrote, and none where
    PYTHONDONTWRITEBYTECODE is set (as on this machine): then every measured process compiled
    the modules it imports from source, about 70 ms of CPU, which no installed greenery pays.
    """
    import greenery_cli

    package = Path(greenery_cli.__file__).resolve().parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    return package


class Greenery:
    def __init__(self, cwd: Path, memory_limit: str | None = None) -> None:
        """memory_limit: DuckDB's (GREENERY_MEMORY_LIMIT); None: greenery's own default."""
        script = Path(sys.executable).parent / "greenery"
        self.exe = (str(script),) if script.exists() else (sys.executable, "-m", "greenery_cli")
        self.env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"}
        self.env.pop("GREENERY_DB", None)
        self.env.pop("GREENERY_MEMORY_LIMIT", None)
        if memory_limit:
            self.env["GREENERY_MEMORY_LIMIT"] = memory_limit
        self.cwd = cwd  # a scratch folder: the shop's project built into greenery is used
        compile_bytecode()

    def step(self, db: Path | None, *args: str) -> Step:
        return Step((*self.exe, *(("--db", str(db)) if db else ()), *args), self.env, self.cwd)

    @cache  # noqa: B019 - one Greenery per benchmark run
    def help_text(self, *command: str) -> str:
        done = subprocess.run(
            [*self.exe, *command, "--help"], capture_output=True, text=True, env=self.env
        )
        return done.stdout if done.returncode == 0 else ""

    # --- what this greenery can do -------------------------------------------------------------

    def has_build_engine(self) -> str | None:
        """Why the build-engine items (issue 15) cannot run yet, or None when they can."""
        if "--full-refresh" not in self.help_text("load"):
            return "`greenery load` has no incremental loads yet (issue 15)"
        return None

    def has_select(self) -> bool:
        return "--select" in self.help_text("load")

    # --- data preparation (untimed) ------------------------------------------------------------

    def generate(self, out: Path, scale: int, fmt: str) -> Step:
        return self.step(
            None, "generate", str(out), "--scale", str(scale), "--seed", "0", "--file-format", fmt
        )

    # --- work ----------------------------------------------------------------------------------

    def load(self, db: Path, source: Path) -> Step:
        return self.step(db, "load", "--source", str(source))

    def load_for_funnel(self, db: Path, source: Path) -> Step:
        """Load what `funnel --by-step` needs: everything, until `load --select` exists."""
        select = ("--select", FUNNEL_MODELS) if self.has_select() else ()
        return self.step(db, "load", "--source", str(source), *select)

    def snapshot(self, db: Path, source: Path, at: str) -> Step:
        return self.step(db, "snapshot", "--source", str(source), "--at", at)

    def question(self, name: str, db: Path) -> Step:
        return self.step(db, *QUESTIONS[name][0], "--format", "json")

    def question_plan(self, name: str, db: Path, setup: Callable[[], object] | None = None) -> Plan:
        import json

        step = self.question(name, db)
        parse = QUESTIONS[name][1]
        return Plan((step,), lambda out: parse(json.loads(out)), shown(step), setup)

    def help(self) -> Step:
        return self.step(None, "--help")
