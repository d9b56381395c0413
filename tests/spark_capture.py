"""What SQL greenery sends, captured from the real renderers and question functions.

Nothing here lists variants by hand: models and data tests come from their discoverers, the
questions' SQL is recorded while the real question functions answer every combination of the
settings their modules declare (funnel.ORDERS x UNITS x PERIODS x QUESTIONS, inventory's
RANK_BY, ...) on a DuckDB warehouse, and the snapshot statements are rendered from every
template in greenery_cli/queries/snapshot/ for each --missing policy. So the lists follow
whatever those files and functions say today (issue 17's funnel rewrite included).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Captured:
    label: str  # where it came from, for test ids and messages
    sql: str
    params: Any = None  # as sent to DuckDB: a dict ($name), a list (?), or None


@dataclass
class Recording:
    """A Warehouse stand-in that records every statement a question sends, then runs it."""

    wh: Any
    label: str = ""
    captured: list[Captured] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wh, name)

    def _note(self, sql: str, params: Any) -> None:
        self.captured.append(Captured(self.label, sql, params))

    def execute(self, sql: str, params: Any = None) -> None:
        self._note(sql, params)
        self.wh.execute(sql, params)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self._note(sql, params)
        return self.wh.rows(sql, params)

    def scalar(self, sql: str, params: Any = None) -> Any:
        self._note(sql, params)
        return self.wh.scalar(sql, params)

    def fetch(self, sql: str, params: Any = None) -> Any:
        self._note(sql, params)
        return self.wh.fetch(sql, params)

    def frame(self, sql: str, params: Any = None) -> Any:
        self._note(sql, params)
        return self.wh.frame(sql, params)

    # table_exists is the Warehouse's own catalog look-up (a bind, or information_schema), not
    # recorded: it calls the real warehouse's connection, so it stays out of `captured`


def replayed_warehouse(real_data: Path, folder: Path) -> Path:
    """The real raw exports loaded, then the four weekly products files snapshotted in order."""
    import csv

    from greenery_cli.load import LoadSettings, load
    from greenery_cli.parsing import parse_moment
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot

    db = folder / "replayed.duckdb"
    source = folder / "exports"
    shutil.copytree(real_data / "raw", source)
    load(LoadSettings(db=db, source=str(source)))
    weeks = real_data / "inventory-weeks"
    with (weeks / "schedule.csv").open(newline="") as handle:
        schedule = sorted(csv.DictReader(handle), key=lambda r: int(r["week"]))
    for row in schedule:
        shutil.copyfile(weeks / row["file"], source / "products.csv")
        take_snapshot(
            SnapshotSettings(db=db, source=str(source), at=parse_moment(row["snapshot_at"]))
        )
    return db


def _funnel_settings() -> Iterator[tuple[str, Any]]:
    from greenery_cli import funnel

    ends = datetime(2021, 2, 11, tzinfo=UTC)  # inside the real data's span
    ranges = [
        (None, None),
        (ends - timedelta(days=1), None),
        (None, ends),
        (ends - timedelta(days=1), ends),
    ]
    for order, unit, period, (since, until) in itertools.product(
        funnel.ORDERS, funnel.UNITS, funnel.PERIODS, ranges
    ):
        label = f"order={order} unit={unit} period={period} since={bool(since)} until={bool(until)}"
        yield (
            label,
            funnel.FunnelSettings(order=order, unit=unit, period=period, since=since, until=until),
        )


def _funnel_extras() -> Iterator[tuple[str, Any]]:
    """A few more settings for the questions that read attempts: an exclusion (an event that is
    not a step) and entry 'first', in the modes whose SQL they change."""
    from greenery_cli import funnel

    base = "unit=session period=day since=False until=False"
    block = (funnel.Exclusion("package_shipped"),)
    for order in ("any", "ordered"):
        yield (
            f"order={order} {base} exclude=package_shipped",
            funnel.FunnelSettings(order=order, exclusions=block),
        )
    yield f"order=ordered {base} entry=first", funnel.FunnelSettings(order="ordered", entry="first")


EXTRAS_FOR = ("summary", "by-product", "time-to-convert")


def question_sql(db: Path) -> list[Captured]:
    """Every statement the questions send for every declared combination of their settings."""
    from greenery_cli import funnel, inventory
    from greenery_cli import runs as run_log
    from greenery_cli.errors import UsageError
    from greenery_cli.freshness import measure_freshness
    from greenery_cli.report import dashboard_data, weekly_report
    from greenery_cli.schedule import last_runs
    from greenery_cli.warehouse import open_warehouse

    captured: list[Captured] = []
    with open_warehouse(db) as wh:

        def ask(label: str, question: Callable[[Any], Any]) -> None:
            recording = Recording(wh, label)
            try:
                question(recording)
            except UsageError:
                pass  # a combination the question refuses (by-product strict) sends nothing more
            captured.extend(recording.captured)

        for question, function in funnel.QUESTION_FUNCTIONS.items():
            for label, settings in _funnel_settings():
                if question != "trend" and settings.period != funnel.PERIODS[0]:
                    continue  # only the trend reads the period: the other SQL would repeat
                ask(f"funnel {question} {label}", lambda r, f=function, s=settings: f(r, s))
            if question in EXTRAS_FOR:
                for label, settings in _funnel_extras():
                    ask(f"funnel {question} {label}", lambda r, f=function, s=settings: f(r, s))
            if question == "breakdown":  # it answers only --by PROPERTY: each once
                base = "order=any unit=session period=day since=False until=False"
                for name in funnel.breakdown.properties():
                    by = funnel.FunnelSettings(by=name)
                    ask(f"funnel {question} {base} by={name}", lambda r, f=function, s=by: f(r, s))
        runs = [
            str(run_id)
            for (run_id,) in wh.rows("select snapshot_run_id from snapshots.snapshot_runs")
        ]
        for before, after in itertools.combinations(sorted(runs), 2):
            ask(
                f"inventory-changes {before}->{after}",
                lambda r, b=before, a=after: inventory.inventory_changes(
                    r, inventory.InventoryChangesSettings(from_point=b, to_point=a)
                ),
            )
        ask(
            "inventory-changes default",
            lambda r: inventory.inventory_changes(r, inventory.InventoryChangesSettings()),
        )
        ask(
            "inventory-changes since",
            lambda r: inventory.inventory_changes(
                r, inventory.InventoryChangesSettings(since="7d")
            ),
        )
        ask(
            "inventory-changes dates",
            lambda r: inventory.inventory_changes(
                r,
                inventory.InventoryChangesSettings(from_point="2021-02-01", to_point="2031-01-01"),
            ),
        )
        for rank_by in inventory.RANK_BY:
            ask(
                f"fluctuations rank_by={rank_by}",
                lambda r, k=rank_by: inventory.fluctuations(
                    r, inventory.FluctuationsSettings(rank_by=k, top=3)
                ),
            )
        ask(
            "fluctuations since",
            lambda r: inventory.fluctuations(r, inventory.FluctuationsSettings(since="14d")),
        )
        for weeks, threshold in ((1, 0), (3, 0), (3, 50)):
            ask(
                f"stockouts weeks={weeks} threshold={threshold}",
                lambda r, w=weeks, t=threshold: inventory.stockouts(
                    r, inventory.StockoutsSettings(weeks=w, threshold=t)
                ),
            )
        now = datetime.now(UTC)
        ask("report and dashboard", lambda r: dashboard_data(r, weekly_report(r), now))
        # the trust questions over meta.* (phase 2 keeps these tables on the engine too)
        ask("freshness", lambda r: measure_freshness(r, now))
        for limit, command in ((20, None), (None, "snapshot")):
            ask(
                f"runs limit={limit} command={command}",
                lambda r, n=limit, c=command: run_log._runs(r, run_log.RunsSettings(None, n, c)),
            )
        ask("schedule last runs", lambda r: last_runs(r))
    return captured


def snapshot_statements() -> list[Captured]:
    """Each statement of each snapshot template, for every --missing policy and column shape."""
    from greenery_cli.engines.spark.snapshot import NextColumn
    from greenery_cli.resources import ENGINE_QUERIES
    from greenery_cli.snapshot import MISSING_POLICIES, STAGED, _Column
    from greenery_cli.sql import render

    shapes = {
        "inventory": [_Column("inventory", '"inventory"')],
        "all, one added later": [
            _Column("name", '"name"'),
            _Column("price", '"price"'),
            _Column("inventory", '"inventory"', "added_0"),
        ],
    }
    statements: dict[tuple[str, str], Captured] = {}
    for path in sorted((ENGINE_QUERIES / "snapshot").glob("[!_]*.sql")):  # _x.sql: fragments
        for missing, (shape, compared) in itertools.product(MISSING_POLICIES, shapes.items()):
            sql = render(
                f"snapshot/{path.name}",
                staged=STAGED,
                missing=missing,
                compared=compared,
                tombstone_columns=['"name"', '"price"', '"inventory"'],
                # next_state.sql (the snapshot on Spark) names its tables and columns; one
                # column the source added this run, one it no longer has
                history="snapshots.products_snapshot",
                key="product_id",
                columns=["product_id", "name", "price", "inventory"],
                leading=[
                    NextColumn(f'"{c}"', t, True, True)
                    for c, t in (("product_id", "varchar"), ("inventory", "integer"))
                ],
                trailing=[
                    NextColumn('"colour"', "varchar", False, True),
                    NextColumn('"pot size"', "integer", True, False),
                ],
                count=2,  # added_columns.sql
                # next_opened.sql: the Spark dry run's next state
                next="snapshot_next",
                # changes.sql: the staged row and its place as Spark's snapshot gives them
                source_row="{'product_id': s.product_id, 'inventory': s.inventory}",
                source_position="s.source_position",
                # touched.sql: the products a run touched, as DuckDB's snapshot names them
                touched="select product_id from snapshot_changes",
            )
            for number, statement in enumerate(s for s in sql.split(";") if s.strip()):
                label = f"snapshot/{path.name}#{number + 1}"
                statements.setdefault(
                    (label, statement), Captured(f"{label} missing={missing} {shape}", statement)
                )
    return list(statements.values())
