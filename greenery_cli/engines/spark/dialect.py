"""greenery's DuckDB-dialect SQL as Spark SQL: sqlglot's transpiler plus greenery's own rules.

sqlglot turns most of DuckDB's dialect into Spark's, but some constructs come out valid and
wrong (the rules below fix them: each exists for one such case, and a fixture test shows the
two engines agreeing on it), and some have no Spark equivalent at all (`NotPortable`, naming
the construct and the portable way to write it). docs/spark.md explains each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from greenery_cli.errors import ModelError


class NotPortable(ModelError):
    """A construct of the DuckDB SQL that Spark SQL cannot express; rewrite the source SQL."""


@dataclass(frozen=True)
class Transpiled:
    sql: str  # Spark SQL, named parameters as :name
    rules: tuple[str, ...]  # the rules that changed something, in the order applied


@dataclass(frozen=True)
class Rule:
    name: str
    why: str  # one line: what plain transpiling gets wrong
    apply: Callable[[exp.Expression, str], exp.Expression | None]  # (node, where) -> new node


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    """A Spark function call generated exactly as written."""
    return exp.Anonymous(this=name, expressions=list(args))


def _string(text: str) -> exp.Expression:
    return exp.Literal.string(text)


def _number(value: int) -> exp.Expression:
    return exp.Literal.number(value)


# --- rules that fix silent differences ----------------------------------------------------

# DuckDB's date_diff counts unit boundaries crossed; Spark's timestampdiff counts whole units.
# Truncating both ends to the unit first makes Spark count boundaries too.
_BOUNDARY_UNITS = {
    "MICROSECOND": "MICROSECOND",
    "MILLISECOND": "MILLISECOND",
    "SECOND": "SECOND",
    "MINUTE": "MINUTE",
    "HOUR": "HOUR",
    "DAY": "DAY",
    "MONTH": "MONTH",
    "QUARTER": "QUARTER",
    "YEAR": "YEAR",
}


def _date_diff(node: exp.Expression, where: str) -> exp.Expression | None:
    if not isinstance(node, exp.DateDiff) or not node.args.get("date_part_boundary"):
        return None
    unit_node = node.args.get("unit")
    unit = unit_node.name.upper() if unit_node is not None else "DAY"
    unit = unit.removesuffix("S") if unit.removesuffix("S") in _BOUNDARY_UNITS else unit
    if unit not in _BOUNDARY_UNITS:
        raise NotPortable(
            f"{where}: date_diff('{unit.lower()}', ...) has no boundary-counting Spark "
            f"equivalent here; use one of {', '.join(u.lower() for u in _BOUNDARY_UNITS)}"
        )
    start, end = node.expression, node.this
    return _call(
        "TIMESTAMPDIFF",
        exp.var(unit),
        _call("DATE_TRUNC", _string(unit), start),
        _call("DATE_TRUNC", _string(unit), end),
    )


def _ordered_list(node: exp.Expression, where: str) -> exp.Expression | None:
    """list(x ORDER BY k) -> the values of collect_list(struct(k, x)) sorted, NULLs kept.

    collect_list drops NULL values and keeps no order; wrapping each value in a struct keeps
    NULLs, and sorting the structs on (null flag, key) reproduces DuckDB's ORDER BY, whose
    NULLs sort last unless asked otherwise."""
    if not isinstance(node, exp.ArrayAgg):
        return None
    if isinstance(node.parent, exp.Filter | exp.Window) or isinstance(node.this, exp.Distinct):
        raise NotPortable(
            f"{where}: list()/array_agg() with DISTINCT, FILTER or OVER is not translated; "
            "filter or number the rows in a subquery first"
        )
    value = node.this
    keys: list[exp.Ordered] = []
    if isinstance(value, exp.Order):
        keys = [k if isinstance(k, exp.Ordered) else exp.Ordered(this=k) for k in value.expressions]
        value = value.this
    directions = {bool(k.args.get("desc")) for k in keys}
    if len(directions) > 1:
        raise NotPortable(
            f"{where}: list(... ORDER BY) with mixed ASC/DESC keys is not translated; "
            "order by one direction"
        )
    descending = directions == {True}
    fields: list[exp.Expression] = []
    for i, key in enumerate(keys):
        nulls_first = bool(key.args.get("nulls_first"))
        # the flag sorts before the key: false first when ascending, true first when descending
        flag_is_null = nulls_first == descending
        flag = exp.Is(this=key.this.copy(), expression=exp.Null())
        fields += [
            _string(f"n{i}"),
            flag if flag_is_null else exp.Not(this=flag),
            _string(f"k{i}"),
            key.this.copy(),
        ]
    fields += [_string("v"), value.copy()]
    collected = _call("COLLECT_LIST", _call("NAMED_STRUCT", *fields))
    if keys:
        collected = _call("SORT_ARRAY", collected, exp.Boolean(this=not descending))
    values = _call(
        "TRANSFORM",
        collected,
        exp.Lambda(this=exp.column("v", table="e"), expressions=[exp.to_identifier("e")]),
    )
    # DuckDB's list() over no rows is NULL; collect_list's is an empty array
    no_rows = exp.EQ(this=exp.Count(this=exp.Star()), expression=_number(0))
    return exp.If(this=no_rows, true=exp.Null(), false=values)


def _epoch(node: exp.Expression, where: str) -> exp.Expression | None:
    """epoch(ts) -> seconds with their fraction (unix_timestamp truncates to whole seconds)."""
    if not isinstance(node, exp.TimeToUnix):
        return None
    if isinstance(node.this, exp.Sub):
        raise NotPortable(
            f"{where}: not portable to Spark: epoch() of an interval (Spark's unix_micros takes "
            "a timestamp; write epoch(a) - epoch(b))"
        )
    return exp.Div(
        this=_call("UNIX_MICROS", node.this),
        expression=exp.Cast(this=_number(1_000_000), to=exp.DataType.build("double")),
    )


def _epoch_us(node: exp.Expression, where: str) -> exp.Expression | None:
    """epoch_us(ts) -> unix_micros(ts): the same whole microseconds; Spark has no epoch_us."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch_us":
        if len(node.expressions) != 1:
            raise NotPortable(f"{where}: epoch_us takes one timestamp")
        return _call("UNIX_MICROS", node.expressions[0])
    return None


