"""Running a funnel report's SQL: the steps from the seed, the attempts engine that fits the
settings, the exclusions as bound parameters (queries/reports/funnel_attempts*.sql)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import DataError, UsageError, WarehouseError
from greenery_cli.funnel.settings import FunnelSettings, FunnelStep

if TYPE_CHECKING:
    from greenery_cli.rows import Rows
    from greenery_cli.warehouse import Warehouse

MARTS = ("fct_funnel_events", "fct_event_path", "fct_product_funnel_events", "dim_products")
NEEDS = ("level", "time", "entry", "times")  # what a report reads of the counted attempt


def funnel_steps(wh: Warehouse) -> tuple[FunnelStep, ...]:
    """The funnel's steps from seeds.funnel_steps, checked to be 1..n with distinct events
    (read once per reader: `greenery report` asks two funnel questions)."""
    steps: tuple[FunnelStep, ...] = wh.remembered("funnel steps", lambda: _read_steps(wh))
    return steps


def _read_steps(wh: Warehouse) -> tuple[FunnelStep, ...]:
    import duckdb

    from greenery_cli.sql import render

    try:
        rows = wh.rows(render("reports/funnel_steps.sql", marts=MARTS))
    except (duckdb.Error, WarehouseError):
        require_marts(wh)  # a missing mart or seed is named as such; any other failure as it was
        raise
    steps = tuple(FunnelStep(int(s), str(e), str(label or e)) for s, e, label in rows)
    if not steps:
        raise DataError("seeds/funnel_steps.csv has no steps")
    numbers = [s.step for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise DataError(f"seeds/funnel_steps.csv: steps must be numbered 1..n, found {numbers}")
    types = [s.event_type for s in steps]
    if len(set(types)) != len(types):
        raise DataError(f"seeds/funnel_steps.csv: each event_type may be one step only: {types}")
    return steps


def require_marts(wh: Warehouse) -> None:
    missing = [m for m in MARTS if not wh.table_exists("marts", m)]
    if missing or not wh.table_exists("seeds", "funnel_steps"):
        raise WarehouseError(
            f"{wh.path} has no funnel marts ({', '.join(missing) or 'seeds.funnel_steps'}); "
            "run `greenery load` to build them"
        )


def data_ends_at(wh: Warehouse) -> datetime | None:
    """The newest event's time (once per reader, as the steps)."""
    value = wh.remembered(
        "data ends at", lambda: wh.scalar("select max(created_at_utc) from marts.fct_event_path")
    )
    return value.astimezone(UTC) if value is not None else None


def check_exclusions(settings: FunnelSettings, steps: tuple[FunnelStep, ...]) -> None:
    """An exclusion names an event outside the funnel and a range of its steps."""
    types = {s.event_type for s in steps}
    for x in settings.exclusions:
        if x.event_type in types:
            raise UsageError(
                f"--exclude {x.event_type}: it is a step of the funnel; exclude an event "
                "outside it (PostHog refuses the same)"
            )
        last = x.last or len(steps)
        if not 1 <= x.first < last <= len(steps):
            raise UsageError(
                f"--exclude {x.event_type}@{x.first}-{last}: the funnel has steps 1..{len(steps)}"
            )


def exclusion_notes(
    wh: Warehouse, settings: FunnelSettings, steps: tuple[FunnelStep, ...]
) -> list[str]:
    """What a reader should know about the exclusions asked for (none is ever silent)."""
    check_exclusions(settings, steps)
    notes = []
    if settings.exclusions and settings.order == "strict":
        notes.append(
            "--exclude changes nothing in mode strict: any event between two steps already "
            "stops a strict attempt"
        )
    for x in settings.exclusions:
        seen = wh.scalar(
            "select count(*) as seen from marts.fct_event_path where event_type = ?", [x.event_type]
        )
        if not seen:
            notes.append(f"no {x.event_type} event in the warehouse: --exclude removes nothing")
    return notes


def _stages(
    settings: FunnelSettings, steps: tuple[FunnelStep, ...]
) -> tuple[list[tuple[int, list[str]]], dict[str, str]]:
    """Per stage s (between step s and s+1), the parameters naming the events that block it."""
    params = {f"exclude_{i}": x.event_type for i, x in enumerate(settings.exclusions)}
    stages = []
    for stage in range(1, len(steps)):
        names = [
            f"exclude_{i}"
            for i, x in enumerate(settings.exclusions)
            if x.first <= stage < (x.last or len(steps))
        ]
        if names:
            stages.append((stage, names))
    return stages, params


def engine_for(settings: FunnelSettings, n_steps: int, need: str) -> str:
    """strict: runs; any without exclusions or times: buckets (hash joins); else chains (a
    running minimum over each unit's moments, then equality joins)."""
    if settings.order == "strict":
        return "strict"
    if settings.order == "any" and not settings.exclusions and need != "times" and n_steps > 1:
        return "buckets"
    return "chain"


def frame(
    wh: Warehouse,
    template: str,
    settings: FunnelSettings,
    steps: tuple[FunnelStep, ...],
    *,
    need: str = "level",
    by_product: bool = False,
    context: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> Rows:
    """Render one funnel report over the settings' attempts and run it (plain rows: every
    funnel answer is small)."""
    import duckdb

    from greenery_cli.sql import render

    check_exclusions(settings, steps)
    stages, exclusion_params = _stages(settings, steps)
    if settings.order == "strict":
        stages, exclusion_params = [], {}  # strict already stops at any other event
    sql = render(
        template,
        engine=engine_for(settings, len(steps), need),
        mode=settings.order,
        entry=settings.entry,
        unit_column=f"{settings.unit}_id",
        run_column=f"{settings.unit}_run",
        by_product=by_product,
        n_steps=len(steps),
        has_since=settings.since is not None,
        has_until=settings.until is not None,
        need=need,
        stage_exclusions=stages,
        **(context or {}),
    )
    values: dict[str, Any] = {
        "window_seconds": int(settings.window.total_seconds()),
        **exclusion_params,
        **(params or {}),
    }
    if settings.since is not None:
        values["since"] = settings.since
    if settings.until is not None:
        values["until"] = settings.until
    used = {k: v for k, v in values.items() if re.search(rf"\${k}\b", sql)}  # no unused ones
    try:
        return wh.fetch(sql, used)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"funnel query queries/{template} failed: {str(exc).splitlines()[0]}"
        ) from None
