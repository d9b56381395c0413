"""The dashboard: one self-contained HTML page that says how fresh the data is, then answers
every week-4 question in the seed's order.

The page is drawn from a `DashboardData`: the `WeeklyReport` the terminal prints (so the same
numbers as `greenery report --format json` and each command's JSON) and the freshness checks
measured read-only. No scripts, fonts or images load from anywhere: CSS and SVG are inline,
and a Content-Security-Policy forbids the rest. Declared as the `weekly_report` exposure in
queries/exposures.toml.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

from greenery_cli.errors import UsageError
from greenery_cli.output import iso_utc
from greenery_cli.timewords import (
    age_in_words,
    day_in_words,
    limit_in_words,
    moment_in_words,
    short_day,
    took_in_words,
)

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.funnel import FunnelResult
    from greenery_cli.inventory import Fluctuations, InventoryChanges, SnapshotPoint, Stockouts
    from greenery_cli.report import WeeklyReport

TEMPLATES = Path(__file__).resolve().parent / "templates"
# C0/C1 control characters (bar tab and newline) never reach the page: they mean nothing there
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class DashboardData:
    """Everything the page shows."""

    report: WeeklyReport  # the answers, as `greenery report` has them
    freshness: pl.DataFrame  # `freshness.measure_freshness` rows (the `greenery freshness` JSON)
    generated_at: datetime  # the moment the ages are measured at
    schedule: pl.DataFrame | None = None  # `schedule.node_ages` rows; None without a matrix
    schedule_problem: str | None = None  # why there is no matrix


# --- values in words ----------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def _signed(value: int | None) -> str:
    if value is None:
        return "–"
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


def _days(value: float | None) -> str:
    """Days out: `7`, `6.5`, `0.25` (no trailing zeros)."""
    if value is None:
        return "–"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _printable(value: Any) -> Any:
    """Every value printed: control characters dropped (the template escapes the rest)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub("", value)
    return value


def _breakable(name: str) -> Markup:
    """A relation name that may wrap after its dots and underscores (never inside a word)."""
    return Markup(str(escape(_printable(name))).replace(".", ".<wbr>").replace("_", "_<wbr>"))


def point_in_words(point: SnapshotPoint) -> str:
    """`run 4 (Mon 1 Mar 2021, 06:00 UTC)`, and how it was asked for when it was."""
    text = f"run {point.run_id} ({moment_in_words(point.taken_at)})"
    return f"{text}, as of {point.asked}" if point.asked else text


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The HTML environment: autoescaped (names are text, never markup), StrictUndefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_printable,
    )
    env.filters.update(
        pct=_pct,
        num=_num,
        signed=_signed,
        days=_days,
        iso=iso_utc,
        moment=moment_in_words,
        day=day_in_words,
        short_day=short_day,
        age=age_in_words,
        took=took_in_words,
        point=point_in_words,
        plural=_plural,
        breakable=_breakable,
        limit=limit_in_words,
        sentence=lambda text: text[:1].upper() + text[1:],
    )
    return env


# --- the sections -------------------------------------------------------------------------


def _changes(result: InventoryChanges) -> dict[str, Any]:
    return {
        "rows": result.rows.to_dicts(),
        "before": result.before,
        "after": result.after,
        "changed": result.how_many("changed"),
        "new": result.how_many("new"),
        "removed": result.how_many("removed"),
        "unchanged": result.unchanged,
    }


def _fluctuations(result: Fluctuations) -> dict[str, Any]:
    from greenery_cli import charts

    rows = [{**row, "spark": charts.sparkline(row["path"])} for row in result.rows.to_dicts()]
    return {
        "rows": rows,
        "result": result,
        "leaders": [row for row in rows if row["rank"] == 1],
    }


def _stockouts(result: Stockouts) -> dict[str, Any]:
    from greenery_cli import charts

    window = (result.window_start, result.end.taken_at)
    rows = [
        {**row, "spell": charts.spell(row["out_since"], row["ended_at"], window)}
        for row in result.rows.to_dicts()
    ]
    return {"rows": rows, "result": result}


def _funnel(result: FunnelResult) -> dict[str, Any]:
    from greenery_cli import charts

    labels = {step.step: step.label for step in result.steps}
    bars = charts.funnel_bars(sorted(result.rows.to_dicts(), key=lambda r: r["step"]), labels)
    return {
        "bars": bars,
        "result": result,
        "units": result.settings.unit + "s",
        "by_count": next((bar for bar in bars if bar.largest_by_count), None),
        "by_rate": next((bar for bar in bars if bar.largest_by_rate), None),
    }


def _funnel_by_product(result: FunnelResult) -> dict[str, Any]:
    from greenery_cli.funnel import product_column

    steps = []
    for i, step in enumerate(result.steps):
        column = product_column(step)
        steps.append(
            {"label": step.label, "count": column, "rate": f"{column}_rate" if i else None}
        )
    return {
        "steps": steps,
        "rows": result.rows.to_dicts(),
        "has_conversion": "conversion" in result.rows.columns,
        "result": result,
    }


SECTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "inventory_changes": _changes,
    "fluctuations": _fluctuations,
    "stockouts": _stockouts,
    "funnel_by_step": _funnel,
    "funnel_by_product": _funnel_by_product,
}


def render_html(data: DashboardData) -> str:
    """The whole page as one string of self-contained HTML."""
    from greenery_cli.freshness_summary import summarise
    from greenery_cli.report import QUESTIONS

    summary = summarise(data.freshness, data.generated_at, data.schedule, data.schedule_problem)
    sections = []
    for number, (key, question) in enumerate(QUESTIONS.items(), start=1):
        result = getattr(data.report, key)
        sections.append(
            {
                "key": key,
                "id": key.replace("_", "-"),
                "number": number,
                "question": question,
                "answer": SECTIONS[key](result) if result is not None else None,
                "unanswered": data.report.unanswered.get(key, "not asked"),
            }
        )
    return (
        environment()
        .get_template("dashboard.html.j2")
        .render(generated_at=data.generated_at, fresh=summary, sections=sections)
    )


def write_dashboard(path: str | os.PathLike[str], data: DashboardData) -> Path:
    """Write the page atomically to `path`."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(f"--html {target}: is a folder; give a file name such as report.html")
    if not target.parent.is_dir():
        raise UsageError(f"--html {target}: folder {target.parent} does not exist")
    page = render_html(data)
    # write beside the target, then rename: a reader never sees half a page
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
