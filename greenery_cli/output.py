"""Rendering rows: a Rich table for people, JSON/CSV/Markdown for machines. stdout only."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from greenery_cli.rows import Rows

    # what emit and the tables take: a question's plain rows, or a polars DataFrame
    Frame = Rows | pl.DataFrame

FORMATS = ("table", "json", "csv", "markdown")


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a Z; naive datetimes are taken as UTC (the warehouse's time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def plain(value: Any) -> Any:
    """A JSON-ready value: numbers stay numbers, times become ISO-8601 UTC strings."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):  # DuckDB's UUID as Python rows carry it (polars: a string)
        return str(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def records(df: Frame) -> list[dict[str, Any]]:
    return [plain(row) for row in df.to_dicts()]


def to_json(data: Any) -> str:
    return json.dumps(plain(data), indent=2, ensure_ascii=False)


def text_cell(value: Any) -> str:
    """How a value reads in a table, a CSV cell or Markdown."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return iso_utc(value).replace("T", " ")
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(value)


def to_csv(df: Frame) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(df.columns)
    for row in df.iter_rows():
        writer.writerow(["" if v is None else plain(v) for v in row])
    return buffer.getvalue()


def to_markdown(df: Frame) -> str:
    def cell(value: Any) -> str:
        return text_cell(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines) + "\n"


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def note(text: str) -> None:
    """One line on stderr as it is (beside machine output: no Rich to import, no markup, no
    emoji codes, never wrapped), control characters shown as escapes."""
    sys.stderr.write(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + "\n")
    sys.stderr.flush()


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def rich_table(
    df: Frame,
    title: str | None = None,
    caption: str | None = None,
    cell_styles: dict[str, Callable[[Any], str]] | None = None,
) -> Any:
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    numeric = {name for name, dtype in df.schema.items() if dtype.is_numeric()}
    for name in df.columns:
        table.add_column(name, justify="right" if name in numeric else "left")
    for row in df.iter_rows(named=True):
        cells = []
        for name, value in row.items():
            text = text_cell(value)
            style = cell_styles.get(name) if cell_styles else None
            cells.append(f"[{style(value)}]{text}[/]" if style and style(value) else _escape(text))
        table.add_row(*cells)
    return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def emit(
    df: Frame,
    fmt: str,
    *,
    title: str | None = None,
    caption: str | None = None,
    extra: Sequence[Any] = (),
) -> None:
    """Write rows to stdout in the chosen format; `extra` renderables follow a table view only."""
    if fmt == "json":
        sys.stdout.write(to_json(records(df)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(to_csv(df))
    elif fmt == "markdown":
        if title:
            sys.stdout.write(f"**{title}**\n\n")
        sys.stdout.write(to_markdown(df))
        if caption:
            sys.stdout.write(f"\n{caption}\n")
    else:
        console = stdout_console()
        console.print(rich_table(df, title=title, caption=caption))
        for renderable in extra:
            console.print(renderable)
