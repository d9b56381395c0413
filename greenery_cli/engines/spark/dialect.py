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


def _literal_index(node: exp.Expression) -> int | None:
    """The DuckDB index of a literal subscript: sqlglot's parser already moved a literal to
    0-based (l[1] is read as 0, l[-1] as -2), so one is added back."""
    value = _int_literal(node)
    return None if value is None else value + 1


def _element(values: exp.Expression, index: exp.Expression, literal: int | None) -> exp.Expression:
    """DuckDB's l[i]: 1-based, negative from the end, NULL when 0 or out of range; Spark's
    try_element_at agrees except that 0 is an error."""
    if literal is not None:
        return exp.Null() if literal == 0 else _call("TRY_ELEMENT_AT", values, _number(literal))
    zero = exp.EQ(this=index.copy(), expression=_number(0))
    return exp.If(this=zero, true=exp.Null(), false=_call("TRY_ELEMENT_AT", values, index))


def _list_index(node: exp.Expression, where: str) -> exp.Expression | None:
    """l[i] and list_extract(l, i): sqlglot writes l[i - 1] for a literal (Spark's l[n] is
    0-based and an error out of range, and l[-1] becomes l[-2]) and leaves a column index
    as it is (one place off)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("list_extract", "array_extract"):
        if len(node.expressions) != 2:
            raise NotPortable(f"{where}: {node.name.lower()} takes a list and an index")
        values, index = node.expressions
        if _is_text(values):
            return None  # a string's character: Spark refuses it loudly
        return _element(values, index, _int_literal(index))
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return None
    (index,) = node.expressions
    if isinstance(index, exp.Slice) or (isinstance(index, exp.Literal) and index.is_string):
        return None  # slices have their own rule; m['key'] and s['field'] agree
    return _element(node.this, index, _literal_index(index))


def _substring(node: exp.Expression, where: str) -> exp.Expression | None:
    """substr(s, start, length) with start 0 or a negative length: DuckDB counts position 0 as
    just before the first character (substr('hello', 0, 2) is 'h') and a negative length
    backwards from start (substr('hello', 3, -2) is 'he'); Spark reads 0 as 1 and a negative
    length as empty. A positive start and a length of 0 or more agree, and so does every
    two-argument substr."""
    if not isinstance(node, exp.Substring) or node.args.get("length") is None:
        return None
    text, start, length = node.this, node.args["start"], node.args["length"]
    first, count = _int_literal(start), _int_literal(length)
    if first is not None and first != 0 and count is not None and count >= 0:
        return None
    if first is not None and first > 0 and count is not None:  # backwards from a fixed start
        begins = max(first + count, 1)
        return _call("SUBSTRING", text, _number(begins), _number(max(first - begins, 0)))
    if first == 0 and count is not None:
        return _call("SUBSTRING", text, _number(1), _number(max(count - 1, 0)))
    size = _call("CHAR_LENGTH", text.copy())
    # DuckDB's begin, 1-based, before the text when 0 or far negative
    begin = exp.Case(
        ifs=[
            exp.If(this=exp.GT(this=start.copy(), expression=_number(0)), true=start.copy()),
            exp.If(this=exp.EQ(this=start.copy(), expression=_number(0)), true=_number(0)),
        ],
        default=exp.Add(
            this=exp.Add(this=size.copy(), expression=start.copy()), expression=_number(1)
        ),
    )
    forwards = exp.GTE(this=length.copy(), expression=_number(0))
    low: exp.Expression = exp.If(
        this=forwards,
        true=begin.copy(),
        false=exp.Add(this=begin.copy(), expression=length.copy()),
    )
    high: exp.Expression = exp.If(
        this=forwards.copy(),
        true=exp.Add(this=begin.copy(), expression=length.copy()),
        false=begin.copy(),
    )
    low = _call("GREATEST", low, _number(1))
    high = _call("LEAST", high, exp.Add(this=size, expression=_number(1)))
    span = _call("GREATEST", exp.Sub(this=high, expression=low.copy()), _number(0))
    cut = _call("SUBSTRING", text, low, span)
    unknown = [  # Spark's greatest() skips a NULL; DuckDB's substr of a NULL bound is NULL
        exp.Is(this=b.copy(), expression=exp.Null())
        for b, value in ((start, first), (length, count))
        if value is None
    ]
    return exp.If(this=exp.or_(*unknown), true=exp.Null(), false=cut) if unknown else cut


_DOW_FIELDS = {"dow": "dow", "dayofweek": "dow", "weekday": "dow", "isodow": "isodow"}


def _weekday_number(day: exp.Expression, kind: str) -> exp.Expression:
    """DuckDB's dow (Sunday 0 .. Saturday 6) or isodow (Monday 1 .. Sunday 7) from Spark's
    dayofweek (Sunday 1 .. Saturday 7)."""
    sunday_one = _call("DAYOFWEEK", day)
    if kind == "dow":
        return exp.Paren(this=exp.Sub(this=sunday_one, expression=_number(1)))
    from_monday = exp.Mod(
        this=exp.Paren(this=exp.Add(this=sunday_one, expression=_number(5))),
        expression=_number(7),
    )
    return exp.Paren(this=exp.Add(this=from_monday, expression=_number(1)))


def _weekday(node: exp.Expression, where: str) -> exp.Expression | None:
    """dayofweek/dow/weekday count Sunday as 0 in DuckDB, 1 (dayofweek, extract(dow)) or 6
    (weekday) in Spark; sqlglot's isodow is ((dayofweek % 7) + 1), Monday 3; dayname and
    monthname are 'Sunday' and 'January' in DuckDB, 'Sun' and 'Jan' in Spark."""
    if isinstance(node, exp.DayOfWeek):
        return _weekday_number(node.this, "dow")
    if isinstance(node, exp.DayOfWeekIso):
        return _weekday_number(node.this, "isodow")
    if isinstance(node, exp.Extract):
        field = node.this.name.lower()
        return (
            _weekday_number(node.expression, _DOW_FIELDS[field]) if field in _DOW_FIELDS else None
        )
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), node.expressions
        if name == "weekday" and len(args) == 1:
            return _weekday_number(args[0], "dow")
        if name in ("date_part", "datepart") and len(args) == 2 and args[0].is_string:
            field = args[0].name.lower()
            return _weekday_number(args[1], _DOW_FIELDS[field]) if field in _DOW_FIELDS else None
        return None
    if isinstance(node, exp.Dayname | exp.Monthname):
        if node.args.get("abbreviated"):
            return None
        pattern = "EEEE" if isinstance(node, exp.Dayname) else "MMMM"
        return _call("DATE_FORMAT", node.this, _string(pattern))
    return None


# strftime's directives as Spark datetime patterns (or expressions, where Spark has none)
_STRFTIME = {
    "Y": "yyyy", "y": "yy", "m": "MM", "-m": "M", "d": "dd", "-d": "d",
    "H": "HH", "-H": "H", "I": "hh", "-I": "h", "M": "mm", "-M": "m", "S": "ss", "-S": "s",
    "f": "SSSSSS", "g": "SSS", "n": "SSSSSSSSS", "p": "a", "a": "EEE", "A": "EEEE",
    "b": "MMM", "h": "MMM", "B": "MMMM", "j": "DDD", "-j": "D",
    "u": None, "w": None, "V": None, "G": None,
}  # fmt: skip


def _strftime_piece(moment: exp.Expression, directive: str) -> exp.Expression:
    """A directive Spark's patterns cannot write, as a string expression."""
    if directive in ("u", "w"):
        kind = "isodow" if directive == "u" else "dow"
        return exp.Cast(this=_weekday_number(moment.copy(), kind), to=exp.DataType.build("string"))
    if directive == "V":
        week = exp.Cast(this=_call("WEEKOFYEAR", moment.copy()), to=exp.DataType.build("string"))
        return _call("LPAD", week, _number(2), _string("0"))
    year = exp.Extract(this=exp.var("YEAROFWEEK"), expression=moment.copy())  # %G
    return exp.Cast(this=year, to=exp.DataType.build("string"))


