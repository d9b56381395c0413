"""The rewind guard: a snapshot whose source looks like an older state of the history is refused.

The history moves forward in time; its source should too. When the source's products table is
an old export (the week-1 file of a replay, a folder remembered long ago), a plain run would
quietly write the old inventory as the newest state and every question after it would report
"changes" that never happened. The guard compares the run's change set with the history: for an
earlier run R, if every product whose state (presence and check columns) differs between R and
the latest run is back in the source at exactly its state at R, and at least MIN_PRODUCTS of
them are, the source is R's state again and the run is refused, naming R and the remembered
source. `--allow-rewind` lets a real return through. Two products, so that one product restocked
to its old count (or an order cancelled) is never mistaken for a rewind.

The SQL is queries/snapshot/rewind_candidates.sql (cheap, every run with a change) and
rewind_match.sql (only when candidates exist).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from greenery_cli.errors import DataError
from greenery_cli.output import iso_utc

MIN_PRODUCTS = 2


class SnapshotEngine(Protocol):
    """What the guards ask of an engine (DuckDB's Warehouse, or a SparkEngine)."""

    def scalar(self, sql: str, params: Any = None) -> Any: ...

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]: ...

    def create_temp_table(
        self, name: str, select: str, params: dict[str, Any] | None = None
    ) -> None: ...


class RewindRefused(DataError):
    """The source looks like an older state of the history (exit 1, nothing written)."""

    def __init__(self, message: str, run_id: int) -> None:
        super().__init__(message)
        self.run_id = run_id  # the earlier run whose state the source holds again


def find_rewind(
    wh: SnapshotEngine, compared: Sequence[Any]
) -> tuple[int, Any, int, list[str]] | None:
    """(run id, taken_at, products, examples) of the newest earlier run whose state the source
    returns to, or None. Reads the temp table snapshot_changes (the run's change set)."""
    from greenery_cli.sql import render

    if not wh.scalar("select count(*) from snapshot_changes"):
        return None
    if int(wh.scalar("select count(*) from snapshots.snapshot_runs")) < 2:
        return None  # an earlier state needs a run before the latest
    wh.create_temp_table(
        "rewind_candidates",
        render("snapshot/rewind_candidates.sql", compared=compared),
        {"min_products": MIN_PRODUCTS},
    )
    if not wh.scalar("select count(*) from rewind_candidates"):
        return None
    found = wh.rows(render("snapshot/rewind_match.sql", compared=compared))
    if not found:
        return None
    run_id, taken_at, products, examples = found[0]
    return int(run_id), taken_at, int(products), [str(e) for e in examples]


def refuse_rewind(
    wh: SnapshotEngine,
    compared: Sequence[Any],
    location: str,
    columns: Sequence[str],
    remembered_source: Callable[[], str | None],
) -> None:
    """Raise RewindRefused when the source looks like an older state (see the module doc),
    naming the source a plain run would read (`remembered_source`, asked only then)."""
    found = find_rewind(wh, compared)
    if found is None:
        return
    run_id, taken_at, products, examples = found
    what = ", ".join(columns) or "presence"
    shown = ", ".join(examples) + (", ..." if products > len(examples) else "")
    remembered = remembered_source()
    raise RewindRefused(
        f"{location} looks like an older state of the history: the {products} products whose "
        f"{what} changed since snapshot run {run_id} at {iso_utc(taken_at)} ({shown}) are all "
        f"back at exactly that run's values, so this run would roll them back. "
        f"The remembered source is {remembered or 'none'}. Nothing written. If the inventory "
        "really went back, pass --allow-rewind; to snapshot the current exports, pass "
        "--source DIR (`greenery load --source DIR` remembers it).",
        run_id,
    )
