from __future__ import annotations

from datetime import datetime

import click

from greenery_cli.options import (
    EXACT_MOMENT,
    GreeneryGroup,
    allow_shrink_option,
    deprecated,
    format_option,
    global_settings,
    source_option,
    wait_option,
)

MISSING = ("ignore", "invalidate", "new_record")


def parse_check_columns(values: tuple[str, ...]) -> tuple[str, ...] | None:
    names = tuple(n.strip() for value in values for n in value.replace(" ", ",").split(","))
    names = tuple(n for n in names if n)
    if not names:
        return None
    return ("*",) if any(n in ("*", "all") for n in names) else names


@click.group(cls=GreeneryGroup, invoke_without_command=True)
@source_option
@click.option(
    "--at",
    type=EXACT_MOMENT,
    metavar="MOMENT",
    help="Take the run as of this moment (2024-10-22T06:00:00Z; no offset = UTC), to replay an "
    "old export; it must be after the latest run. Default: now.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the versions the run would close and open; write nothing.",
)
@click.option(
    "--revert-last",
    is_flag=True,
    help="Deprecated spelling of `greenery snapshot revert` (kept for one release).",
)
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="Deprecated spelling of `greenery snapshot list` (kept for one release).",
)
@click.option(
    "--replay",
    metavar="DIR",
    help="Replay a folder of dated exports: one products file per state and schedule.csv "
    "(snapshot_at, file), oldest first, all or nothing; states already in the history are "
    "skipped.",
)
@click.option(
    "--allow-rewind",
    is_flag=True,
    help="Take the run even if the source looks like an older state of the history (every "
    "product that changed since an earlier run back at that run's values).",
)
@click.option(
    "--check-columns",
    metavar="COLUMNS",
    multiple=True,
    help="The columns whose change opens a new version: comma-separated or repeated, or "
    "`all` (every column). Default: the project's [snapshot] check_columns (the shop's: "
    "inventory).",
)
@click.option(
    "--missing",
    type=click.Choice(MISSING),
    default=None,
    help="A product gone from the source: new_record opens a tombstone (is_deleted), "
    "invalidate closes its version, ignore leaves it current. Default: the project's "
    "[snapshot] missing (the shop's: new_record).",
)
@allow_shrink_option
@wait_option()
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    source: str | None,
    at: datetime | None,
    dry_run: bool,
    revert_last: bool,
    list_only: bool,
    replay: str | None,
    allow_rewind: bool,
    check_columns: tuple[str, ...],
    missing: str | None,
    allow_shrink: bool,
    wait: float,
    fmt: str,
) -> int:
    """Record the products' changes in their type-2 history (snapshots.products_snapshot);
    `snapshot list` lists the runs, `snapshot revert` undoes the latest.

    A product's current version (valid_to null) is closed at the run's moment when a check
    column changed, and a new version opened; a product new to the source opens its first
    version. Each run, with or without changes, is a row of snapshots.snapshot_runs. Safe
    under cron: one writer at a time (the later one waits --wait, then exits 3), all or
    nothing, and a one-line summary on stderr. The tables' columns and the replay of old
    exports are described in docs/snapshots.md.

    A source that looks like an older state of the history (every product that changed
    since an earlier run back at exactly that run's values, at least two of them) is refused,
    naming the run it matches and the remembered source, unless --allow-rewind. docs/snapshots.md
    has the details.

    Exit codes: 0 ok; 1 bad source data (a duplicate or empty product_id, a bad value, a
    missing check column, a source that looks like an older state) or a broken invariant,
    nothing written; 2 usage, e.g. --at not after the latest run; 3 busy past --wait.
    """
    from greenery_cli.errors import UsageError
    from greenery_cli.snapshot import SnapshotSettings
    from greenery_cli.views.snapshot import show_result

    taking = (
        at
        or source
        or check_columns
        or replay
        or allow_rewind
        or allow_shrink
        or missing is not None
    )
    if ctx.invoked_subcommand is not None:
        if taking or dry_run or list_only or revert_last:
            raise UsageError(
                f"`snapshot {ctx.invoked_subcommand}` takes its own options after its name; "
                "--source, --at, --replay, --dry-run... are for taking a snapshot"
            )
        return 0
    db = global_settings(ctx).db
    engine = global_settings(ctx).engine
    if list_only:
        deprecated("snapshot --list", "snapshot list")
        if revert_last or dry_run or taking:
            raise UsageError("--list takes no other snapshot option")
        _list(ctx, wait, fmt)
        return 0
    if revert_last:
        deprecated("snapshot --revert-last", "snapshot revert")
        if taking:
            raise UsageError("--revert-last takes only --dry-run, --wait and --format")
        _revert(ctx, wait, fmt, dry_run)
        return 0
    if replay is not None and (at or source or dry_run):
        raise UsageError(
            "--replay takes the moments from the folder's schedule.csv and its files: "
            "not --at, --source or --dry-run"
        )
    if engine.is_spark:
        from greenery_cli.engines.spark.snapshot import Guards, Policy, spark_snapshot

        what, answer = spark_snapshot(
            engine,
            source=source,
            at=at,
            replay_folder=replay,
            guards=Guards(dry_run, allow_rewind, allow_shrink),
            policy=Policy(parse_check_columns(check_columns), missing),
            wait=wait,
        )
        if what == "replay":
            from greenery_cli.views.snapshot import show_replay

            show_replay(answer, fmt)
        else:
            show_result(answer, fmt)
        return 0
    if replay is not None:
        from greenery_cli.snapshot_replay import ReplaySettings
        from greenery_cli.snapshot_replay import replay as run_replay
        from greenery_cli.views.snapshot import show_replay

        replayed = run_replay(
            ReplaySettings(
                db=db,
                folder=replay,
                check_columns=parse_check_columns(check_columns),
                missing=missing,
                allow_rewind=allow_rewind,
                allow_shrink=allow_shrink,
                wait=wait,
            )
        )
        show_replay(replayed, fmt)
        return 0
    from greenery_cli.snapshot import take_snapshot

    settings = SnapshotSettings(
        db=db,
        source=source,
        at=at,
        check_columns=parse_check_columns(check_columns),
        missing=missing,
        dry_run=dry_run,
        wait=wait,
        allow_shrink=allow_shrink,
        allow_rewind=allow_rewind,
    )
    show_result(take_snapshot(settings), fmt)
    return 0


