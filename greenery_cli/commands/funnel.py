from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from greenery_cli.options import (
    DURATION,
    MOMENT,
    GreeneryCommand,
    format_option,
    global_settings,
    wait_option,
)

if TYPE_CHECKING:
    from greenery_cli.parsing import When

HELP = """How units move through the funnel in seeds/funnel_steps.csv (page_view -> add_to_cart ->
checkout), and where they drop off. Reads the marts built by `greenery load`.

\b
Views (default: the summary):
  --by-step           one row per step: count, pct_of_first, conversion_from_previous,
                      drop_off, drop_off_rate, largest_drop_off_by_count/_by_rate
  --by product        per product: viewed, added_to_cart, checked_out (an order containing it),
                      and from the snapshot history the views while out of stock / in stock
                      and their conversion; --order any or ordered
  --by PROPERTY       per value of a unit property (state, region, customer, weekday, hour):
                      the --top N values (default 10) and an Other row; rows add up to the
                      whole funnel
  --list dropped@K    the units that reached step K-1 but not K (reached@K: that reached K):
                      session_id, user_id, entered_at, furthest_step; --limit N (default 20)
  --trend day|week    one funnel per period of entry (UTC days; weeks start Monday);
                      periods whose window has not closed yet are flagged
  --time-to-convert   median and p90 seconds between consecutive steps

\b
Rules:
  unit      a session (default) or a user (all of the user's events, across sessions).
  attempts  every step-1 event with --since <= time < --until starts an attempt; a unit
            reaches step k if SOME attempt does (--entry every, the default, as PostHog,
            Amplitude and ClickHouse's windowFunnel count). --entry first: only the unit's
            first step-1 event in range starts one.
  window    every later step must happen within --window of its attempt's entering event
            (inclusive), in every mode; later steps may fall after --until.
  any       (default) a step counts if the attempt has an event of it, and of every earlier
            step, in the window at or after entering; their order does not matter.
  ordered   each step's first event at or after the previous step's event (greedy).
  strict    as ordered, and no other event of the unit between consecutive steps, except
            repeats of the step just reached (viewing several products before a cart is fine).
  exclude   --exclude EVENT[@i-j]: an attempt with that event after reaching step i and before
            reaching step j stops (default: the whole funnel); repeat for several.
  counted   a unit's counted attempt is the one that went furthest, the earliest of those;
            trends, breakdowns, lists and times read it.
  ties      events in the same second are taken in step order (a tie never breaks the funnel),
            events outside the funnel after them.
  repeats   a unit counts once per step whatever it repeats; times use the first qualifying event.

Rates are fractions in JSON/CSV and percentages on screen. Every output states its mode, window,
unit, entry and exclusions (the table's caption; on stderr for json/csv). docs/funnel.md has the
details."""


@click.command(cls=GreeneryCommand, help=HELP)
@click.option("--by-step", is_flag=True, help="One row per step.")
@click.option(
    "--by",
    "by",
    metavar="product|PROPERTY",
    help="Per product, or per value of a unit property: state, region, customer, weekday, hour.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    metavar="N",
    help="--by: the N values with the most entries, the rest in one Other row "
    "(default: 10 for a property, every product).",
)
@click.option(
    "--list",
    "listing",
    metavar="dropped@K|reached@K",
    help="The units that reached step K-1 but not K, or that reached K.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    metavar="N",
    help="--list: at most N units, oldest entry first.",
)
@click.option("--trend", type=click.Choice(["day", "week"]), help="One funnel per entry period.")
@click.option("--time-to-convert", is_flag=True, help="Median and p90 seconds between steps.")
@click.option(
    "--order",
    type=click.Choice(["any", "ordered", "strict"]),
    default="any",
    show_default=True,
    help="How later steps must follow the entering event (see Rules).",
)
@click.option(
    "--entry",
    type=click.Choice(["every", "first"]),
    default="every",
    show_default=True,
    help="Which step-1 events start an attempt: every one, or only the unit's first.",
)
@click.option(
    "--exclude",
    "exclusions",
    multiple=True,
    metavar="EVENT[@i-j]",
    help="An attempt with this event between steps i and j (default: all) cannot advance.",
)
@click.option(
    "--window",
    type=DURATION,
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Later steps must fall within this long after entering: 90s, 30m, 2h, 1d12h, 1w.",
)
@click.option(
    "--unit",
    type=click.Choice(["session", "user"]),
    default="session",
    show_default=True,
    help="What is counted.",
)
@click.option(
    "--since",
    type=MOMENT,
    metavar="MOMENT",
    help="Entering events at or after this moment: 2021-02-10 (00:00 UTC), "
    "2021-02-10T12:00:00Z, or 7d (7 days before the latest event).",
)
@click.option(
    "--until",
    type=MOMENT,
    metavar="MOMENT",
    help="Entering events before this moment (as for --since).",
)
@format_option
@wait_option(10.0)
@click.pass_context
def command(
    ctx: click.Context,
    by_step: bool,
    by: str | None,
    top: int | None,
    listing: str | None,
    limit: int,
    trend: str | None,
    time_to_convert: bool,
    order: str,
    entry: str,
    exclusions: tuple[str, ...],
    window: timedelta,
    unit: str,
    since: When | None,
    until: When | None,
    fmt: str,
    wait: float,
) -> int:
    from greenery_cli.errors import UsageError
    from greenery_cli.funnel import FunnelSettings, answer, parse_exclusion, parse_list
    from greenery_cli.funnel.breakdown import check_property
    from greenery_cli.output import emit, note, print_lines, stdout_console
    from greenery_cli.views.funnel import funnel_view, title

    if by is not None and by != "product":
        check_property(by)
    chosen = [
        q
        for q, on in (
            ("by-step", by_step),
            ("by-product", by == "product"),
            ("breakdown", by not in (None, "product")),
            ("units", listing is not None),
            ("trend", trend is not None),
            ("time-to-convert", time_to_convert),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"choose one view at a time, not {' and '.join(chosen)}")
    if top is not None and by is None:
        raise UsageError("--top goes with --by")
    settings = FunnelSettings(
        order=order,
        window=window,
        unit=unit,
        since=since,
        until=until,
        period=trend or "day",
        entry=entry,
        exclusions=tuple(parse_exclusion(x) for x in exclusions),
        by=by if by != "product" else None,
        top=top,
        listing=parse_list(listing, limit) if listing is not None else None,
    )
    result = answer(
        global_settings(ctx).db, chosen[0] if chosen else "summary", settings, wait=wait
    )
    if fmt == "table":
        print_lines(stdout_console(), funnel_view(result))
        return 0
    emit(result.rows, fmt, title=title(result, result.question), caption=result.counted)
    if fmt != "markdown":  # markdown carries it in its caption
        note(result.counted)
    for text in result.notes:
        note(f"note: {text}")
    return 0
