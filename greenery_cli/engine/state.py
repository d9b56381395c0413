"""What the warehouse remembers between runs: each model's last build and every change since.

A change is one relation (raw.events, seeds.us_states, marts.fct_x) rewritten by one run, either
throughout or only inside a range of event time (new files' rows, an incremental build's slice).
meta.changes holds them; meta.model_builds holds each model's builds with their fingerprint.
A model needs a build when its fingerprint differs from its last build's, or when one of its
inputs changed after that build. A view or an ephemeral model stores nothing, so what changed
under it is what changed in its own inputs: it passes their time ranges on when it declares an
event_time (a row-by-row model), and turns them into "changed throughout" when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from greenery_cli.models import Model
    from greenery_cli.warehouse import Warehouse


class Change(NamedTuple):
    run_id: int
    relation: str
    start: datetime | None = None  # None and None: changed throughout
    end: datetime | None = None
    rows: int | None = None

    @property
    def throughout(self) -> bool:
        return self.start is None or self.end is None

    def widened(self, seconds: float) -> Change:
        if self.throughout or not seconds:
            return self
        assert self.start is not None
        return Change(self.run_id, self.relation, self.start - timedelta(seconds=seconds), self.end)

    def describe(self) -> str:
        if self.throughout:
            return f"{self.relation} (run {self.run_id})"
        assert self.start is not None and self.end is not None
        return (
            f"{self.relation} from {_moment(self.start)} to {_moment(self.end)} (run {self.run_id})"
        )


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def as_utc(value: Any) -> datetime | None:
    """A timestamp from DuckDB (aware or naive UTC) or a date, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def hull(changes: list[Change]) -> tuple[datetime, datetime] | None:
    """The smallest time range covering every change, or None when one is throughout."""
    if not changes or any(c.throughout for c in changes):
        return None
    starts = [c.start for c in changes if c.start is not None]
    ends = [c.end for c in changes if c.end is not None]
    return min(starts), max(ends)


class LastBuild(NamedTuple):
    run_id: int
    fingerprint: str | None
    materialized: str | None
    finished_at: datetime
    rows: int | None
    duration_s: float | None = None


@dataclass
class BuildState:
    builds: dict[str, LastBuild]  # model -> its last successful build (skips excluded)
    changes: list[Change] = field(default_factory=list)
    relations: dict[str, str] = field(default_factory=dict)  # "schema.name" -> TABLE or VIEW

    @classmethod
    def read(cls, wh: Warehouse) -> BuildState:
        from greenery_cli.sql import render

        relations = wh.relations()
        if "meta.changes" not in relations:  # a warehouse from before the build engine
            old = (
                wh.rows(
                    "select model, max(run_id), max(finished_at), arg_max(rows, run_id) "
                    "from meta.model_builds group by model"
                )
                if "meta.model_builds" in relations
                else []
            )
            return cls(
                {m: LastBuild(int(r), None, None, f, n) for m, r, f, n in old}, [], relations
            )
        builds = {
            row[0]: LastBuild(int(row[1]), *row[2:])
            for row in wh.rows(render("build/last_builds.sql"))
        }
        since = min((b.run_id for b in builds.values()), default=0)
        changes = [
            Change(int(run_id), relation, as_utc(start), as_utc(end), rows)
            for run_id, relation, start, end, rows in wh.rows(
                render("build/changes_since.sql"), {"since": since}
            )
        ]
        return cls(builds, changes, relations)

    def changes_of(self, relation: str, since: int) -> list[Change]:
        return [c for c in self.changes if c.relation == relation and c.run_id > since]

    def input_changes(self, models: dict[str, Model], model: Model, since: int) -> list[Change]:
        """What `model` reads that changed after run `since` (through views and ephemerals)."""
        found: list[Change] = []
        for parent_name in model.depends_on:
            parent = models[parent_name]
            if parent.materialized in ("table", "incremental"):
                found += self.changes_of(parent.relation, since)
                continue
            if parent.materialized == "view":
                found += self.changes_of(parent.relation, since)
            lookback = parent.config.lookback_seconds
            for change in self.input_changes(models, parent, since):
                if parent.config.event_time is None:
                    change = Change(change.run_id, change.relation, rows=change.rows)
                found.append(change.widened(lookback))
        for table in model.sources:
            found += self.changes_of(f"raw.{table}", since)
        for seed in model.seeds:
            found += self.changes_of(f"seeds.{seed}", since)
        return found

    def stale_reason(self, models: dict[str, Model], model: Model) -> str | None:
        """Why `model` is out of date in the warehouse now, or None when it is current."""
        if not model.in_warehouse:
            return None
        last = self.builds.get(model.name)
        if last is None:
            return "never built"
        if model.relation not in self.relations:
            return "missing from the warehouse"
        assert model.fingerprint is not None
        changed = model.fingerprint.changed_since(last.fingerprint)
        if changed:
            return changed
        if model.materialized == "view":
            return None  # a view reads its inputs as they are now
        changes = self.input_changes(models, model, last.run_id)
        if changes:
            return "inputs changed since its build in run {}: {}".format(
                last.run_id, ", ".join(sorted({c.relation for c in changes}))
            )
        return None

    def modified(self, models: dict[str, Model]) -> set[str]:
        """state:modified: never built, or its SQL, config or macros changed since its build."""
        found = set()
        for name, model in models.items():
            last = self.builds.get(name)
            assert model.fingerprint is not None
            if last is None or model.fingerprint.changed_since(last.fingerprint):
                found.add(name)
        return found


def record_change(wh: Warehouse, state: BuildState | None, change: Change) -> None:
    """Write a change to meta.changes (and to the in-memory state the rest of the run reads)."""
    wh.execute(
        "insert into meta.changes (run_id, relation, change, range_start, range_end, rows) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            change.run_id,
            change.relation,
            "throughout" if change.throughout else "range",
            change.start,
            change.end,
            change.rows,
        ],
    )
    if state is not None:
        state.changes.append(change)