def _strftime(node: exp.Expression, where: str) -> exp.Expression | None:
    """strftime(t, fmt): sqlglot swaps the directives for Spark pattern letters but leaves the
    text between them bare, where every letter is a pattern ('day %d' prints the day period
    and the year...), and %u, %w, %j, %V, %G come out wrong or as they are. Written as the
    concatenation of the text (quoted) and each directive (a date_format pattern, or an
    expression where Spark has none)."""
    if not isinstance(node, exp.TimeToStr):
        return None
    form = node.args.get("format")
    if not (isinstance(form, exp.Literal) and form.is_string):
        raise NotPortable(
            f"{where}: not portable to Spark: strftime with a computed format (write the "
            "format as a literal)"
        )
    text, moment = form.name, node.this
    pieces: list[exp.Expression] = []
    pattern = ""  # a Spark pattern being built: quoted text and pattern letters
    plain = ""  # text waiting to be quoted into it

    def quote() -> None:
        nonlocal pattern, plain
        if plain:
            pattern += "'" + plain.replace("'", "''") + "'" if plain != "'" else "''"
            plain = ""

    def flush() -> None:
        nonlocal pattern
        quote()
        if pattern:
            pieces.append(_call("DATE_FORMAT", moment.copy(), _string(pattern)))
            pattern = ""

    i = 0
    while i < len(text):
        if text[i] != "%":
            plain += text[i]
            i += 1
            continue
        directive = text[i + 1 : i + 3] if text[i + 1 : i + 2] == "-" else text[i + 1 : i + 2]
        if directive == "%":
            plain += "%"
        elif directive in _STRFTIME:
            spark = _STRFTIME[directive]
            if spark is None:
                flush()
                pieces.append(_strftime_piece(moment, directive))
            else:
                quote()
                pattern += spark
        else:
            raise NotPortable(
                f"{where}: not portable to Spark: strftime's %{directive} (known: "
                f"{' '.join('%' + d for d in _STRFTIME)})"
            )
        i += 1 + len(directive)
    flush()
    if not pieces:
        return exp.If(
            this=exp.Is(this=moment.copy(), expression=exp.Null()),
            true=exp.Null(),
            false=_string(text.replace("%%", "%")),
        )
    return pieces[0] if len(pieces) == 1 else _call("CONCAT", *pieces)


