"""Every SQL statement greenery renders transpiles to Spark SQL that parses (always, no JVM).

Models and data tests come from their discoverers; the questions' SQL is captured from the
real question functions over every declared setting (tests/spark_capture.py). The snapshot's
DuckDB engine statements that cannot be portable are pinned in SNAPSHOT_NOT_PORTABLE, each
with the construct that blocks it: phase 2 replaces them with one portable SELECT per run, and
this list must then shrink (a statement that becomes portable, or a new one that is not,
fails the test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlglot", reason="the spark extra is not installed: pip install -e '.[spark]'")

import sqlglot  # noqa: E402
from spark_capture import Captured, question_sql, replayed_warehouse, snapshot_statements  # noqa: E402

from greenery_cli.engines.spark.dialect import NotPortable, transpile  # noqa: E402


def _spark_parses(label: str, sql: str) -> str:
    spark_sql = transpile(sql, where=label).sql
    parsed = sqlglot.parse(spark_sql, read="spark")
    assert len(parsed) == 1 and parsed[0] is not None, spark_sql
    return spark_sql


def _models() -> list[Any]:
    from greenery_cli.models import build_order, discover

    return build_order(discover())


def _data_tests() -> list[Any]:
    from greenery_cli.data_tests import declared_tests

    return declared_tests()


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.name)
def test_every_model_transpiles(model: Any) -> None:
    _spark_parses(f"queries/{model.layer}/{model.path.name}", model.sql)


@pytest.mark.parametrize("test", _data_tests(), ids=lambda t: t.name)
def test_every_data_test_transpiles(test: Any) -> None:
    _spark_parses(test.declared_in, test.sql)


# an example value per argument name of the predefined tests (a new argument needs one here)
GENERIC_ARGUMENTS: dict[str, Any] = {
    "column": "created_at_utc",
    "values": ["shipped", "delivered"],
    "to": "stg_users",
    "field": "user_id",
    "expression": "order_total_usd >= order_cost_usd",
    "min_value": 0,
    "max_value": 1000,
    "inclusive": False,
    "columns": ["order_id", "user_id"],
    "within": "7d",
    "to_where": "user_id is not null",
}


def _generic_kinds() -> list[tuple[str, dict[str, Any]]]:
    from greenery_cli.data_tests import KINDS

    specs = []
    for kind, arguments in KINDS.items():
        specs.append((f"{kind}-required", {a: GENERIC_ARGUMENTS[a] for a in arguments.required}))
        every = (*arguments.required, *arguments.optional)
        specs.append((f"{kind}-all", {a: GENERIC_ARGUMENTS[a] for a in every}))
    return specs


@pytest.mark.parametrize(("label", "arguments"), _generic_kinds(), ids=lambda v: str(v))
def test_every_generic_test_kind_transpiles(label: str, arguments: dict[str, Any]) -> None:
    """Each predefined test kind, declared or not, with its required and then all arguments."""
    from greenery_cli.data_tests import _generic
    from greenery_cli.errors import UsageError
    from greenery_cli.models import discover

    models = discover()
    kind = label.rsplit("-", 1)[0]
    for where in (None, "order_id is not null"):
        spec = {"test": kind, **arguments, **({"where": where} if where else {})}
        try:
            test = _generic(spec, models["stg_orders"], models, f"generic {label}")
        except UsageError:
            assert label.endswith("-required")  # a kind needing an optional one (accepted_range)
            return
        _spark_parses(f"tests/generic/{kind}.sql ({label})", test.sql)


@pytest.fixture(scope="module")
def replayed(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replayed_warehouse(real_data, tmp_path_factory.mktemp("portability"))


@pytest.fixture(scope="module")
def questions(replayed: Path) -> list[Captured]:
    return question_sql(replayed)


def test_every_question_variant_transpiles(questions: list[Captured]) -> None:
    distinct = {c.sql: c for c in questions}
    labels = {" ".join(c.label.split()[:2]) for c in questions}
    # every funnel question and every inventory question sent SQL
    assert {"funnel summary", "funnel by-step", "funnel by-product", "funnel trend"} <= labels
    assert len(distinct) > 50
    failures = []
    for sql, captured in distinct.items():
        try:
            _spark_parses(captured.label, sql)
        except NotPortable as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


# snapshot statements with no Spark form, and the construct refused first in each
SNAPSHOT_NOT_PORTABLE = {
    "snapshot/opened.sql#1": "a temp table",
    "snapshot/revert_plan.sql#1": "a temp table",
    "snapshot/touched.sql#1": "a temp table",
    "snapshot/close.sql#1": "UPDATE",
    "snapshot/revert_apply.sql#1": "DELETE",
    "snapshot/revert_apply.sql#2": "UPDATE",
    "snapshot/revert_apply.sql#3": "DELETE",
}


def test_every_snapshot_statement_transpiles_or_is_known_not_portable() -> None:
    refused: dict[str, str] = {}
    statements = snapshot_statements()
    assert {c.label.split()[0] for c in statements} >= set(SNAPSHOT_NOT_PORTABLE)
    for captured in statements:
        key = captured.label.split()[0]
        try:
            _spark_parses(captured.label, captured.sql)
        except NotPortable as exc:
            construct = SNAPSHOT_NOT_PORTABLE.get(key)
            assert construct and construct in str(exc), str(exc)
            refused[key] = construct
    assert refused == SNAPSHOT_NOT_PORTABLE