def _arg_max(node: exp.Expression, where: str) -> exp.Expression | None:
    """arg_max/arg_min skip rows whose value is NULL in DuckDB; Spark's max_by returns it."""
    if not isinstance(node, exp.ArgMax | exp.ArgMin):
        return None
    if node.args.get("count") is not None:
        raise NotPortable(f"{where}: arg_max/arg_min with a count is not translated")
    value, key = node.this, node.expression
    guarded = exp.If(
        this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null(), false=key
    )
    return _call("MAX_BY" if isinstance(node, exp.ArgMax) else "MIN_BY", value, guarded)


def _zip_unnests(node: exp.Expression, where: str) -> exp.Expression | None:
    """Two unnest() in one SELECT walk their lists in step in DuckDB; Spark 4 crosses them
    (or, when a list holds aggregates, refuses two generators).

    arrays_zip walks them in step (padding the shorter with NULLs, as DuckDB does) and
    inline() turns the zipped structs back into one column per list."""
    if not isinstance(node, exp.Select):
        return None
    generators = [
        (i, e)
        for i, e in enumerate(node.expressions)
        if isinstance(e.unalias(), exp.Explode) and not isinstance(e.unalias(), exp.Posexplode)
    ]
    if len(generators) < 2:
        return None
    names = [e.alias for _, e in generators]
    if not all(names):
        raise NotPortable(f"{where}: name every unnest() in a SELECT with more than one")
    lists = [e.unalias().this for _, e in generators]
    inline = exp.Aliases(
        this=_call("INLINE", _call("ARRAYS_ZIP", *lists)),
        expressions=[exp.to_identifier(n) for n in names],
    )
    first = generators[0][0]
    drop = {i for i, _ in generators}
    projections = [e for i, e in enumerate(node.expressions) if i not in drop]
    projections.insert(first, inline)
    node.set("expressions", projections)
    return node


# --- rules for constructs Spark spells differently ----------------------------------------


