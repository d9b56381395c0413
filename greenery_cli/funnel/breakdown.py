"""`--by PROPERTY`: the funnel per value of a unit property, the top values and an "Other" row.

The properties are declared in queries/reports/funnel_properties.sql (one macro each, with a
`-- NAME: help` line). Each unit counts once, under the value read at its counted attempt's entry,
so the rows, "Other" included, add up to the unbroken funnel.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError
from greenery_cli.funnel.engine import data_ends_at, exclusion_notes, frame, funnel_steps
from greenery_cli.funnel.settings import DEFAULT_TOP, FunnelResult, FunnelSettings
from greenery_cli.rows import Rows

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

OTHER = "Other"
NONE = "(none)"  # a unit without the property (no user, no address)
_DECLARED = re.compile(r"^-- ([a-z_][a-z0-9_]*): (.+)$", re.MULTILINE)


@lru_cache(maxsize=1)
def properties() -> dict[str, str]:
    """Each declared property and its help line, in the file's order."""
    from greenery_cli.resources import ENGINE_QUERIES

    text = (ENGINE_QUERIES / "reports" / "funnel_properties.sql").read_text(encoding="utf-8")
    return dict(_DECLARED.findall(text))


def check_property(name: str) -> str:
    if name not in properties():
        known = ", ".join(["product", *properties()])
        raise UsageError(f"--by {name}: not a declared property; choose one of {known}")
    return name


def funnel_breakdown(wh: Warehouse, settings: FunnelSettings) -> FunnelResult:
    """One row per value of settings.by (the top ones, then "Other"), counts and rates per step."""
    if settings.by is None:
        raise UsageError("a breakdown needs --by PROPERTY")
    check_property(settings.by)
    steps = funnel_steps(wh)
    notes = exclusion_notes(wh, settings, steps)
    counts = frame(
        wh,
        "reports/funnel_breakdown.sql",
        settings,
        steps,
        need="entry",
        context={"property": settings.by},
    )
    names = [s.event_type for s in steps]
    renamed = {f"step_{s.step}": s.event_type for s in steps}
    counts = Rows(
        [renamed.get(c, c) for c in counts.columns],
        counts.rows(),
        [t.name for t in counts.schema.values()],
    )
    rows, folded = fold_top(counts, names, settings.top or DEFAULT_TOP)
    if folded:
        notes.append(
            f"{folded} more value(s) of {settings.by} are summed in the {OTHER!r} row (--top)"
        )
    return FunnelResult("breakdown", rows, settings, steps, data_ends_at(wh), notes)


def fold_top(counts: Rows, names: list[str], top: int) -> tuple[Rows, int]:
    """The `top` values with the most entries, then one "Other" row summing the rest; rates per
    row. Returns the rows and how many values were folded into "Other"."""
    records = sorted(
        counts.to_dicts(), key=lambda r: (-r[names[0]], r["value"] is None, r["value"] or "")
    )
    for r in records:
        if r["value"] is None:
            r["value"] = NONE
    kept, rest = records[:top], records[top:]
    if rest:
        kept.append({"value": OTHER, **{n: sum(r[n] for r in rest) for n in names}})
    for r in kept:
        for prev, name in zip(names, names[1:], strict=False):
            r[f"{name}_rate"] = r[name] / r[prev] if r[prev] > 0 else None
        if len(names) > 1:
            r["conversion"] = r[names[-1]] / r[names[0]] if r[names[0]] > 0 else None
    given = counts.schema
    schema = {"value": "VARCHAR", **{n: given[n].name for n in names}}
    schema.update({f"{n}_rate": "DOUBLE" for n in names[1:]})
    if len(names) > 1:
        schema["conversion"] = "DOUBLE"
    return Rows.from_dicts(kept, schema), len(rest)
