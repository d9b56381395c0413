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
    result = transpile(case.sql)
    if case.rule is not None:
        assert case.rule in result.rules, result.sql
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


# constructs refused, each with what to write instead
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
