"""The statements that materialise a model, from greenery_cli/queries/build/*.sql.

Every statement a materialisation runs is a template there (CREATE TABLE AS, CREATE VIEW,
INSERT, DELETE by range or by key), so another SQL dialect needs only other templates. The
checks that keep an incremental build exactly equal to a full one run here too: a merge delta
holds each key once, a delete+insert delta stays inside its range.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from greenery_cli.engine.state import as_utc
from greenery_cli.errors import ModelError

if TYPE_CHECKING:
    from greenery_cli.models import Model
    from greenery_cli.warehouse import Warehouse

DELTA = "__greenery_delta"


class Written(NamedTuple):
    """What a materialisation wrote: rows now in the model, and the part of it that changed."""

    rows: int | None
    changed: bool  # False: nothing was written (an empty delta)
    start: datetime | None = None  # the changed range of event time; None: throughout
    end: datetime | None = None


def _failed(model: Model, exc: Exception) -> ModelError:
    return ModelError(f"model {model.name} ({model.path.name}) failed: {str(exc).splitlines()[0]}")


def _run(wh: Warehouse, model: Model, template: str, params: Any = None, **context: Any) -> Any:
    import duckdb

    from greenery_cli.sql import render

    try:
        return wh.rows(render(f"build/{template}", **context), params)
    except duckdb.Error as exc:
        raise _failed(model, exc) from None


def make_room(wh: Warehouse, model: Model, existing: str | None) -> None:
    """Drop the model's relation when it is of another kind than the one about to be made."""
    wanted = {"view": "VIEW", "table": "TABLE", "incremental": "TABLE"}.get(model.materialized)
    if existing is not None and existing != wanted:
        _run(wh, model, "drop.sql", kind=existing.lower(), relation=model.relation)


def build_view(wh: Warehouse, model: Model) -> Written:
    _run(wh, model, "create_view.sql", relation=model.relation, sql=model.sql)
    return Written(rows=None, changed=True)


def _count(wh: Warehouse, relation: str) -> int:
    return int(wh.scalar(f"select count(*) from {relation}"))


def build_table(wh: Warehouse, model: Model) -> Written:
    """A full build: the whole SELECT into a new table (a table model, or an incremental one
    built from scratch)."""
    _run(wh, model, "create_table.sql", relation=model.relation, sql=model.sql)
    if model.materialized == "incremental":
        _check_whole(wh, model, model.relation)
    return Written(rows=_count(wh, model.relation), changed=True)


def _keys_shown(model: Model, rows: list[tuple[Any, ...]]) -> str:
    return "; ".join(
        "("
        + ", ".join(repr(v) for v in row[: len(model.config.unique_key)])
        + ")"
        + (f" x{row[-1]}" if len(row) > len(model.config.unique_key) else "")
        for row in rows
    )


def _check_keys(wh: Warehouse, model: Model, relation: str, what: str) -> None:
    keys = list(model.config.unique_key)
    problems = _run(wh, model, "key_problems.sql", keys=keys, relation=relation)
    if problems:
        raise ModelError(
            f"model {model.name}: {what} holds empty or repeated unique_key "
            f"({', '.join(keys)}) values: {_keys_shown(model, problems)}; an incremental model "
            "needs exactly one row per key (deduplicate in its SQL)"
        )


def _check_whole(wh: Warehouse, model: Model, relation: str) -> None:
    """What every later incremental build relies on, checked on the full build."""
    if model.config.unique_key and model.config.incremental_strategy != "delete+insert":
        _check_keys(wh, model, relation, "its full build")
    if model.config.incremental_strategy == "delete+insert":
        assert model.config.event_time is not None
        rows = _run(
            wh,
            model,
            "time_range.sql",
            event_time=model.config.event_time,
            relation=relation,
            bounded=False,
        )
        if rows[0][3]:
            raise ModelError(
                f"model {model.name}: {rows[0][3]} row(s) have no {model.config.event_time}; "
                "a delete+insert model replaces rows by their event_time, so every row needs one"
            )


def _columns(wh: Warehouse, relation: str) -> list[str]:
    return [row[0] for row in wh.rows(f"describe {relation}")]


def build_increment(wh: Warehouse, model: Model, start: datetime, end: datetime) -> Written | None:
    """Apply the model's incremental SELECT over [start, end]; None when its columns no longer
    match the model's (the caller builds it in full instead)."""
    params = {"new_data_start": start, "new_data_end": end}
    used = {p: params[p] for p in model.incremental_params}
    assert model.incremental_sql is not None
    _run(wh, model, "stage_delta.sql", used or None, delta=DELTA, sql=model.incremental_sql)
    try:
        columns = _columns(wh, DELTA)
        if columns != _columns(wh, model.relation):
            return None
        written = _apply(wh, model, columns, params)
    finally:
        wh.execute(f"drop table if exists {DELTA}")
    return written


def _apply(wh: Warehouse, model: Model, columns: list[str], params: dict[str, datetime]) -> Written:
    config = model.config
    keys = list(config.unique_key)
    event_time = config.event_time
    span: tuple[Any, ...] = (None, None, _count(wh, DELTA), 0, 0)
    if event_time is not None:
        span = _run(
            wh,
            model,
            "time_range.sql",
            params if config.incremental_strategy == "delete+insert" else None,
            event_time=event_time,
            relation=DELTA,
            bounded=config.incremental_strategy == "delete+insert",
        )[0]
    delta_rows = int(span[2])
    start, end = as_utc(span[0]), as_utc(span[1])
    if config.incremental_strategy == "delete+insert":
        outside = int(span[3]) + int(span[4])
        if outside:
            raise ModelError(
                f"model {model.name}: its incremental SQL returned {outside} row(s) with "
                f"{event_time} empty or outside the rebuilt range {params['new_data_start']} .. "
                f"{params['new_data_end']}; filter its rows with new_data.start and new_data.end"
            )
        deleted = _run(
            wh, model, "delete_range.sql", params, relation=model.relation, event_time=event_time
        )[0][0]
        if not deleted and not delta_rows:
            return Written(rows=None, changed=False)
        start, end = params["new_data_start"], params["new_data_end"]
    elif config.incremental_strategy == "merge":
        if not delta_rows:
            return Written(rows=None, changed=False)
        _check_keys(wh, model, DELTA, "its incremental delta")
        if event_time is not None:
            old = _run(
                wh,
                model,
                "touched_range.sql",
                event_time=event_time,
                relation=model.relation,
                delta=DELTA,
                keys=keys,
            )[0]
            moments = [m for m in (as_utc(old[0]), as_utc(old[1]), start, end) if m is not None]
            start, end = (min(moments), max(moments)) if moments else (None, None)
        _run(wh, model, "delete_keys.sql", relation=model.relation, delta=DELTA, keys=keys)
    else:  # append
        if not delta_rows:
            return Written(rows=None, changed=False)
        if keys:
            _check_keys(wh, model, DELTA, "its incremental delta")
            clash = _run(
                wh, model, "key_collisions.sql", relation=model.relation, delta=DELTA, keys=keys
            )
            if clash:
                raise ModelError(
                    f"model {model.name}: its incremental SQL appends unique_key value(s) the "
                    f"model already holds: {_keys_shown(model, clash)}; leave out rows already in "
                    "{{ this }}"
                )
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
    _run(wh, model, "insert.sql", relation=model.relation, delta=DELTA, columns=quoted)
    if event_time is None:
        start = end = None
    return Written(rows=_count(wh, model.relation), changed=True, start=start, end=end)
