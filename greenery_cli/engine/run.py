"""Building models: decide what each one needs, do only that, and record why.

For each chosen model, in dependency order: skip it when nothing it depends on changed since its
last build; rebuild it when its SQL, config or a macro it uses changed, when it was never built,
or under --full-refresh; otherwise a table is rebuilt, a view is left alone (it reads its inputs
live) and an incremental model takes only the range of event time its inputs changed in. Every
decision is a row of meta.model_builds (action, reason); every rewrite a row of meta.changes.
The caller holds the transaction: any failure leaves the warehouse as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from greenery_cli.engine import materialize
from greenery_cli.engine.state import BuildState, Change, LastBuild, hull, record_change

if TYPE_CHECKING:
    from greenery_cli.models import Model
    from greenery_cli.warehouse import Warehouse

ACTIONS = ("built", "incremental", "skipped")


class ModelBuild(NamedTuple):
    model: str
    layer: str
    rows: int | None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    materialized: str = "table"
    action: str = "built"  # built (in full) | incremental | skipped
    reason: str = ""


class Decision(NamedTuple):
    action: str
    reason: str
    start: datetime | None = None  # incremental: the range of event time to rebuild
    end: datetime | None = None
    changes: tuple[Change, ...] = ()  # the input changes behind it


def _relations(changes: list[Change]) -> str:
    return ", ".join(sorted({c.relation for c in changes}))


def decide(
    models: dict[str, Model], state: BuildState, model: Model, full_refresh: bool = False
) -> Decision:
    """What `model` needs now, and why (one line a person can read)."""
    assert model.fingerprint is not None
    last = state.builds.get(model.name)
    existing = state.relations.get(model.relation)
    if model.materialized == "ephemeral":
        if existing is not None:
            return Decision("built", f"now ephemeral: its old {existing.lower()} is dropped")
        if last is None or model.fingerprint.changed_since(last.fingerprint):
            return Decision("built", "ephemeral: inlined into the models that read it")
        return Decision("skipped", "ephemeral: inlined into the models that read it")
    if full_refresh:
        return Decision("built", "--full-refresh")
    if last is None:
        return Decision("built", "never built")
    if existing is None:
        return Decision("built", "missing from the warehouse")
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    if existing != kind:
        return Decision("built", f"was a {existing.lower()}, is now a {model.materialized}")
    changed = model.fingerprint.changed_since(last.fingerprint)
    if changed:
        return Decision("built", changed)
    changes = state.input_changes(models, model, last.run_id)
    if not changes:
        return Decision("skipped", "up to date")
    names = _relations(changes)
    if model.materialized == "view":
        return Decision("skipped", f"a view: shows the changes to {names} as it is read")
    if model.materialized == "table":
        return Decision("built", f"{names} changed", changes=tuple(changes))
    span = hull(changes)
    if span is None:
        throughout = _relations([c for c in changes if c.throughout])
        return Decision(
            "built",
            f"{throughout} changed throughout (not by event time): built in full",
            changes=tuple(changes),
        )
    start = span[0] - timedelta(seconds=model.config.lookback_seconds)
    return Decision(
        "incremental",
        f"new data in {names} from {_moment(span[0])} to {_moment(span[1])}"
        + (f" (lookback {model.config.lookback})" if model.config.lookback else ""),
        start,
        span[1],
        tuple(changes),
    )


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _execute(
    wh: Warehouse, state: BuildState, model: Model, decision: Decision
) -> tuple[materialize.Written | None, str]:
    """Carry out a decision; (what was written, the reason as it turned out)."""
    if decision.action == "skipped":
        return None, decision.reason
    existing = state.relations.get(model.relation)
    if model.materialized == "ephemeral":
        if existing is not None:
            materialize.make_room(wh, model, existing)
            state.relations.pop(model.relation, None)
        return None, decision.reason
    if decision.action == "incremental":
        assert decision.start is not None and decision.end is not None
        written = materialize.build_increment(wh, model, decision.start, decision.end)
        if written is not None:
            return written, decision.reason
        reason = f"{decision.reason}; its columns changed: built in full"
    else:
        reason = decision.reason
    materialize.make_room(wh, model, existing)
    written = (
        materialize.build_view(wh, model)
        if model.materialized == "view"
        else materialize.build_table(wh, model)
    )
    state.relations[model.relation] = "VIEW" if model.materialized == "view" else "TABLE"
    if model.materialized == "table" and model.config.event_time and decision.changes:
        span = hull(list(decision.changes))  # a row-by-row table changed where its inputs did
        if span is not None:
            lookback = timedelta(seconds=model.config.lookback_seconds)
            written = materialize.Written(written.rows, True, span[0] - lookback, span[1])
    return written, reason


def build(
    wh: Warehouse,
    run_id: int,
    models: dict[str, Model],
    order: list[Model],
    full_refresh: bool = False,
    on_built: Callable[[ModelBuild], None] | None = None,
    state: BuildState | None = None,
) -> list[ModelBuild]:
    """Bring each model of `order` up to date, in that order, and record what was done."""
    state = state or BuildState.read(wh)
    builds = []
    records: list[tuple[ModelBuild, str | None]] = []
    for model in order:
        assert model.fingerprint is not None
        started = datetime.now(UTC)
        clock = time.perf_counter()
        decision = decide(models, state, model, full_refresh)
        written, reason = _execute(wh, state, model, decision)
        action = decision.action
        if action == "incremental" and reason != decision.reason:
            action = "built"
        result = ModelBuild(
            model.name,
            model.layer,
            written.rows if written is not None else None,
            started,
            datetime.now(UTC),
            time.perf_counter() - clock,
            model.materialized,
            action,
            reason,
        )
        records.append((result, model.fingerprint.as_json() if action != "skipped" else None))
        if action != "skipped":
            state.builds[model.name] = LastBuild(
                run_id,
                model.fingerprint.as_json(),
                model.materialized,
                result.finished_at,
                result.rows,
                result.duration_s,
            )
        if written is not None and written.changed:
            record_change(
                wh,
                state,
                Change(run_id, model.relation, written.start, written.end, written.rows),
            )
        builds.append(result)
        if on_built:
            on_built(result)
    _record(wh, run_id, records)
    return builds


def _record(wh: Warehouse, run_id: int, rows: list[tuple[ModelBuild, str | None]]) -> None:
    """The run's decisions, one row per model, in one statement."""
    if not rows:
        return
    values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
    params = [
        value
        for build, fingerprint in rows
        for value in (
            run_id,
            build.model,
            build.layer,
            build.rows,
            build.started_at,
            build.finished_at,
            build.duration_s,
            build.materialized,
            build.action,
            build.reason,
            fingerprint,
        )
    ]
    wh.execute(
        "insert into meta.model_builds (run_id, model, layer, rows, started_at, finished_at, "
        f"duration_s, materialized, action, reason, fingerprint) values {values}",
        params,
    )
