from __future__ import annotations

from datetime import datetime, timedelta

import click

from greenery_cli.options import format_option, global_settings

HELP = """How units move through the funnel in seeds/funnel_steps.csv (page_view -> add_to_cart ->
checkout), and where they drop off. Reads the marts built by `greenery load`.

\b
Views (default: the summary):
  --by-step           one row per step: count, pct_of_first, conversion_from_previous,
                      drop_off, drop_off_rate, largest_drop_off_by_count/_by_rate
  --by product        per product: viewed, added_to_cart, checked_out (an order containing it);
                      --order any or ordered
  --trend day|week    one funnel per period of entry (UTC days; weeks start Monday);
                      periods whose window has not closed yet are flagged
  --time-to-convert   median and p90 seconds between consecutive steps

\b
Rules:
  unit      a session (default) or a user (all of the user's events, across sessions).
  entering  the unit's FIRST step-1 event with --since <= time < --until; later
            step-1 events do not restart the funnel. Trend periods are periods of entry.
  window    every later step must happen within --window of the entering event (inclusive),
            in every mode; later steps may fall after --until inside the window.
  any       (default) a step counts if the unit has an event of it, and of every earlier
            step, in the window at or after entering; their order does not matter.
  ordered   each step's first event at or after the previous step's event (greedy).
  strict    as ordered, and no other event of the unit between consecutive steps, except
            repeats of the step just reached (viewing several products before a cart is fine).
  ties      events in the same second are taken in step order (a tie never breaks the funnel),
            events outside the funnel after them.
  repeats   a unit counts once per step whatever it repeats; times use the first qualifying event.

Rates are fractions in JSON/CSV and percentages on screen. Every output states its mode, window
and unit (the table's caption; on stderr for json/csv)."""


def _window(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from greenery_cli.funnel import parse_window

    return parse_window(value)


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from greenery_cli.funnel import parse_time

    return parse_time(value, f"--{param.name}") if value else None


@click.command(help=HELP)
@click.option("--by-step", is_flag=True, help="One row per step.")
@click.option("--by", "by", type=click.Choice(["product"]), help="Per product.")
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
    "--window",
    default="24h",
    show_default=True,
    metavar="DURATION",
    callback=_window,
    help="Later steps must fall within this long after entering: 1h, 30m, 90s, 2d, 1h30m.",
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
    metavar="TIME",
    callback=_time,
    help="Entering events at or after this UTC date/time.",
)
@click.option(
    "--until", metavar="TIME", callback=_time, help="Entering events before this UTC date/time."
)
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    by_step: bool,
    by: str | None,
    trend: str | None,
    time_to_convert: bool,
    order: str,
    window: timedelta,
    unit: str,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
) -> int:
    from greenery_cli.errors import UsageError
    from greenery_cli.funnel import FunnelSettings, answer
    from greenery_cli.output import emit, stderr_console, stdout_console
    from greenery_cli.views.funnel import funnel_view, title

    chosen = [
        q
        for q, on in (
            ("by-step", by_step),
            ("by-product", by == "product"),
            ("trend", trend is not None),
            ("time-to-convert", time_to_convert),
        )
        if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"choose one view at a time, not {' and '.join(chosen)}")
    settings = FunnelSettings(
        order=order, window=window, unit=unit, since=since, until=until, period=trend or "day"
    )
    result = answer(global_settings(ctx).db, chosen[0] if chosen else "summary", settings)
    if fmt == "table":
        stdout_console().print(funnel_view(result))
        return 0
    emit(result.rows, fmt, title=title(result, result.question), caption=result.counted)
    err = stderr_console()
    if fmt != "markdown":  # markdown carries it in its caption
        err.print(result.counted, markup=False)
    for note in result.notes:
        err.print(f"note: {note}", markup=False)
    return 0
