"""`greenery freshness`: how old each raw table's load and newest record are, against thresholds.

Statuses follow dbt: pass, warn, error; exit 1 only on error. A table is stale when its age is
STRICTLY older than a threshold (an age exactly at the threshold passes). The status uses the
load age (when greenery last loaded the table) against warn_after/error_after; the newest
record's age is checked only against record_warn_after/record_error_after where a table sets
them, because an export of old data (the real dataset stops in 2021) is not a failed load.
Models and the snapshot are listed too, with their last build, so a stale model is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.engines.url import DUCKDB, EngineSpec
from greenery_cli.project.sources import Freshness as Thresholds
from greenery_cli.warehouse import DEFAULT_WAIT_SECONDS, Warehouse

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.runlog import Run

STATUS_RANK = {"pass": 0, "skip": 0, "warn": 1, "error": 2}


def parse_duration(text: str) -> float:
    """Seconds in a duration written like `12h`, `2d`, `1d12h`, `90m`, `1w` (parsing.py's)."""
    from greenery_cli.parsing import parse_duration as duration

    return duration(text).total_seconds()


def as_utc(value: datetime | None) -> datetime | None:
    """Naive times are the warehouse's, which are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def status_for(age_s: float, warn_after: str | None, error_after: str | None) -> str:
    """pass, warn or error: stale means strictly older than the threshold."""
    if error_after is not None and age_s > parse_duration(error_after):
        return "error"
    if warn_after is not None and age_s > parse_duration(warn_after):
        return "warn"
    return "pass"


def _verdict(
    age_s: float, warn_after: str | None, error_after: str | None, what: str
) -> tuple[str, str | None]:
    """A status and, when stale, a note naming the limit that was passed."""
    status = status_for(age_s, warn_after, error_after)
    limit = {"warn": warn_after, "error": error_after}.get(status)
    return status, f"{what} older than {limit}" if limit else None


def configured_thresholds() -> dict[str, Thresholds]:
    """Every raw table's thresholds, as queries/sources.toml (and greenery.toml) declare them."""
    from greenery_cli.project import current

    return {table.name: table.freshness for table in current().sources}


@dataclass(frozen=True)
class FreshnessSettings:
    db: str | Path | None
    wait: float = DEFAULT_WAIT_SECONDS
    now: datetime | None = None  # the moment ages are measured at; default: the clock (UTC)
    thresholds: dict[str, Thresholds] | None = None  # default: queries/sources.toml
    engine: EngineSpec = DUCKDB  # a Spark Connect engine measures and logs on its own tables


@dataclass
class FreshnessReport:
    run_id: int
    checked_at: datetime
    checks: pl.DataFrame  # one row per raw table, model and the snapshot
    counts: dict[str, int] = field(default_factory=dict)  # status -> rows

    @property
    def failed(self) -> bool:
        return self.counts.get("error", 0) > 0


def _source_checks(
    wh: Warehouse, now: datetime, thresholds: dict[str, Thresholds]
) -> list[dict[str, Any]]:
    from greenery_cli.project import current
    from greenery_cli.sql import render

    loads = {r[0]: r[1:] for r in wh.rows(render("freshness/latest_loads.sql"))}
    checks = []
    for table in current().sources:
        limits = thresholds.get(table.name, Thresholds())
        check: dict[str, Any] = {
            "kind": "source",
            "name": f"raw.{table.name}",
            "warn_after": limits.warn_after,
            "error_after": limits.error_after,
            "record_warn_after": limits.record_warn_after,
            "record_error_after": limits.record_error_after,
        }
        checks.append(check)
        if table.name not in loads or not wh.table_exists("raw", table.name):
            check.update(status="error", note="never loaded: run `greenery load`")
            continue
        loaded_at = as_utc(loads[table.name][1])
        assert loaded_at is not None
        check["loaded_at"] = loaded_at
        check["load_age_s"] = (now - loaded_at).total_seconds()
        verdicts = [_verdict(check["load_age_s"], limits.warn_after, limits.error_after, "load")]
        records, newest = wh.rows(
            render("freshness/newest_record.sql", table=table.name, column=table.freshness_column)
        )[0]
        newest = as_utc(newest)
        if newest is not None:
            check["newest_record_at"] = newest
            check["record_age_s"] = (now - newest).total_seconds()
        checks_records = limits.record_warn_after or limits.record_error_after
        if not table.freshness_column:
            verdicts.append(("pass", "no record time column"))
        elif records == 0:
            verdicts.append(("error" if checks_records else "pass", "empty table"))
        elif checks_records:
            record_limits = (limits.record_warn_after, limits.record_error_after)
            newest_record = f"newest {table.freshness_column}"
            verdicts.append(_verdict(check["record_age_s"], *record_limits, newest_record))
        statuses = [status for status, _ in verdicts]
        notes = [note for _, note in verdicts if note]
        check["status"] = max(statuses, key=STATUS_RANK.__getitem__)
        check["note"] = "; ".join(notes) or None
    return checks


def _build_checks(
    wh: Warehouse, now: datetime, sources: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Models (stale when the build engine would rebuild them: an input changed after their
    last build, or their SQL or config did), and the snapshot. A view or an ephemeral model
    holds no data of its own: its freshness is its inputs'."""
    from greenery_cli.engine.state import BuildState
    from greenery_cli.models import build_order, discover
    from greenery_cli.sql import render
    from greenery_cli.timewords import age_in_words

    models = discover()
    state = BuildState.read(wh)
    checks: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {c["name"]: c for c in sources or []}
    for model in build_order(models):
        check: dict[str, Any] = {"kind": "model", "name": model.relation}
        checks.append(check)
        by_name[model.name] = check
        last = state.builds.get(model.name)
        reason = state.stale_reason(models, model)
        if model.materialized in ("view", "ephemeral") and not reason:
            names = [*model.depends_on, *(f"raw.{s}" for s in model.sources)]
            inputs = [by_name[n] for n in names if n in by_name]
            stale = [i["name"] for i in inputs if i["status"] != "pass"]
            loaded = [i["loaded_at"] for i in inputs if i.get("loaded_at") is not None]
            if loaded:
                check.update(loaded_at=min(loaded))
                check["load_age_s"] = (now - check["loaded_at"]).total_seconds()
            if last is not None:
                check["duration_s"] = last.duration_s  # creating it, when its SQL last changed
            kind = "a view" if model.in_warehouse else "ephemeral"
            if stale:
                check.update(status="warn", note=f"{kind} over stale {', '.join(stale)}")
            else:
                check.update(status="pass", note=f"{kind}: as fresh as its inputs")
            continue
        if last is None:
            check.update(status="warn", note="never built")
            continue
        check.update(loaded_at=as_utc(last.finished_at), duration_s=last.duration_s)
        check["load_age_s"] = (now - check["loaded_at"]).total_seconds()
        if reason:
            check.update(status="warn", note=f"stale: {reason}")
        else:
            rows = f", {last.rows:,} rows" if last.rows is not None else ""
            check.update(status="pass", note=f"built by run {last.run_id}{rows}")
    snapshot: dict[str, Any] = {"kind": "snapshot", "name": "snapshots.products_snapshot"}
    checks.append(snapshot)
    if not wh.table_exists("snapshots", "snapshot_runs"):
        snapshot.update(status="skip", note="no snapshot yet")
        return checks
    taken_at, runs, duration_s = wh.rows(render("freshness/snapshot_runs.sql"))[0]
    if not runs:
        snapshot.update(status="warn", note="no effective snapshot run")
        return checks
    snapshot.update(loaded_at=as_utc(taken_at), duration_s=duration_s, status="pass")
    snapshot["load_age_s"] = (now - snapshot["loaded_at"]).total_seconds()
    snapshot["note"] = (
        f"{runs} run{'s' if runs != 1 else ''}, latest {age_in_words(snapshot['load_age_s'])}"
    )
    return checks


CHECK_COLUMNS = (
    "kind",
    "name",
    "loaded_at",
    "load_age_s",
    "newest_record_at",
    "record_age_s",
    "duration_s",
    "warn_after",
    "error_after",
    "record_warn_after",
    "record_error_after",
    "status",
    "note",
)


def checks_frame(checks: list[dict[str, Any]]) -> pl.DataFrame:
    """Check dicts (any subset of CHECK_COLUMNS) as the checks frame, one typed column each."""
    import polars as pl

    when = pl.Datetime("us", "UTC")
    schema = {
        name: when
        if name.endswith("_at") and "after" not in name
        else pl.Float64
        if name.endswith("_s")
        else pl.String
        for name in CHECK_COLUMNS
    }
    return pl.DataFrame([{n: c.get(n) for n in CHECK_COLUMNS} for c in checks], schema=schema)


def measure_freshness(
    wh: Warehouse, now: datetime | None = None, thresholds: dict[str, Thresholds] | None = None
) -> pl.DataFrame:
    """Every raw table, model and the snapshot, measured at `now` (default: the clock), one
    row each (CHECK_COLUMNS). Reads only: the report page calls it on a read-only warehouse."""
    now = as_utc(now) or datetime.now(UTC)
    if thresholds is None:
        thresholds = configured_thresholds()
    sources = _source_checks(wh, now, thresholds)
    return checks_frame(sources + _build_checks(wh, now, sources))


def status_counts(checks: pl.DataFrame) -> dict[str, int]:
    """status -> how many checks have it."""
    counts: dict[str, int] = {}
    for status in checks["status"]:
        counts[status] = counts.get(status, 0) + 1
    return counts


def check_freshness(settings: FreshnessSettings) -> FreshnessReport:
    """Measure every raw table, model and the snapshot, append the checks, record the run."""
    from greenery_cli.runlog import recorded_run
    from greenery_cli.runs import ensure_trust_tables, require_warehouse
    from greenery_cli.warehouse import open_warehouse

    now = as_utc(settings.now) or datetime.now(UTC)
    args = {"now": settings.now} if settings.now else {}
    if settings.engine.is_spark:
        return _check_on_spark(settings, now, args)
    require_warehouse(settings.db)
    with open_warehouse(settings.db, write=True, wait=settings.wait) as wh:
        with recorded_run(wh, "freshness", args) as run:
            ensure_trust_tables(wh)
            checks = measure_freshness(wh, now, settings.thresholds)
            with wh.transaction():
                for check in checks.iter_rows(named=True):
                    wh.execute(
                        f"insert into meta.freshness_checks (run_id, checked_at, "
                        f"{', '.join(CHECK_COLUMNS)}) values "
                        f"(?, ?, {', '.join('?' for _ in CHECK_COLUMNS)})",
                        [run.run_id, now, *(check[n] for n in CHECK_COLUMNS)],
                    )
            report = _report(run, now, checks)
    return report


def _check_on_spark(
    settings: FreshnessSettings, now: datetime, args: dict[str, Any]
) -> FreshnessReport:
    """The same checks on a Spark Connect engine, appended to its meta.freshness_checks in one
    INSERT (engines/spark/meta.py)."""
    from greenery_cli.engines.spark.engine import connect
    from greenery_cli.engines.spark.meta import append, ensure, recorded_run
    from greenery_cli.errors import UsageError

    with connect(settings.engine) as engine:
        if not engine.table_exists("meta", "loads"):
            raise UsageError(
                f"nothing loaded on {settings.engine.shown}: run `greenery load --source DIR` first"
            )
        with recorded_run(engine, "freshness", args, wait=settings.wait) as (_log, run):
            ensure(engine, ("freshness_checks",))
            # the engine answers the Warehouse calls measure_freshness makes (rows, scalar,
            # table_exists, relations), in DuckDB's dialect
            on_spark: Any = engine
            checks = measure_freshness(on_spark, now, settings.thresholds)
            append(
                engine,
                "freshness_checks",
                [
                    [run.run_id, now, *(check[n] for n in CHECK_COLUMNS)]
                    for check in checks.iter_rows(named=True)
                ],
            )
            report = _report(run, now, checks)
    return report


def _report(run: Run, now: datetime, checks: pl.DataFrame) -> FreshnessReport:
    """The run's report; the run's row says how it went (fail on an error)."""
    report = FreshnessReport(run.run_id, now, checks, status_counts(checks))
    run.rows_affected = checks.height
    if report.failed:
        run.status = "fail"
    if report.counts.get("error") or report.counts.get("warn"):
        run.message = ", ".join(
            f"{report.counts[s]} {s}" for s in ("error", "warn") if report.counts.get(s)
        )
    return report


def for_people(checks: pl.DataFrame) -> pl.DataFrame:
    """The table view: times to the second, ages in words (`51 h ago`), limits as `warn / error`."""
    import polars as pl

    from greenery_cli.timewords import age_in_words

    def when(value: datetime | None) -> str:
        return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")

    def limits(warn: str | None, error: str | None) -> str:
        return "" if warn is None and error is None else f"{warn or '-'} / {error or '-'}"

    return pl.DataFrame(
        [
            {
                "name": row["name"],
                "status": row["status"],
                "loaded_at": when(row["loaded_at"]),
                "age": age_in_words(row["load_age_s"]) if row["load_age_s"] is not None else "",
                "limits": limits(row["warn_after"], row["error_after"]),
                "newest_record_at": when(row["newest_record_at"]),
                "record_age": age_in_words(row["record_age_s"])
                if row["record_age_s"] is not None
                else "",
                "record_limits": limits(row["record_warn_after"], row["record_error_after"]),
                "took_s": row["duration_s"],
                "note": row["note"],
            }
            for row in checks.iter_rows(named=True)
        ],
        schema_overrides={"took_s": pl.Float64},
    )
