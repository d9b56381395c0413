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


def _int_literal(node: exp.Expression | None) -> int | None:
    """The value of an integer literal (negative ones included), else None."""
    if isinstance(node, exp.Neg):
        inner = _int_literal(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit():
        return int(node.name)
    return None


def _is_text(node: exp.Expression) -> bool:
    """A value plainly a string (DuckDB slices strings too; Spark's slice takes arrays only)."""
    if isinstance(node, exp.Cast):
        return node.to.is_type(*exp.DataType.TEXT_TYPES)
    return (isinstance(node, exp.Literal) and node.is_string) or isinstance(
        node, exp.DPipe | exp.Concat | exp.Substring | exp.Lower | exp.Upper
    )


def _slice_bounds(
    node: exp.Expression, where: str
) -> tuple[exp.Expression, exp.Expression | None, exp.Expression | None, bool] | None:
    """(list, begin, end, has step) of array_slice/list_slice(x, a, b) or x[a:b]; a bound left
    out of x[a:b] is None (from the first / to the last)."""
    if isinstance(node, exp.ArraySlice):
        return node.this, node.args["start"], node.args["end"], node.args.get("step") is not None
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_slice":
        if len(node.expressions) < 3:
            raise NotPortable(f"{where}: list_slice takes a list, a begin and an end")
        values, begin, end, *stepped = node.expressions
        return values, begin, end, bool(stepped)
    if (
        isinstance(node, exp.Bracket)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Slice)
    ):
        bounds = node.expressions[0]
        step = bounds.args.get("step") is not None
        return node.this, bounds.this, bounds.expression, step
    return None


def _array_slice(node: exp.Expression, where: str) -> exp.Expression | None:
    """array_slice(x, a, b) / x[a:b] -> Spark's slice(x, start, LENGTH) with DuckDB's bounds.

    DuckDB counts 1-based with an inclusive end, a negative bound from the end (-1 the last),
    0 as 1, a bound past either end clamped, and a NULL bound makes the result NULL; sqlglot's
    SLICE(x, a, b - a + 1) is right only for positive bounds, and x[a:b] is no Spark syntax."""
    found = _slice_bounds(node, where)
    if found is None:
        return None
    values, begin, end, has_step = found
    if has_step:
        raise NotPortable(
            f"{where}: not portable to Spark: a slice with a step (write the slice without "
            "one and filter its elements)"
        )
    if _is_text(values):
        raise NotPortable(
            f"{where}: not portable to Spark: slicing a string (Spark's slice takes arrays; "
            "write substr(s, start, length))"
        )
    if isinstance(begin, exp.Null) or isinstance(end, exp.Null):
        return exp.Null()
    inner = values.transform(lambda n: _array_slice(n, where) or n)  # a slice of a slice

    def size() -> exp.Expression:
        return _call("SIZE", inner.copy())

    def from_end(bound: exp.Expression) -> exp.Expression:  # -1 is the last element
        value = _int_literal(bound)
        if value is None:
            counted = exp.Add(this=size(), expression=bound.copy())
            return exp.Add(this=counted, expression=_number(1))
        return size() if value == -1 else exp.Sub(this=size(), expression=_number(-value - 1))

    def position(bound: exp.Expression) -> exp.Expression:
        value = _int_literal(bound)
        if value is not None:
            return _number(value) if value >= 0 else from_end(bound)
        as_int = exp.Cast(this=bound.copy(), to=exp.DataType.build("int"))
        negative = exp.LT(this=as_int.copy(), expression=_number(0))
        return exp.If(this=negative, true=from_end(as_int), false=as_int)

    first, last = _int_literal(begin), _int_literal(end)
    start: exp.Expression
    if begin is None or (first is not None and first >= 0):
        start = _number(max(first or 1, 1))
    else:
        start = _call("GREATEST", position(begin), _number(1))
    length: exp.Expression
    if end is None:
        length = size()  # slice stops at the last element whatever the length asks
    elif last is not None and last >= 0 and isinstance(start, exp.Literal):
        length = _number(max(last - int(start.name) + 1, 0))
    else:
        span = exp.Sub(this=position(end), expression=start.copy())
        length = _call("GREATEST", exp.Add(this=span, expression=_number(1)), _number(0))
    sliced = _call("SLICE", inner, start, length)
    unknown = [
        exp.Is(this=b.copy(), expression=exp.Null())
        for b in (begin, end)
        if b is not None and _int_literal(b) is None
    ]
    if not unknown:
        return sliced
    return exp.If(this=exp.or_(*unknown), true=exp.Null(), false=sliced)


