"""`greenery test`: run the declared data tests, show failures, record every result.

A test passes with no rows; with rows it is `fail` (severity error) or `warn`. A test that
cannot run is `error`; a test of a snapshot that does not exist yet is `skip`. The run fails
(exit 1) on any fail or error, as `dbt test` does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.data_tests import DataTest, declared_tests
from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.runlog import Run

EXAMPLES = 3
# tests a Spark engine runs at once: each is a round trip of planning and running (a second or
# so); four at a time took a test run of the real data from 68 s to 26 s on a local server
SPARK_TESTS_AT_ONCE = 4
RESULT_COLUMNS = {
    "test": "String",
    "kind": "String",
    "target": "String",
    "column": "String",
    "severity": "String",
    "status": "String",
    "failures": "Int64",
    "examples": "String",  # JSON: up to EXAMPLES failing rows
    "reason": "String",
    "message": "String",
    "duration_s": "Float64",
}


@dataclass(frozen=True)
class TestSettings:
    __test__ = False  # not a pytest class

    db: str | Path | None
    select: tuple[str, ...] = ()
    wait: float = DEFAULT_WAIT_SECONDS
    engine: EngineSpec = DUCKDB  # a Spark Connect engine runs the tests and logs on its own tables


@dataclass
class TestReport:
    __test__ = False

    run_id: int
    results: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.counts.get("fail") or self.counts.get("error"))


@dataclass
class _Catalogue:
    """The engine's relations, read once per run, and the columns of those a test names."""

    engine: Any  # a Warehouse or a SparkEngine: relations() and column_names()
    relations: dict[str, str] = field(default_factory=dict)
    columns: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.relations = self.engine.relations()

    def has(self, relation: str) -> bool:
        return relation in self.relations

    def columns_of(self, relation: str) -> set[str]:
        if relation not in self.columns:
            schema, table = relation.split(".")
            self.columns[relation] = set(self.engine.column_names(schema, table))
        return self.columns[relation]


def _missing(catalogue: _Catalogue, test: DataTest) -> tuple[str, str] | None:
    """(status, message) when a relation the test reads does not exist."""
    for relation in test.relations:
        if not catalogue.has(relation):
            if relation.startswith("snapshots."):
                return "skip", f"no snapshot yet: {relation} does not exist"
            return "error", f"{relation} does not exist (run `greenery load`)"
    if test.target and test.column and test.target in test.relations:  # not an ephemeral's
        if test.column not in catalogue.columns_of(test.target):
            return "error", f"{test.declared_in}: {test.target} has no column {test.column}"
    return None


def run_one(engine: Any, test: DataTest, catalogue: _Catalogue) -> dict[str, Any]:
    """One test's result row: status, failing-row count and a few example rows, on either
    engine (a Warehouse or a SparkEngine: the test's SQL is DuckDB's, the engine translates)."""
    from greenery_cli.output import plain

    result: dict[str, Any] = {
        "test": test.name,
        "kind": test.kind,
        "target": test.target,
        "column": test.column,
        "severity": test.severity,
        "reason": test.reason,
        "started_at": datetime.now(UTC),
    }
    clock = time.perf_counter()
    missing = _missing(catalogue, test)
    if missing:
        result["status"], result["message"] = missing
    else:
        params = test.params or None
        try:
            counted = f"select count(*) from ({test.sql}\n) as failures"
            failures = int(engine.scalar(counted, params))
            examples: list[dict[str, Any]] = []
            if failures:  # a passing test has none to show: no second query
                examples = engine.fetch(
                    f"select * from ({test.sql}\n) as failures limit {EXAMPLES}", params
                ).to_dicts()
        except _query_errors(engine) as exc:
            result["status"] = "error"
            result["message"] = f"{test.declared_in}: {str(exc).splitlines()[0]}"
        else:
            result["failures"] = failures
            result["examples"] = json.dumps(plain(examples)) if examples else None
            if failures == 0:
                result["status"] = "pass"
            else:
                result["status"] = "fail" if test.severity == "error" else "warn"
                result["message"] = f"{failures:,} failing row(s)"
    result["duration_s"] = time.perf_counter() - clock
    return result


def _query_errors(engine: Any) -> tuple[type[BaseException], ...]:
    """What a test's query failing raises: DuckDB's errors, or the Spark engine's one-line
    ones, SQL the dialect refuses included (a server gone away is not a test's failure: it
    stops the run)."""
    if isinstance(engine, Warehouse):
        import duckdb

        return (duckdb.Error,)
    from greenery_cli.errors import DataError, ModelError, WarehouseError

    return (WarehouseError, DataError, ModelError)