def _regex_flags(node: exp.Expression, arg: str, where: str, allowed: str) -> set[str]:
    flags = node.args.get(arg)
    if flags is None:
        return set()
    if not (isinstance(flags, exp.Literal) and flags.is_string):
        raise NotPortable(f"{where}: not portable to Spark: regular expression options computed")
    unknown = set(flags.name) - set(allowed)
    if unknown:
        raise NotPortable(
            f"{where}: not portable to Spark: regular expression option(s) "
            f"{''.join(sorted(unknown))!r} (Spark takes {allowed!r} here)"
        )
    return set(flags.name) - {"c"}


def _with_flags(pattern: exp.Expression, prefix: str, suffix: str = "") -> exp.Expression:
    """`prefix || pattern || suffix`, folded when the pattern is a literal."""
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        return _string(prefix + pattern.name + suffix)
    if not prefix and not suffix:
        return pattern
    parts = [
        *([_string(prefix)] if prefix else []),
        pattern,
        *([_string(suffix)] if suffix else []),
    ]
    return _call("CONCAT", *parts)


def _java_replacement(text: str, shift: int, where: str) -> str:
    """RE2's replacement (\\1 a group, \\\\ a backslash) as Java's ($1, \\\\, \\$)."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append(f"${int(text[i + 1]) + shift}")
            i += 2
        elif char == "\\" and i + 1 < len(text) and text[i + 1] == "\\":
            out.append("\\\\")
            i += 2
        elif char == "\\":
            raise NotPortable(f"{where}: not portable to Spark: {text!r} (a lone backslash)")
        else:
            out.append("\\$" if char == "$" else char)
            i += 1
    return "".join(out)


def _regexp(node: exp.Expression, where: str) -> exp.Expression | None:
    """regexp_replace replaces only the first match in DuckDB unless given 'g', every match in
    Spark; sqlglot drops the options ('i' too) and leaves RE2's \\1 in the replacement, which
    Java reads as a plain 1. regexp_matches(s, p, 'i') loses its 'i' the same way."""
    if isinstance(node, exp.RegexpLike) and node.args.get("flag") is not None:
        flags = _regex_flags(node, "flag", where, "ci")
        pattern = _with_flags(node.expression, "(?i)" if "i" in flags else "")
        return exp.RegexpLike(this=node.this, expression=pattern)
    if not isinstance(node, exp.RegexpReplace):
        return None
    flags = _regex_flags(node, "modifiers", where, "cgi")
    if "g" not in flags and not node.args.get("single_replace"):
        return None  # not DuckDB's
    replacement = node.args.get("replacement")
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        raise NotPortable(
            f"{where}: not portable to Spark: regexp_replace with a computed replacement (RE2's "
            "\\1 and Java's $1 differ; write it as a literal)"
        )
    case = "(?i)" if "i" in flags else ""
    if "g" in flags:
        pattern = _with_flags(node.expression, case)
        java = _java_replacement(replacement.name, 0, where)
    else:  # the first match only: whatever comes before it, then the match, replaced
        pattern = _with_flags(node.expression, f"^((?s:.*?))(?:{case}", ")")
        java = "$1" + _java_replacement(replacement.name, 1, where)
    return _call("REGEXP_REPLACE", node.this, pattern, _string(java))


_INTEGER_TYPES = (
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
)


def _cast_to_integer(node: exp.Expression, where: str) -> exp.Expression | None:
    """A double or decimal cast to an integer rounds in DuckDB (a double to the nearest even
    on a tie, 2.5 to 2; a decimal half away from zero, 2.5 to 3); Spark truncates (2.7 to 2).
    Only where the value is plainly a double (a `/`, epoch(), a cast to double) or a decimal
    literal; a double column needs `round(col)` written out (docs/spark.md)."""
    if not isinstance(node, exp.Cast) or not node.to.is_type(*_INTEGER_TYPES):
        return None
    value = inner = node.this
    while isinstance(inner, exp.Neg | exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Literal) and not inner.is_string and "." in inner.name:
        rounded = _call("ROUND", value)
    elif _is_double(value):
        rounded = _call("RINT", value)
    else:
        return None
    node.set("this", rounded)
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
    Rule(
        "list_index",
        "DuckDB's l[i] is 1-based and NULL out of range; sqlglot misses a column index by one",
        _list_index,
    ),
    Rule(
        "substring_bounds",
        "DuckDB's substr reads start 0 and a negative length its own way; Spark as 1 and empty",
        _substring,
    ),
    Rule("weekday", "Spark numbers weekdays from Sunday 1 and abbreviates day names", _weekday),
    Rule("strftime", "text in a Spark date pattern is pattern letters; %u %w %j differ", _strftime),
    Rule(
        "regexp_options",
        "DuckDB's regexp_replace replaces the first match unless 'g'; Spark every one",
        _regexp,
    ),
    Rule(
        "cast_rounds",
        "DuckDB rounds a double or decimal cast to an integer; Spark truncates",
        _cast_to_integer,
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
