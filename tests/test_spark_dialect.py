"""The DuckDB-to-Spark rewrite rules: each on a tiny hand-made case whose answer is known.

Always (no JVM): the rule fires, and DuckDB in-process gives the known answer. Slow (the test
run's Spark Connect server): Spark gives the same answer from the rewritten SQL, and for the
silent traps, sqlglot's plain transpile runs on Spark and gives a different one, which is why
the rule exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("sqlglot", reason="the spark extra is not installed: pip install -e '.[spark]'")

from greenery_cli.engines.spark.dialect import RULES, NotPortable, transpile  # noqa: E402


@dataclass(frozen=True)
class Case:
    rule: str | None  # None: sqlglot alone gets it right; kept as a guard against regressions
    sql: str  # DuckDB SQL over inline VALUES
    expected: list[tuple[Any, ...]]  # worked out by hand
    params: dict[str, Any] = field(default_factory=dict)
    silent: bool = False  # plain sqlglot output runs on Spark and answers differently
    unordered: bool = False  # compare as sorted rows

    @property
    def id(self) -> str:
        return f"{self.rule or 'sqlglot'}:{self.sql[:40]}"


CASES = [
    # 0.9 s -> 1.1 s crosses one second boundary; 00:59 -> 01:01 one hour; Jan 31 -> Feb 1
    # one month; 23:00 -> 01:00 next day one day; backwards counts negative; whole units agree
    Case(
        "date_diff_boundaries",
        "select date_diff('second', a, b), date_diff('hour', c, d), date_diff('month', e, f), "
        "date_diff('day', c, g), date_diff('second', b, a), date_diff('minute', c, d) "
        "from (values ("
        "'2024-01-01 00:00:00.9'::timestamptz, '2024-01-01 00:00:01.1'::timestamptz, "
        "'2024-01-01 00:59:00'::timestamptz, '2024-01-01 01:01:00'::timestamptz, "
        "'2024-01-31 12:00:00'::timestamptz, '2024-02-01 00:00:00'::timestamptz, "
        "'2024-01-02 00:30:00'::timestamptz)) as t(a, b, c, d, e, f, g)",
        [(1, 1, 1, 1, -1, 2)],
        silent=True,
    ),
    # NULL values stay, in key order; NULL keys sort last (DuckDB's default), also descending
    Case(
        "ordered_list",
        "select k, list(v order by t) as up, list(v order by t desc) as down from (values "
        "(1, 10, 3), (1, null, 1), (1, 30, 2), (1, 7, null), (2, 5, 1)) as x(k, v, t) "
        "group by k order by k",
        [(1, [None, 30, 10, 7], [10, 30, None, 7]), (2, [5], [5])],
        silent=True,
    ),
    Case(
        "ordered_list",
        "select list(v order by t nulls first) from (values (1, 2), (2, null), (3, 1)) as x(v, t)",
        [([2, 3, 1],)],
    ),
    Case(
        "ordered_list",
        "select list(v) from (values (1), (2)) as x(v) where v > 5",
        [(None,)],
    ),
    Case(
        "epoch_fractions",
        "select epoch(ts), epoch(ts2) - epoch(ts) from (values ("
        "'2024-01-01 00:00:00.5'::timestamptz, '2024-01-01 00:00:02.25'::timestamptz)) "
        "as t(ts, ts2)",
        [(1704067200.5, 1.75)],
        silent=True,
    ),
    Case(
        "arg_max_nulls",
        "select arg_max(n, v), arg_min(n, v) from (values "
        "(null, 3), ('a', 2), ('b', 1), (null, 0)) as t(n, v)",
        [("a", "b")],
        silent=True,
    ),
    Case(
        "zip_unnests",
        "select unnest([1, 2, 3]) as step, unnest(['a', 'b', 'c']) as letter",
        [(1, "a"), (2, "b"), (3, "c")],
        silent=True,
        unordered=True,
    ),
    # greenery's funnel by-step shape: lists built from aggregates (Spark refuses two of them)
    Case(
        "zip_unnests",
        "select unnest(range(1, 3)) as step, unnest([count(a), count(b)]) as n "
        "from (values (1, null), (2, 3)) as t(a, b)",
        [(1, 2), (2, 1)],
        unordered=True,
    ),
    Case(
        "materialized_cte",
        "with c as not materialized (select 1 as x), d as materialized (select 2 as y) "
        "select x, y from c, d",
        [(1, 2)],
    ),
    Case(
        "to_interval",
        "select epoch(ts + to_seconds($window)) - epoch(ts), epoch(ts + to_minutes(2)) - epoch(ts) "
        "from (values ('2024-01-01 00:00:00'::timestamptz)) as t(ts)",
        [(90.0, 120.0)],
        params={"window": 90},
    ),
    # 1.5 s after the epoch is 1,500,000 us; a bucket of 1 s (funnel_attempts_buckets.sql)
    Case(
        "epoch_micros",
        "select epoch_us(ts), floor(epoch_us(ts) / ($w::bigint * 1000000))::bigint "
        "from (values ('1970-01-01 00:00:01.5'::timestamptz)) as t(ts)",
        [(1_500_000, 1)],
        params={"w": 1},
    ),
    # linear interpolation: p50 of 1,2,4,10 is 3; p90 sits 0.7 of the way from 4 to 10
    Case(
        "quantile_two_args",
        "select quantile_cont(x, 0.5), round(quantile_cont(x, 0.9), 9) "
        "from (values (1), (2), (4), (10)) as t(x)",
        [(3.0, 8.2)],
    ),
    # sqlglot passes a column end as slice()'s LENGTH: [20, 30, 40] for the first row
    Case(
        "array_slice_bounds",
        "select array_slice(x, a, b) from (values ([10, 20, 30, 40], 2, 3), "
        "([10, 20, 30, 40], 1, 2), ([10, 20, 30, 40], null, 2), ([10, 20, 30, 40], 3, 9)) "
        "as t(x, a, b)",
        [([20, 30],), ([10, 20],), (None,), ([30, 40],)],
        silent=True,
        unordered=True,
    ),
    # negative bounds count from the end, an inclusive end, 0 as 1, clamped past either end
    Case(
        "array_slice_bounds",
        "select x[-2:], x[:-2], x[2:-1], x[-5:1], x[0:2], x[3:10], list_slice(x, -1, -1), "
        "x[4:2], x[-9:-6] from (values ([10, 20, 30, 40])) as t(x)",
        [([30, 40], [10, 20, 30], [20, 30, 40], [10], [10, 20], [30, 40], [40], [], [])],
    ),
    Case(
        "array_slice_bounds",
        "select x[$a : $b], array_slice(x, $c, $d), x[$e:] "
        "from (values ([10, 20, 30, 40])) as t(x)",
        [([20, 30], None, [40])],
        params={"a": -3, "b": -2, "c": 0, "d": None, "e": -1},
    ),
    Case(
        "array_slice_bounds",
        "select x[2:3], x[-1:], array_slice(x, 1, 1) "
        "from (values ([]::int[]), (null::int[])) as t(x)",
        [([], [], []), (None, None, None)],
        unordered=True,
    ),
    # rewind_match.sql's shape: a slice of an ordered list(), and a slice of a slice
    Case(
        "array_slice_bounds",
        "select list(v order by v desc)[2:3][2:2], list(v order by v)[-2:] "
        "from (values (3), (1), (2), (5)) as t(v)",
        [([2], [3, 5])],
    ),
    # 00:07:12 is 1.005 days, a double just below 1.005: DuckDB rounds that exact value (1.0),
    # Spark the printed "1.005" half up (1.01); stockouts.sql's days_out. 0.125 is exact: up
    Case(
        "round_double",
        "select round((epoch(b) - epoch(a)) / 86400, 2), round(2.675::double, 2), "
        "round(-1.005::double, 2), round(7 / 2), round(0.125::double, 2) "
        "from (values ('2024-01-01 00:00:00'::timestamptz, '2024-01-02 00:07:12'::timestamptz)) "
        "as t(a, b)",
        [(1.0, 2.67, -1.0, 4.0, 0.13)],
        silent=True,
    ),
    # l[i] with a column index: DuckDB counts from 1, sqlglot leaves the index as it is
    # (Spark's l[i] counts from 0)
    Case(
        "list_index",
        "select l[i], l[i + 1] from (values ([10, 20, 30], 1)) as t(l, i)",
        [(10, 20)],
        silent=True,
    ),
    # literal indexes: negative from the end; 0 and out of range are NULL (Spark's l[n] is an
    # error there); list_extract/array_extract the same
    Case(
        "list_index",
        "select l[1], l[3], l[-1], l[-3], l[0], l[4], l[-4], l[i], l[-i], l[j], "
        "list_extract(l, 2), array_extract(l, -2) "
        "from (values ([10, 20, 30], 2, 0)) as t(l, i, j)",
        [(10, 30, 30, 10, None, None, None, 20, 20, None, 20, 20)],
    ),
    # position 0 is just before the first character, and a negative length counts back
    Case(
        "substring_bounds",
        "select substr(s, 0, 2), substr(s, 3, -2), substring(s, 0, 1) "
        "from (values ('hello')) as t(s)",
        [("h", "he", "")],
        silent=True,
    ),
    Case(
        "substring_bounds",
        "select a, b, substr('hello', a, b) from (values (0, 3), (4, -2), (-2, -1), (-9, 6), "
        "(2, 2), (null, 1)) as t(a, b)",
        [(0, 3, "he"), (4, -2, "el"), (-2, -1, "l"), (-9, 6, "he"), (2, 2, "el"), (None, 1, None)],
        unordered=True,
    ),
    # 2021-01-03 is a Sunday: DuckDB's dayofweek/weekday/dow 0, isodow 7; Monday is 1 in all
    Case(
        "weekday",
        "select dayofweek(d), isodow(d), weekday(d), extract(dow from d), dayname(d), "
        "monthname(d) from (values (date '2021-01-03'), (date '2021-01-04')) as t(d)",
        [(0, 7, 0, 0, "Sunday", "January"), (1, 1, 1, 1, "Monday", "January")],
        silent=True,
        unordered=True,
    ),
    Case(
        "weekday",
        "select date_part('isodow', d), date_part('dow', d), extract(isodow from d) "
        "from (values (date '2021-01-03')) as t(d)",
        [(7, 0, 7)],
    ),
    # the text around the directives is text, not Spark pattern letters; %j pads to three
    Case(
        "strftime",
        "select strftime(t, 'day %d'), strftime(t, '%j') "
        "from (values (timestamp '2024-03-05 04:07:09.123456')) as t(t)",
        [("day 05", "065")],
        silent=True,
    ),
    # directives Spark's patterns cannot write: ISO weekday, weekday from Sunday 0, ISO week
    # and its year (2021-01-03 is in week 53 of 2020), a quote, %%, and a NULL moment
    Case(
        "strftime",
        "select strftime(t, '%j|%-j|%u|%w|%G|%%|it''s %-d/%-m %I%p %f'), strftime(t, '%d of %B'), "
        "strftime(date '2021-01-03', '%V %G %u %w'), strftime(null::timestamp, 'x') "
        "from (values (timestamp '2024-03-05 04:07:09.123456')) as t(t)",
        [("065|65|2|2|2024|%|it's 5/3 04AM 123456", "05 of March", "53 2020 7 0", None)],
    ),
    # without 'g' only the first match is replaced; \1 is a group; 'i' ignores case
    Case(
        "regexp_options",
        "select regexp_replace(s, 'a', 'o'), regexp_replace(s, '(an)', '<\\1>', 'g'), "
        "regexp_replace(upper(s), 'a', 'o', 'gi'), regexp_matches(upper(s), 'n', 'i') "
        "from (values ('banana')) as t(s)",
        [("bonana", "b<an><an>a", "BoNoNo", True)],
        silent=True,
    ),
    # the first match may be empty; a group in a first-only replacement; $ is plain text
    Case(
        "regexp_options",
        "select regexp_replace('abc', 'x*', '-'), regexp_replace('banana', '(an)', '[\\1]'), "
        "regexp_replace('a', 'a', '$1'), regexp_replace('a' || chr(10) || 'b', 'b', 'c'), "
        "regexp_matches('ABC', 'b', 'c')",
        [("-abc", "b[an]ana", "$1", "a\nc", False)],
    ),
    # a double cast to an integer rounds to the nearest, a tie to even (3.5 to 4, 2.5 to 2); a
    # decimal half away from zero (2.5 to 3); Spark truncates both
    Case(
        "cast_rounds",
        "select (7 / 2)::int, (5 / 2)::int, (-7 / 2)::int, 2.5::int, (-2.5)::int, 2.7::int, "
        "(8 / 3)::bigint, (1 / 3)::smallint, (epoch(t) / 2)::bigint "
        "from (values (timestamp '1970-01-01 00:00:03')) as t(t)",
        [(4, 2, -4, 3, -3, 3, 3, 0, 2)],
        silent=True,
    ),
    # what sqlglot gets right by itself; a regression there would be silent too
    Case(
        None,
        "select v from (values (2), (null), (1)) as t(v) order by v",
        [(1,), (2,), (None,)],
    ),
    Case(
        None,
        "select any_value(v), count(*) filter (where v > 1), greatest(1, null, 3), 7 / 2 "
        "from (values (null), (2), (2)) as t(v)",
        [(2, 2, 3, 3.5)],
    ),
    Case(
        None,
        "select (null is distinct from 1), (null is not distinct from null), "
        "epoch(date_trunc('week', '2024-01-03 05:00:00'::timestamptz)) "
        "from (values (1)) as t(x)",
        [(True, True, 1704067200.0)],
    ),
]


@pytest.fixture(scope="module")
def duck() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def _rows(rows: list[Any], unordered: bool) -> list[tuple[Any, ...]]:
    out = [tuple(r) for r in rows]
    return sorted(out, key=repr) if unordered else out


def test_every_rule_has_a_fixture() -> None:
    rewrites = {rule.name for rule in RULES} - {"refuse_unportable"}
    assert rewrites <= {case.rule for case in CASES}
    assert REFUSED  # the refusals' cases


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_fires_and_duckdb_gives_the_known_answer(case: Case, duck: Any) -> None:
    import sqlglot

    result = transpile(case.sql)
    if case.rule is not None:
        assert case.rule in result.rules, result.sql
    assert sqlglot.parse_one(result.sql, read="spark") is not None
    assert _rows(duck.execute(case.sql, case.params or None).fetchall(), case.unordered) == (
        _rows(case.expected, case.unordered)
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_spark_gives_the_duckdb_answer(case: Case, spark: Any) -> None:
    spark_sql = transpile(case.sql).sql
    got = spark.sql(spark_sql, args=case.params or None).collect()
    assert _rows(got, case.unordered) == _rows(case.expected, case.unordered), spark_sql


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.silent], ids=lambda c: c.id)
def test_plain_transpile_is_silently_wrong_on_spark(case: Case, spark: Any) -> None:
    """The trap is real: sqlglot's own output runs without error and answers differently."""
    import sqlglot

    plain = sqlglot.transpile(case.sql, read="duckdb", write="spark")[0]
    got = spark.sql(plain, args=case.params or None).collect()
    assert _rows(got, case.unordered) != _rows(case.expected, case.unordered), plain