def _materialized_cte(node: exp.Expression, where: str) -> exp.Expression | None:
    """AS [NOT] MATERIALIZED is a DuckDB/PostgreSQL planner hint Spark cannot parse."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    return None


_INTERVAL_FUNCTIONS = {"to_days": 0, "to_hours": 1, "to_minutes": 2, "to_seconds": 3}


def _to_interval(node: exp.Expression, where: str) -> exp.Expression | None:
    """to_seconds(n) and friends: Spark builds the same day-time interval with make_dt_interval."""
    if not isinstance(node, exp.Anonymous) or str(node.this).lower() not in _INTERVAL_FUNCTIONS:
        return None
    (amount,) = node.expressions
    parts: list[exp.Expression] = [_number(0) for _ in range(4)]
    parts[_INTERVAL_FUNCTIONS[str(node.this).lower()]] = amount
    return _call("MAKE_DT_INTERVAL", *parts)


def _quantile(node: exp.Expression, where: str) -> exp.Expression | None:
    """quantile_cont(x, p) has two arguments in DuckDB; Spark's exact equivalent is percentile."""
    if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
        return _call("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.PercentileDisc) and node.args.get("expression") is not None:
        raise NotPortable(
            f"{where}: quantile_disc picks a different element than Spark's percentile_disc; "
            "use quantile_cont"
        )
    return None


# --- constructs with no Spark equivalent --------------------------------------------------

_DUCKDB_ONLY_FUNCTIONS = (
    "read_csv",
    "read_csv_auto",
    "read_parquet",
    "parquet_schema",
    "duckdb_columns",
    "duckdb_tables",
)
# DuckDB types Spark has no counterpart for
_DUCKDB_ONLY_TYPES = {
    exp.DataType.Type.INT128,
    exp.DataType.Type.UINT128,
    exp.DataType.Type.UBIGINT,
    exp.DataType.Type.UINT,
    exp.DataType.Type.USMALLINT,
    exp.DataType.Type.UTINYINT,
}


def _is_star(projection: exp.Expression) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _refuse(node: exp.Expression, where: str) -> exp.Expression | None:
    reason = None
    if isinstance(node, exp.Update | exp.Delete | exp.Merge):
        reason = (
            f"{node.key.upper()} (Spark cannot change Parquet tables in place; "
            "write the new table state with a SELECT)"
        )
    elif isinstance(node, exp.Join) and str(node.args.get("method") or "").upper() == "ASOF":
        reason = (
            "ASOF join (Spark has none and reads ASOF as a table alias; find the first row at "
            "or after a moment with a running min over a window, as "
            "reports/funnel_attempts_chain.sql does)"
        )
    elif isinstance(node, exp.Greatest | exp.Least) and not node.expressions:
        reason = (
            f"{node.sql_name().lower()}() of one value (Spark wants two or more; write the value)"
        )
    elif isinstance(node, exp.Union) and node.args.get("by_name"):
        reason = "UNION BY NAME (Spark SQL has none; list the same columns in the same order)"
    elif (
        isinstance(node, exp.Column)
        and isinstance(node.this, exp.Identifier)
        and not node.this.quoted
        and node.name.lower() == "rowid"
    ):
        reason = "rowid (Spark tables have no row id; carry an explicit position column)"
    elif isinstance(node, exp.Create) and node.args.get("kind") == "TABLE":
        props = node.args.get("properties")
        if props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions):
            reason = (
                "a temp table (Spark's temporary view re-runs its query at every read; "
                "materialise into a table)"
            )
    elif isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        if node.this.is_string and node.this.name.lower().lstrip("+-") == "infinity":
            reason = "'infinity' (Spark has no infinite timestamp; test for NULL instead)"
    elif isinstance(node, exp.Select) and any(_is_star(e) for e in node.expressions):
        if any(j.args.get("using") for j in node.args.get("joins") or ()):
            reason = (
                "a star over a USING join (Spark moves the USING columns first, even in t.*; "
                "join with ON, or name the columns)"
            )
    elif isinstance(node, exp.DataType) and node.this in _DUCKDB_ONLY_TYPES:
        reason = f"type {node.sql('duckdb')} (cast to bigint or decimal(38, 0))"
    elif isinstance(node, exp.Table) and node.db.lower() == "information_schema":
        reason = "information_schema (Spark's catalog is read through the engine, not SQL)"
    elif isinstance(node, exp.Anonymous | exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in _DUCKDB_ONLY_FUNCTIONS:
            reason = f"{name}() (DuckDB's own catalog or file reader)"
    if reason:
        raise NotPortable(f"{where}: not portable to Spark: {reason}")
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        "refuse_unportable", "constructs Spark cannot express are refused, naming the fix", _refuse
    ),
    Rule(
        "date_diff_boundaries", "date_diff counts boundaries; Spark counts whole units", _date_diff
    ),
    Rule("ordered_list", "collect_list drops NULLs and the ORDER BY of list()", _ordered_list),
    Rule("epoch_fractions", "unix_timestamp drops the fraction of a second epoch() keeps", _epoch),
    Rule("epoch_micros", "Spark has no epoch_us(); unix_micros gives the same integer", _epoch_us),
    Rule(
        "arg_max_nulls", "DuckDB's arg_max skips NULL values, Spark's max_by returns them", _arg_max
    ),
    Rule("zip_unnests", "two unnest() walk in step in DuckDB; Spark crosses them", _zip_unnests),
    Rule("materialized_cte", "Spark cannot parse AS [NOT] MATERIALIZED", _materialized_cte),
    Rule(
        "to_interval", "Spark has no to_seconds(); make_dt_interval builds the same", _to_interval
    ),
    Rule("quantile_two_args", "Spark's percentile_cont takes no second argument", _quantile),
)


def transpile(sql: str, *, where: str = "query") -> Transpiled:
    """One DuckDB statement as Spark SQL, and the rules that changed it."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise NotPortable(
            f"{where}: cannot read the DuckDB SQL: {str(exc).splitlines()[0]}"
        ) from None
    if len(statements) != 1:
        raise ModelError(f"{where}: expected one SQL statement, found {len(statements)}")
    tree = statements[0]
    applied: list[str] = []
    for rule in RULES:

        def apply(node: exp.Expression, rule: Rule = rule) -> exp.Expression:
            new = rule.apply(node, where)
            if new is None:
                return node
            applied.append(rule.name)
            return new

        tree = tree.transform(apply, copy=False)
    try:
        spark_sql = tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as exc:
        raise NotPortable(f"{where}: not portable to Spark: {exc}") from None
    return Transpiled(spark_sql, tuple(dict.fromkeys(applied)))


def to_spark(sql: str, *, where: str = "query") -> str:
    """One DuckDB statement as Spark SQL (raises NotPortable, naming `where`)."""
    return transpile(sql, where=where).sql
