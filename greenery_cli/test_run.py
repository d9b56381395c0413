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
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse

if TYPE_CHECKING:
    import polars as pl

EXAMPLES = 3
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


@dataclass
class TestReport:
    __test__ = False

    run_id: int
    results: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.counts.get("fail") or self.counts.get("error"))


def _missing(wh: Warehouse, test: DataTest) -> tuple[str, str] | None:
    """(status, message) when a relation the test reads does not exist."""
    for relation in test.relations:
        schema, table = relation.split(".")
        if not wh.table_exists(schema, table):
            if schema == "snapshots":
                return "skip", f"no snapshot yet: {relation} does not exist"
            return "error", f"{relation} does not exist (run `greenery load`)"
    if test.target and test.column and test.target in test.relations:  # not an ephemeral's
        schema, table = test.target.split(".")
        known = {
            r[0]
            for r in wh.rows(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            )
        }
        if test.column not in known:
            return "error", f"{test.declared_in}: {test.target} has no column {test.column}"
    return None


def run_one(wh: Warehouse, test: DataTest) -> dict[str, Any]:
    """One test's result row: status, failing-row count and a few example rows."""
    import duckdb

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
    missing = _missing(wh, test)
    if missing:
        result["status"], result["message"] = missing
    else:
        params = test.params or None
        try:
            failures = int(wh.scalar(f"select count(*) from ({test.sql}\n) as failures", params))
            cursor = wh.con.execute(
                f"select * from ({test.sql}\n) as failures limit {EXAMPLES}", params
            )
            names = [d[0] for d in cursor.description or ()]
            examples = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
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


def run_tests(settings: TestSettings) -> TestReport:
    """Run the selected tests, append their results to meta.test_results, record the run."""
    import polars as pl

    from greenery_cli.runlog import recorded_run
    from greenery_cli.runs import ensure_trust_tables, require_warehouse
    from greenery_cli.warehouse import open_warehouse

    require_warehouse(settings.db)
    declared_tests()  # a malformed project is refused before any write
    with open_warehouse(settings.db, write=True, wait=settings.wait) as wh:
        with recorded_run(wh, "test", {"select": list(settings.select)}) as run:
            tests = declared_tests(settings.select)  # inside: a bad --select is logged
            ensure_trust_tables(wh)
            results = [run_one(wh, test) for test in tests]
            with wh.transaction():
                for r in results:
                    wh.execute(
                        "insert into meta.test_results values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            run.run_id,
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
                        ],
                    )
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