# every slice bound from before the first element to past the last, and NULL
SLICE_BOUNDS = [*range(-6, 7), None]
SLICE_LISTS = "([10, 20, 30, 40]), ([10]), ([]::int[]), (null::int[])"


def _sql_value(bound: int | None) -> str:
    return "null" if bound is None else str(bound)


def _slice_grid() -> str:
    """Each list sliced by each pair of bounds as columns (the translation of the bounds
    written in the SQL) and as literals (folded when translated), x[a:] and x[:b] too."""
    bounds = ", ".join(f"({_sql_value(b)})" for b in SLICE_BOUNDS)
    literal = [f"x[{_sql_value(a)}:{_sql_value(b)}]" for a in SLICE_BOUNDS for b in SLICE_BOUNDS]
    literal += [f"x[{a}:]" for a in SLICE_BOUNDS if a is not None]
    literal += [f"x[:{b}]" for b in SLICE_BOUNDS if b is not None]
    return (
        f"select x, a, b, array_slice(x, a, b), {', '.join(literal)} "
        f"from (values {SLICE_LISTS}) as l(x), (values {bounds}) as s(a), "
        f"(values {bounds}) as e(b)"
    )


def test_the_slice_grid_is_translated() -> None:
    result = transpile(_slice_grid())
    assert result.rules == ("array_slice_bounds",) and "[" not in result.sql


