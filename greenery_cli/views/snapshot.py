"""How a snapshot run reads: a one-line summary on stderr; dry-run rows and runs on stdout."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from greenery_cli.output import emit, iso_utc, say, to_json
from greenery_cli.tables import Layout
from greenery_cli.views.listings import SNAPSHOT_RUNS

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.snapshot import SnapshotResult
    from greenery_cli.snapshot_replay import ReplayResult


def _say(line: str) -> None:
    say(line, soft_wrap=True)


def summary(result: SnapshotResult, reverted: bool = False) -> str:
    at = iso_utc(result.taken_at)
    if reverted:
        undo = (
            f"the versions it opened removed ({result.opened} opened, {result.deleted} deleted), "
            f"the {result.closed} it closed re-opened"
        )
        if result.dry_run:
            return (
                f"dry run: reverting snapshot run {result.run_id} at {at}: {undo}; nothing written"
            )
        return f"reverted snapshot run {result.run_id} at {at}: {undo}"
    counts = f"{result.opened} opened, {result.closed} closed, {result.deleted} deleted"
    where = f"{result.products:,} products from {result.source}"
    added = (
        f"; new column(s) {', '.join(result.added_columns)} added (NULL in history)"
        if result.added_columns
        else ""
    )
    if result.dry_run:
        would = f"would open {result.opened}, close {result.closed}, delete {result.deleted}"
        return f"dry run at {at}: {would} ({where}){added}; nothing written"
    return f"snapshot run {result.run_id} at {at}: {counts} ({where}){added}"


def show_result(result: SnapshotResult, fmt: str, reverted: bool = False) -> None:
    from dataclasses import asdict

    if result.dry_run and result.changes is not None:
        title = (
            f"Versions reverting run {result.run_id} would delete or re-open"
            if reverted
            else f"Versions a snapshot at {iso_utc(result.taken_at)} would close and open"
        )
        # what happens to which product and its inventory stays; the rest gives way from the right
        keep = ("action", "change", "name", "inventory")
        emit(result.changes, fmt, title=title, layout=Layout.of_frame(result.changes, keep))
    elif fmt == "json":
        fields = asdict(result)
        fields.pop("changes")
        fields["reverted"] = reverted
        sys.stdout.write(to_json(fields) + "\n")
    _say(summary(result, reverted))


def show_runs(runs: pl.DataFrame, fmt: str) -> None:
    emit(runs, fmt, title="Snapshot runs, newest first", layout=SNAPSHOT_RUNS)
    if runs.is_empty():
        _say("no snapshot runs yet: `greenery snapshot` takes the first")


def replay_summary(result: ReplayResult) -> str:
    taken, skipped = result.taken, len(result.states) - len(result.taken)
    runs = (
        f"runs {taken[0].run_id}-{taken[-1].run_id}"
        if len(taken) > 1
        else f"run {taken[0].run_id}"
        if taken
        else "no new run"
    )
    counts = (
        f"{sum(s.opened for s in taken)} opened, {sum(s.closed for s in taken)} closed, "
        f"{sum(s.deleted for s in taken)} deleted"
    )
    already = f"; {skipped} already in the history, skipped" if skipped else ""
    return (
        f"replayed {len(taken)} of {len(result.states)} states from {result.folder} "
        f"({runs}: {counts}){already}"
    )


def show_replay(result: ReplayResult, fmt: str) -> None:
    from greenery_cli.snapshot_replay import describe

    if fmt == "json":
        sys.stdout.write(to_json(describe(result)) + "\n")
    for state in result.states:
        what = (
            f"already in the history (run {state.run_id}), skipped"
            if state.skipped
            else f"run {state.run_id}: {state.opened} opened, {state.closed} closed, "
            f"{state.deleted} deleted"
        )
        _say(f"  {iso_utc(state.moment)} {state.file}: {what}")
    _say(replay_summary(result))
    if result.note:
        _say(f"note: {result.note}")