def _result_row(run_id: int, r: dict[str, Any]) -> list[Any]:
    """A result as meta.test_results' row, in the table's column order."""
    return [
        run_id,
        r["test"],
        r["kind"],
        r["target"],
        r["column"],
        r["severity"],
        r["status"],
        r.get("failures"),
        r.get("examples"),
        r["reason"],
        r.get("message"),
        r["started_at"],
        r["duration_s"],
    ]


def run_tests(settings: TestSettings) -> TestReport:
    """Run the selected tests, append their results to meta.test_results, record the run."""
    from greenery_cli.runlog import recorded_run
    from greenery_cli.runs import ensure_trust_tables, require_warehouse
    from greenery_cli.warehouse import open_warehouse

    declared_tests()  # a malformed project is refused before any write
    if settings.engine.is_spark:
        return _run_on_spark(settings)
    require_warehouse(settings.db)
    with open_warehouse(settings.db, write=True, wait=settings.wait) as wh:
        with recorded_run(wh, "test", {"select": list(settings.select)}) as run:
            tests = declared_tests(settings.select)  # inside: a bad --select is logged
            ensure_trust_tables(wh)
            catalogue = _Catalogue(wh)
            results = [run_one(wh, test, catalogue) for test in tests]
            with wh.transaction():
                for r in results:
                    wh.execute(
                        "insert into meta.test_results values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _result_row(run.run_id, r),
                    )
            report = _report(run, results)
    return report


def _run_on_spark(settings: TestSettings) -> TestReport:
    """The same tests on a Spark Connect engine, their results appended to its
    meta.test_results in one INSERT and the run to its meta.runs (engines/spark/meta.py)."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.meta import append, ensure, recorded_run
    from greenery_cli.errors import UsageError

    with connect(settings.engine) as engine:
        if not engine.table_exists("meta", "loads"):
            raise UsageError(
                f"nothing loaded on {settings.engine.shown}: run `greenery load --source DIR` first"
            )
        with recorded_run(
            engine, "test", {"select": list(settings.select)}, wait=settings.wait
        ) as (_log, run):
            tests = declared_tests(settings.select)  # inside: a bad --select is logged
            ensure(engine, ("test_results",))
            catalogue = _Catalogue(engine)
            results = _run_at_once(engine, tests, catalogue)
            append(engine, "test_results", [_result_row(run.run_id, r) for r in results])
            report = _report(run, results)
    return report


def _run_at_once(engine: Any, tests: list[DataTest], catalogue: _Catalogue) -> list[dict[str, Any]]:
    """Every test's result, in declaration order, SPARK_TESTS_AT_ONCE at a time (a test's
    duration is its own wall time). The columns tests look up are read first, in this thread."""
    from concurrent.futures import ThreadPoolExecutor

    for test in tests:
        if test.target and test.column and catalogue.has(test.target):
            catalogue.columns_of(test.target)
    pool = ThreadPoolExecutor(SPARK_TESTS_AT_ONCE, thread_name_prefix="greenery-test")
    try:
        return list(pool.map(lambda test: run_one(engine, test, catalogue), tests))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # interrupted: start no more tests


def _report(run: Run, results: list[dict[str, Any]]) -> TestReport:
    """The run's report; the run's row says how it went (fail on any fail or error)."""
    import polars as pl

    report = TestReport(
        run.run_id,
        pl.DataFrame(
            [{name: r.get(name) for name in RESULT_COLUMNS} for r in results],
            schema={name: getattr(pl, dtype) for name, dtype in RESULT_COLUMNS.items()},
        ),
    )
    for r in results:
        report.counts[r["status"]] = report.counts.get(r["status"], 0) + 1
    run.rows_affected = len(results)
    run.message = summary(report.counts)
    if report.failed:
        run.status = "fail"
    return report


def summary(counts: dict[str, int]) -> str:
    order = ("pass", "warn", "fail", "error", "skip")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) or "no tests"


def as_records(results: pl.DataFrame) -> list[dict[str, Any]]:
    """Results as JSON objects, with the example rows as objects rather than text."""
    from greenery_cli.output import records

    rows = records(results)
    for row in rows:
        row["examples"] = json.loads(row["examples"]) if row["examples"] else []
    return rows


def for_people(results: pl.DataFrame, width: int = 240) -> pl.DataFrame:
    """The table view: examples as `column=value` lines (each at most `width` characters; the
    table wraps them), the reason or message as a note."""
    import polars as pl

    def shorten(examples: str | None) -> str:
        lines = []
        for example in json.loads(examples) if examples else []:
            line = ", ".join(f"{k}={v}" for k, v in example.items())
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
        return "\n".join(lines)

    return pl.DataFrame(
        [
            {
                "test": row["test"],
                "status": row["status"],
                "failures": row["failures"],
                "examples": shorten(row["examples"]),
                "note": "; ".join(t for t in (row["message"], row["reason"]) if t),
            }
            for row in results.iter_rows(named=True)
        ],
        schema_overrides={"failures": pl.Int64},
    )