@pytest.mark.slow
def test_every_slice_bound_gives_duckdb_answer_on_spark(duck: Any, spark: Any) -> None:
    """DuckDB's own answer for every (list, begin, end) of the grid, against Spark's."""
    sql = _slice_grid()
    expected = _rows(duck.execute(sql).fetchall(), unordered=True)
    assert len(expected) == 4 * len(SLICE_BOUNDS) ** 2
    got = _rows(spark.sql(transpile(sql).sql).collect(), unordered=True)
    assert got == expected


# every substr start and length from before the text to past its end, and NULL
SUBSTR_BOUNDS = [*range(-7, 8), None]
SUBSTR_TEXTS = "('hello'), (''), ('héllo'), (null)"


def _substr_grid() -> str:
    """Each text cut at each (start, length) as columns (the general translation) and as
    literals (folded where they can be), and with a literal start and a column length."""
    bounds = ", ".join(f"({_sql_value(b)})" for b in SUBSTR_BOUNDS)
    literal = [
        f"substr(s, {_sql_value(a)}, {_sql_value(b)})" for a in SUBSTR_BOUNDS for b in SUBSTR_BOUNDS
    ]
    mixed = [f"substr(s, {_sql_value(a)}, b)" for a in SUBSTR_BOUNDS]
    return (
        f"select s, a, b, substr(s, a, b), substr(s, a), {', '.join(literal + mixed)} "
        f"from (values {SUBSTR_TEXTS}) as x(s), (values {bounds}) as p(a), "
        f"(values {bounds}) as l(b)"
    )


