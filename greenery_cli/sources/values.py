"""Every source value checked against its declared type exactly, in the SQL that reads it.

One rule per (declared type, type the source delivers): a value converts only when nothing is
lost (12.5 is not an INTEGER, 1e400 is not a DOUBLE, a timestamp keeps its microseconds) and it
lies in the range every command can answer (timestamps and dates from EARLIEST to before
LATEST). A refused value stops the statement through DuckDB's error() with a marker naming the
column; the source then finds the first refused value's row with `refused()`, the same rule as
a predicate, so the check costs no second pass over good data.

The predicates are written in SQL that DuckDB runs and that the Spark dialect
(engines/spark/dialect.py) turns into the same test on Spark, whose load checks exports with them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

# What a timestamp or date may be: later than anything a shop's export holds is a broken export
# (and past year 9999 no Python, polars or browser can show it). docs/warehouse.md says so.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MARKER = "greenery refused a value in column "
_MARKED = re.compile(re.escape(MARKER) + r"(.+?) \(declared ")

_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_UNSIGNED = {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
_FLOATS = {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP_US"}
_TIMESTAMPTZ = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
_TEXT = {"VARCHAR"}
# exports write integers as digits and numbers in decimal or scientific notation; DuckDB's cast
# would also take 12.5 (rounded), 0x1F or 1_000, which no export means
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"
_NUMBER_TEXT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_MAX_DOUBLE = "1.7976931348623157e308"
# more than six digits after the second: DuckDB keeps microseconds and would drop the rest
_SUBMICRO_TEXT = r"[0-9]:[0-9]{2}\.[0-9]{7}"


class WrongType(Exception):
    """The source's column type cannot carry the declared type at all."""


def csv_read_type(declared: str) -> str:
    """The type the CSV reader parses a declared column as: text wherever DuckDB's own parser
    would round, truncate or accept what no export means, so converted() sees the text."""
    return declared if declared in ("VARCHAR", "BOOLEAN") else "VARCHAR"


def base_type(source_type: str) -> str:
    """DuckDB's type name without its parameters: DECIMAL(18,3) -> DECIMAL."""
    return source_type.upper().split("(")[0].strip()


def accepts(declared: str, source_type: str) -> bool:
    """Whether a source column of `source_type` can hold values of the declared type."""
    source = base_type(source_type)
    numeric = _INTEGERS | _UNSIGNED | _FLOATS | {"DECIMAL"}
    allowed = {
        "VARCHAR": _TEXT | _INTEGERS | _UNSIGNED | {"UUID"},
        "INTEGER": _TEXT | numeric,
        "BIGINT": _TEXT | numeric,
        "DOUBLE": _TEXT | numeric,
        "BOOLEAN": _TEXT | {"BOOLEAN"},
        "DATE": _TEXT | {"DATE"} | _TIMESTAMPS | _TIMESTAMPTZ,
        "TIMESTAMPTZ": _TEXT | {"DATE"} | _TIMESTAMPS | _TIMESTAMPTZ,
    }
    return source in allowed.get(declared, set())


def _literal(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return f"timestamptz '{moment.strftime('%Y-%m-%d %H:%M:%S')}+00'"
    return f"date '{moment.isoformat()}'"


def _in_range(expr: str, declared: str) -> str:
    if declared == "DATE":
        return f"({expr} >= {_literal(EARLIEST.date())} and {expr} < {_literal(LATEST.date())})"
    return f"({expr} >= {_literal(EARLIEST)} and {expr} < {_literal(LATEST)})"


def _finite(expr: str) -> str:
    """SQL true when the DOUBLE `expr` is a finite number: NaN compares above every number in
    both DuckDB and Spark, and neither has isfinite() under the same name."""
    return f"abs({expr}) <= {_MAX_DOUBLE}"


def _accepted(expr: str, declared: str, source_type: str) -> str:
    """SQL true when the non-NULL value `expr` converts exactly (NULL counts as not)."""
    source = base_type(source_type)
    cast = f"try_cast({expr} as {declared})"
    if declared == "VARCHAR":
        return f"{cast} is not null"
    if declared in ("INTEGER", "BIGINT"):
        if source in _TEXT:
            return f"(regexp_matches({expr}, '{_INTEGER_TEXT}') and {cast} is not null)"
        if source in _FLOATS or source == "DECIMAL":
            return f"({expr} % 1 = 0 and {cast} is not null)"
        return f"{cast} is not null"
    if declared == "DOUBLE":
        if source in _TEXT:
            return f"(regexp_matches({expr}, '{_NUMBER_TEXT}') and {_finite(cast)})"
        return _finite(cast)
    if declared == "BOOLEAN":
        return f"{cast} is not null"
    if declared == "DATE":
        if source in _TIMESTAMPS | _TIMESTAMPTZ:
            # a moment is a date only at midnight UTC; anything else would be cut off
            return f"({cast} is not null and {_in_range(cast, declared)} and {expr} = {cast})"
        return f"({cast} is not null and {_in_range(cast, declared)})"
    if declared == "TIMESTAMPTZ":
        checked = f"({cast} is not null and {_in_range(cast, declared)})"
        if source in _TEXT:
            return f"({checked} and not regexp_matches({expr}, '{_SUBMICRO_TEXT}'))"
        if source == "TIMESTAMP_NS":
            return f"({checked} and epoch_ns({expr}) % 1000 = 0)"
        return checked
    raise WrongType(declared)


def refused(expr: str, declared: str, source_type: str) -> str:
    """SQL true exactly when the value `expr` (of `source_type`) is refused as `declared`."""
    return f"({expr} is not null and not coalesce({_accepted(expr, declared, source_type)}, false))"


def needs_check(declared: str, source_type: str) -> bool:
    """False when every value of `source_type` converts exactly (no check to pay for)."""
    source = base_type(source_type)
    if declared == "VARCHAR":
        return source not in _TEXT and source not in _INTEGERS | _UNSIGNED | {"UUID"}
    if declared == "BOOLEAN":
        return source != "BOOLEAN"
    if declared == "INTEGER":
        return source not in {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT"}
    if declared == "BIGINT":
        return source not in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"} | (
            {"UTINYINT", "USMALLINT", "UINTEGER"}
        )
    return True


def converted(expr: str, declared: str, source_type: str, column: str) -> str:
    """SQL for the value as the declared type, or a stop naming the column (see MARKER)."""
    target = f"cast({expr} as {declared})"
    if not needs_check(declared, source_type):
        return target
    message = f"{MARKER}{column} (declared {declared})".replace("'", "''")
    stop = f"error('{message}')"
    return f"case when {refused(expr, declared, source_type)} then {stop} else {target} end"


def refused_column(error_text: str) -> str | None:
    """The column a converted() stop names, from DuckDB's error message."""
    found = _MARKED.search(error_text)
    return found.group(1) if found else None


def reason(declared: str) -> str:
    """Why a refused value is not a value of the declared type, in a few words."""
    detail = {
        "TIMESTAMPTZ": f"a moment from {EARLIEST.date().isoformat()} to before "
        f"{LATEST.date().isoformat()}, to the microsecond",
        "DATE": f"a date from {EARLIEST.date().isoformat()} to before {LATEST.date().isoformat()}",
        "INTEGER": "a whole number from -2147483648 to 2147483647",
        "BIGINT": "a whole number that fits 64 bits",
        "DOUBLE": "a finite number",
    }.get(declared)
    return f"is not a valid {declared}" + (f" ({detail})" if detail else "")
