"""Rendering rows: a Rich table for people, JSON/CSV/Markdown for machines. stdout only."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from greenery_cli.rows import Rows
    from greenery_cli.tables import Layout

    # what emit and the tables take: a question's plain rows, or a polars DataFrame
    Frame = Rows | pl.DataFrame

FORMATS = ("table", "json", "csv", "markdown")
# What must never reach a terminal raw: C0 and C1 controls (ESC among them), DEL, and the
# invisible marks that reorder or break lines (bidi overrides and isolates, line separators).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, *, newlines: bool = False) -> str:
    """`text` with every control or invisible formatting character shown as an escape
    (ESC as \\x1b, a newline as \\n unless `newlines`), so data can never drive the terminal."""
    return (_UNSAFE_BUT_NEWLINE if newlines else _UNSAFE).sub(_escape_char, text)


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


# what Python's datetime can hold (years 1 to 9999), in the units polars stores
_MICROSECONDS = (-62_135_596_800_000_000, 253_402_300_799_999_999)
_DAYS = (-719_162, 2_932_896)


def check_printable(df: Frame) -> None:
    """Refuse a moment no Python, polars row or terminal can show (a query's own, say year
    294000 or infinity) with one line, instead of the panic converting it would raise. Rows
    need no check: DuckDB's own Python values are always printable."""
    from greenery_cli.rows import Rows

    if isinstance(df, Rows):
        return
    import polars as pl

    from greenery_cli.errors import UsageError

    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime):
            low, high = _MICROSECONDS
            scale = {"ns": 1000, "us": 1, "ms": 1 / 1000}[dtype.time_unit or "us"]
            low, high = int(low * scale), int(high * scale)
        elif isinstance(dtype, pl.Date):
            low, high = _DAYS
        else:
            continue
        stored = df.get_column(name).cast(pl.Int64)
        if stored.is_null().all():
            continue
        if int(stored.min()) < low or int(stored.max()) > high:  # type: ignore[arg-type]
            raise UsageError(
                f"column {name} holds a moment outside the years 1 to 9999, which cannot be "
                "printed; cast it to VARCHAR in the query to see it"
            )


def records(df: Frame) -> list[dict[str, Any]]:
    check_printable(df)
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
        return visible(text_cell(value).replace("|", "\\|").replace("\n", " "))

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines) + "\n"


# Output that is not a terminal (a pipe, a cron log) is laid out this wide: every column is
# shown and no line wraps, so each row stays one line a log reader can grep.
PLAIN_WIDTH = 10_000


def terminal_width() -> int | None:
    """The width tables are fitted to: GREENERY_WIDTH if set, else the terminal's (Rich's
    reading: $COLUMNS, then the tty), else None (stdout is not a terminal: plain lines)."""
    import os

    forced = os.environ.get("GREENERY_WIDTH", "")
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    if sys.stdout.isatty():
        from rich.console import Console

        return Console().width
    return None


def _safe_console(**options: Any) -> Console:
    """A Rich console that prints every string literally: no markup, no emoji codes, and
    control characters made visible (in strings before layout, in any other text at the end)."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Any:
            kwargs.update(markup=False, emoji=False)
            return super().render_str(visible(text, newlines=True), **kwargs)

        def render(self, renderable: Any, options: Any = None) -> Any:
            for segment in super().render(renderable, options):
                if segment.control is None and _UNSAFE_BUT_NEWLINE.search(segment.text):
                    segment = Segment(visible(segment.text, newlines=True), segment.style)
                yield segment

    return SafeConsole(highlight=False, markup=False, emoji=False, **options)


def stdout_console() -> Console:
    width = terminal_width()
    if width is None:
        return _safe_console(soft_wrap=True, width=PLAIN_WIDTH)
    return _safe_console(soft_wrap=False, width=width)


def note(text: str) -> None:
    """One line on stderr as it is (beside machine output: no Rich to import, no markup, no
    emoji codes, never wrapped), control characters shown as escapes."""
    sys.stderr.write(visible(text) + "\n")
    sys.stderr.flush()


def say(text: str, *, soft_wrap: bool = False) -> None:
    """A message line on stderr, printed literally: by Rich on a terminal (wrapped at its width
    unless `soft_wrap`), else (a cron log, a pipe) as it is, one line, with no Rich to import."""
    if not sys.stderr.isatty():
        note(text)
        return
    stderr_console().print(text, markup=False, highlight=False, soft_wrap=soft_wrap)


def stderr_console() -> Console:
    # a cron log keeps each message on one line; a terminal wraps at its width
    return _safe_console(stderr=True, soft_wrap=not sys.stderr.isatty())


def print_lines(console: Console, *renderables: Any) -> None:
    """Print to stdout without the spaces Rich pads lines with (goldens, logs, diffs)."""
    if console.is_terminal and console.color_system is not None:
        for renderable in renderables:
            console.print(renderable)
        return
    with console.capture() as capture:
        for renderable in renderables:
            console.print(renderable)
    text = "\n".join(line.rstrip() for line in capture.get().split("\n"))
    sys.stdout.write(text)


def emit(
    df: Frame,
    fmt: str,
    *,
    title: str | None = None,
    caption: str | None = None,
    extra: Sequence[Any] = (),
    layout: Layout | None = None,
) -> None:
    """Write rows to stdout in the chosen format; `extra` renderables follow a table view only.
    The table view fits the terminal by `layout` (greenery_cli/tables.py)."""
    check_printable(df)
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
        from greenery_cli.tables import fitted

        console = stdout_console()
        print_lines(console, fitted(df, layout, title=title, caption=caption), *extra)