def _list(ctx: click.Context, wait: float, fmt: str) -> None:
    from greenery_cli.views.snapshot import show_runs

    engine = global_settings(ctx).engine
    if engine.is_spark:
        from greenery_cli.engines.spark.snapshot import list_runs as spark_list

        show_runs(spark_list(engine), fmt)
        return
    from greenery_cli.snapshot import list_runs

    show_runs(list_runs(global_settings(ctx).db, wait=wait), fmt)


def _revert(ctx: click.Context, wait: float, fmt: str, dry_run: bool) -> None:
    from greenery_cli.views.snapshot import show_result

    engine = global_settings(ctx).engine
    if engine.is_spark:
        from greenery_cli.engines.spark.snapshot import revert

        show_result(revert(engine, dry_run, wait), fmt, reverted=True)
        return
    from greenery_cli.snapshot import revert_last

    show_result(
        revert_last(global_settings(ctx).db, wait=wait, dry_run=dry_run), fmt, reverted=True
    )


@command.command("list")
@format_option
@wait_option(10.0)
@click.pass_context
def list_command(ctx: click.Context, fmt: str, wait: float) -> int:
    """The snapshot runs, newest first: id, moment, source, versions closed and opened."""
    _list(ctx, wait, fmt)
    return 0


@command.command("revert")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the versions the revert would delete and re-open; write nothing.",
)
@format_option
@wait_option()
@click.pass_context
def revert_command(ctx: click.Context, dry_run: bool, fmt: str, wait: float) -> int:
    """Undo the latest snapshot run exactly: delete the versions it opened, re-open those it
    closed, and drop the run. Exit 3 when the warehouse stays busy past --wait."""
    _revert(ctx, wait, fmt, dry_run)
    return 0