def test_the_substr_grid_is_translated() -> None:
    assert transpile(_substr_grid()).rules == ("substring_bounds",)


@pytest.mark.slow
def test_every_substr_bound_gives_duckdb_answer_on_spark(duck: Any, spark: Any) -> None:
    """DuckDB's own answer for every (text, start, length) of the grid, against Spark's."""
    sql = _substr_grid()
    expected = _rows(duck.execute(sql).fetchall(), unordered=True)
    assert len(expected) == 4 * len(SUBSTR_BOUNDS) ** 2
    got = _rows(spark.sql(transpile(sql).sql).collect(), unordered=True)
    assert got == expected


# doubles printed as a tie at 1-4 places (most lie just below or above it) and some that are not
ROUNDED = [f"{k}5e-{d}" for k in range(-300, 300, 7) for d in (2, 3, 4, 5)]
ROUNDED += ["0.125", "-0.125", "0", "null", "123456.785", "1.005", "-2.675", "86832 / 86400"]


def _round_grid() -> str:
    values = ", ".join(f"(({v})::double)" for v in ROUNDED)
    # Spark divides decimals into a decimal, DuckDB into a double (by 4: the same double)
    places = ", ".join(
        f"round(x::double, {d}), round(-x / 7, {d}), round(x::decimal(18, 6) / 4, {d})"
        for d in range(1, 8)
    )
    return f"select x, {places} from (values {values}) as t(x)"


