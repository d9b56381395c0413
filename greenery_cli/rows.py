"""Small query results as plain Python rows: what a question's answer is, without polars.

A question's answer is a few rows (three funnel steps, thirty products); converting it to a
polars DataFrame costs importing polars and pyarrow (a third of a second of CPU), more than the
query. `Rows` holds the column names, their DuckDB types and the tuples DuckDB returned, and
offers the read-only subset of the DataFrame API that the views, `output.emit` and the tests
use (`columns`, `schema`, `height`, `iter_rows`, `to_dicts`, `row`, `rows["col"]`), with the
same meaning. `to_polars()` converts when a caller really wants a DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    import duckdb
    import polars as pl

_INTEGER = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}


class Dtype:
    """A column's DuckDB type by name, with the questions the renderers ask of a dtype."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def is_integer(self) -> bool:
        return self.name in _INTEGER

    def is_float(self) -> bool:
        return self.name in _FLOAT

    def is_numeric(self) -> bool:
        return self.is_integer() or self.is_float() or self.name.startswith("DECIMAL")

    def to_python(self) -> type:
        """The Python type of the values (what polars' dtype.to_python() says for the same)."""
        if self.name.startswith("VARCHAR"):
            return str
        if self.is_integer():
            return int
        return float if self.is_float() else object

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dtype) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Dtype({self.name!r})"


def infer_type(values: Iterable[Any]) -> str:
    """The DuckDB type name of a column built in Python, from its first non-null value."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            return "BOOLEAN"
        if isinstance(value, int):
            return "BIGINT"
        if isinstance(value, float):
            return "DOUBLE"
        if isinstance(value, Decimal):
            return "DECIMAL"
        if isinstance(value, datetime):
            return "TIMESTAMP WITH TIME ZONE" if value.tzinfo else "TIMESTAMP"
        if isinstance(value, date):
            return "DATE"
        if isinstance(value, time):
            return "TIME"
        if isinstance(value, timedelta):
            return "INTERVAL"
        if isinstance(value, list | tuple):
            return "LIST"
        return "VARCHAR"
    return "NULL"


class Column(list[Any]):
    """One column's values (a list), with the Series methods callers use."""

    def to_list(self) -> list[Any]:
        return list(self)

    def null_count(self) -> int:
        return sum(1 for v in self if v is None)

    def n_unique(self) -> int:
        return len(set(self))


class Rows:
    """Column names, their types and the rows as tuples, in the query's order."""

    __slots__ = ("_columns", "_data", "_types")

    def __init__(
        self,
        columns: Sequence[str],
        data: Sequence[tuple[Any, ...]] = (),
        types: Sequence[str] | None = None,
    ) -> None:
        self._columns = tuple(columns)
        self._data = [tuple(row) for row in data]
        if types is None:
            types = [infer_type(row[i] for row in self._data) for i in range(len(self._columns))]
        if len(types) != len(self._columns):
            raise ValueError(f"{len(self._columns)} columns but {len(types)} types")
        self._types = tuple(types)

    @classmethod
    def from_cursor(cls, cursor: duckdb.DuckDBPyConnection) -> Rows:
        """The rest of an executed statement's result (nothing for a statement without one)."""
        description = cursor.description or []
        data = cursor.fetchall()
        return cls([d[0] for d in description], data, [str(d[1]) for d in description])

    @classmethod
    def from_dicts(
        cls, records: Sequence[dict[str, Any]], schema: dict[str, str] | Sequence[str]
    ) -> Rows:
        """Rows from records: `schema` gives the columns in order (name -> type, or names)."""
        names = list(schema)
        types = list(schema.values()) if isinstance(schema, dict) else None
        return cls(names, [tuple(r.get(n) for n in names) for r in records], types)

    # --- the DataFrame subset -------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def schema(self) -> dict[str, Dtype]:
        return {name: Dtype(t) for name, t in zip(self._columns, self._types, strict=True)}

    @property
    def height(self) -> int:
        return len(self._data)

    @property
    def width(self) -> int:
        return len(self._columns)

    def __len__(self) -> int:
        return len(self._data)

    def is_empty(self) -> bool:
        return not self._data

    @overload
    def iter_rows(self, *, named: Literal[False] = ...) -> Iterator[tuple[Any, ...]]: ...

    @overload
    def iter_rows(self, *, named: Literal[True]) -> Iterator[dict[str, Any]]: ...

    def iter_rows(
        self, *, named: bool = False
    ) -> Iterator[tuple[Any, ...]] | Iterator[dict[str, Any]]:
        if named:
            return (dict(zip(self._columns, row, strict=True)) for row in self._data)
        return iter(self._data)

    def rows(self) -> list[tuple[Any, ...]]:
        return list(self._data)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self._columns, row, strict=True)) for row in self._data]

    @overload
    def row(self, index: int, *, named: Literal[False] = ...) -> tuple[Any, ...]: ...

    @overload
    def row(self, index: int, *, named: Literal[True]) -> dict[str, Any]: ...

    def row(self, index: int, *, named: bool = False) -> tuple[Any, ...] | dict[str, Any]:
        row = self._data[index]
        return dict(zip(self._columns, row, strict=True)) if named else row

    def __getitem__(self, name: str) -> Column:
        try:
            i = self._columns.index(name)
        except ValueError:
            raise KeyError(f"no column {name!r} (columns: {', '.join(self._columns)})") from None
        return Column(row[i] for row in self._data)

    def select(self, *names: str) -> Rows:
        """These columns only, in this order."""
        index = [self._columns.index(n) for n in names]
        return Rows(
            names,
            [tuple(row[i] for i in index) for row in self._data],
            [self._types[i] for i in index],
        )

    def where(self, keep: Sequence[bool]) -> Rows:
        """The rows whose flag is true (a list as long as the rows)."""
        data = [row for row, k in zip(self._data, keep, strict=True) if k]
        return Rows(self._columns, data, self._types)

    def equals(self, other: object) -> bool:
        return (
            isinstance(other, Rows)
            and other._columns == self._columns
            and other._types == self._types
            and other._data == self._data
        )

    def __eq__(self, other: object) -> bool:
        return self.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({list(self._columns)}, {self.height} rows)"

    def to_polars(self) -> pl.DataFrame:
        """The same rows as a polars DataFrame (imports polars)."""
        import polars as pl

        data = {name: [row[i] for row in self._data] for i, name in enumerate(self._columns)}
        return pl.DataFrame(data, strict=False)
