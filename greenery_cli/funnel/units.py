"""`--list dropped@K` / `--list reached@K`: who the units behind a drop-off are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError
from greenery_cli.funnel.engine import data_ends_at, exclusion_notes, frame, funnel_steps
from greenery_cli.funnel.settings import FunnelResult, FunnelSettings

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

UNIT_COLUMNS = ("session_id", "user_id", "entered_at", "furthest_step")


def funnel_units(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """The units whose counted attempt stopped at step K-1 (dropped@K) or got to K (reached@K),
    oldest entry first, at most --limit of them; `total` says how many match."""
    listing = settings.listing
    if listing is None:
        raise UsageError("a list needs --list dropped@K or --list reached@K")
    steps = funnel_steps(wh)
    low = 2 if listing.kind == "dropped" else 1
    if not low <= listing.step <= len(steps):
        raise UsageError(
            f"--list {listing.kind}@{listing.step}: K must be {low}..{len(steps)} "
            f"(the funnel has {len(steps)} steps"
            + ("; nobody drops at step 1, where units enter)" if listing.kind == "dropped" else ")")
        )
    notes = exclusion_notes(wh, settings, steps)
    rows = frame(
        wh,
        "reports/funnel_units.sql",
        settings,
        steps,
        need="entry",
        context={"kind": listing.kind},
        params={"step": listing.step, "limit": listing.limit},
    )
    total = int(rows["matching"][0]) if rows.height else 0
    rows = rows.select(*UNIT_COLUMNS)
    if total > rows.height:
        notes.append(f"{rows.height:,} of {total:,} {settings.unit}s shown (--limit)")
    return FunnelResult("units", rows, settings, steps, data_ends_at(wh), notes, total=total)