def test_the_round_grid_is_translated() -> None:
    assert transpile(_round_grid()).rules == ("round_double",)


@pytest.mark.slow
def test_every_rounding_gives_duckdb_answer_on_spark(duck: Any, spark: Any) -> None:
    """DuckDB's own round(x, 1..7) of each double of the grid, against Spark's."""
    sql = _round_grid()
    expected = _rows(duck.execute(sql).fetchall(), unordered=True)
    got = _rows(spark.sql(transpile(sql).sql).collect(), unordered=True)
    assert got == expected


REFUSED = {
    "rowid": "select s.rowid from (values (1)) as s(x)",
    "UNION BY NAME": "select 1 as a union all by name select 2 as a",
    "UPDATE": "update t set a = 1 where b = 2",
    "DELETE": "delete from t where b = 2",
    "a temp table": "create or replace temp table x as select 1 as a",
    "'infinity'": "select coalesce(null, 'infinity'::timestamptz)",
    "USING join": "select * from (values (1, 'a')) as a(k, x) join (values (1, 'b')) as b(k, y) "
    "using (k)",
    "read_csv()": "select * from read_csv('x.csv')",
    "information_schema": "select column_name from information_schema.columns",
    "type": "select cast(1 as hugeint)",
    "epoch() of an interval": "select epoch(b - a) from t",
    "greatest() of one value": "select greatest(a) from t",
    "ASOF join": "select e.k, s.t from e asof left join s on s.k = e.k and s.t >= e.t",
    "slice with a step": "select x[1:3:2] from t",
    "slicing a string": "select 'greenery'[2:4]",
}