def _is_double(node: exp.Expression) -> bool:
    """An expression DuckDB computes as a DOUBLE whatever its inputs: `/` and epoch()
    (rewritten by then into a division), or an explicit cast."""
    if isinstance(node, exp.Paren | exp.Neg):
        return _is_double(node.this)
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
    return isinstance(node, exp.Div | exp.TimeToUnix)


def _round_double(node: exp.Expression, where: str) -> exp.Expression | None:
    """round(x, d) of a double: DuckDB rounds x's exact binary value half away from zero, so
    2.675 (really 2.67499999...) gives 2.67; Spark rounds the shortest decimal printing x
    ("2.675") half up, giving 2.68.

    In Spark: p = x * 10^d in doubles, and its rounding error e exactly (Dekker's product:
    x split into two 26-bit halves, each times 10^d exact for d <= 7); x's exact scaled value is
    p + e, so a p that is exactly k + 0.5 rounds away from zero unless e points back to zero."""
    if not isinstance(node, exp.Round) or not _is_double(node.this):
        return None
    places = _int_literal(node.args.get("decimals"))
    if places is None or not 1 <= places <= 7:
        return None  # round(x) agrees; other d are left as written (docs/spark.md)

    def double(value: float | exp.Expression) -> exp.Expression:
        this = value if isinstance(value, exp.Expression) else exp.Literal.number(value)
        return exp.Cast(this=this, to=exp.DataType.build("double"))

    # a double as in DuckDB, even where Spark divided decimals into a decimal
    x = double(exp.Paren(this=node.this))

    def times(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        return exp.Mul(this=a.copy(), expression=b.copy())

    def minus(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        return exp.Paren(this=exp.Sub(this=a.copy(), expression=b.copy()))

    scale = double(10**places)
    scaled = times(x, scale)
    spread = times(double(2**27 + 1), x)
    high = minus(spread, minus(spread, x))
    low = minus(x, high)
    error = exp.Add(this=minus(times(high, scale), scaled), expression=times(low, scale))
    size = _call("ABS", scaled)
    whole = _call("FLOOR", size.copy())
    fraction = minus(size, whole)
    half = double(0.5)
    away = exp.or_(
        exp.GT(this=fraction.copy(), expression=half.copy()),
        exp.and_(
            exp.EQ(this=fraction.copy(), expression=half.copy()),
            exp.GTE(
                this=times(_call("SIGN", x.copy()), exp.Paren(this=error)), expression=_number(0)
            ),
        ),
    )
    rounded = exp.Add(this=whole, expression=exp.If(this=away, true=_number(1), false=_number(0)))
    result = exp.Div(this=times(_call("SIGN", x.copy()), exp.Paren(this=rounded)), expression=scale)
    # from 2^52 / 10^d up a double has no fraction at d places: x is its own rounding
    integral = exp.GTE(this=_call("ABS", x.copy()), expression=double(2**52 / 10**places))
    return exp.If(this=integral, true=x.copy(), false=result)


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
    Rule(
        "round_double",
        "Spark rounds a double's printed decimal, DuckDB its exact value",
        _round_double,
    ),
    Rule(
        "array_slice_bounds",
        "Spark's slice takes a length, counts negative ends its own way, has no x[a:b]",
        _array_slice,
    ),
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
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
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