@pytest.mark.parametrize("construct", REFUSED)
def test_unportable_constructs_are_refused_naming_the_fix(construct: str) -> None:
    with pytest.raises(NotPortable, match="not portable to Spark") as caught:
        transpile(REFUSED[construct], where="queries/x.sql")
    message = str(caught.value)
    assert message.startswith("queries/x.sql: ") and construct.split()[0].strip("'") in message
    assert ";" in message or "(" in message  # says what to write instead


@pytest.mark.slow
@pytest.mark.parametrize("star", ["*", "a.*, b.y"])
def test_using_star_really_differs_between_the_engines(star: str, duck: Any, spark: Any) -> None:
    """Why a star over USING is refused: the engines order its columns differently."""
    import sqlglot

    sql = (
        f"select {star} from (values ('a', 1)) as a(x, k) join (values (1, 'b')) as b(k, y) "
        "using (k)"
    )
    duck_columns = [d[0] for d in duck.execute(sql).description]
    spark_columns = spark.sql(sqlglot.transpile(sql, read="duckdb", write="spark")[0]).columns
    assert duck_columns == ["x", "k", "y"] and spark_columns == ["k", "x", "y"]


def test_a_qualified_star_over_using_is_refused_too() -> None:
    with pytest.raises(NotPortable, match="USING join"):
        transpile("select a.*, b.y from a join b using (k)")
    assert transpile("select a.*, b.y from a join b on a.k = b.k").rules == ()


def test_one_statement_at_a_time() -> None:
    from greenery_cli.errors import ModelError

    with pytest.raises(ModelError, match="expected one SQL statement, found 2"):
        transpile("select 1; select 2")


def test_unreadable_duckdb_sql_names_where() -> None:
    with pytest.raises(NotPortable, match="^queries/bad.sql: cannot read the DuckDB SQL"):
        transpile("select from where (", where="queries/bad.sql")
