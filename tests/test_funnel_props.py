"""Property: on random event logs, every funnel mode, unit, window, filter, entry rule and
exclusion agrees with the plain-Python reference in funnel_reference.py (which walks each unit's
attempts event by event)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from funnel_reference import (
    BASE,
    STEPS,
    Event,
    Exclusion,
    event,
    load_warehouse,
    reference_by_product,
    reference_counts,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenery_cli.funnel import Exclusion as FunnelExclusion
from greenery_cli.funnel import FunnelSettings, funnel_by_product, funnel_by_step
from greenery_cli.warehouse import open_warehouse

EVENT_TYPES = ("page_view", "add_to_cart", "checkout", "package_shipped")
PRODUCTS = ("p1", "p2", "p3")

# coarse times so that same-second ties, repeats and window edges happen often
moment = st.integers(min_value=0, max_value=40).map(lambda n: n * 15)
raw_event = st.tuples(moment, st.sampled_from(EVENT_TYPES), st.sampled_from(PRODUCTS))
session = st.tuples(
    st.sampled_from(("u0", "u1", "u2", "u3")),
    st.lists(raw_event, min_size=1, max_size=7),
    st.sets(st.sampled_from(PRODUCTS), min_size=1),  # what the session's order contains
)


@st.composite
def event_logs(draw: st.DrawFn) -> tuple[list[Event], dict[str, list[str]]]:
    events, order_items = [], {}
    for s, (user, raw, items) in enumerate(draw(st.lists(session, min_size=1, max_size=25))):
        name = f"s{s:02d}"
        order_items[f"o-{name}"] = sorted(items)
        for seconds, event_type, product in raw:
            thing = f"o-{name}" if event_type in ("checkout", "package_shipped") else product
            events.append(event(len(events), name, seconds, event_type, user=user, thing=thing))
    return events, order_items


windows = st.sampled_from([timedelta(seconds=s) for s in (15, 60, 150, 600, 86400)])
bounds = st.one_of(st.none(), moment.map(lambda s: BASE + timedelta(seconds=s)))
# package_shipped is the one event outside the funnel: excluded between some pair of steps
ranges = [(i, j) for i in range(1, len(STEPS)) for j in range(i + 1, len(STEPS) + 1)]
exclusion_sets = st.lists(st.sampled_from(ranges), max_size=2, unique=True).map(
    lambda chosen: tuple(Exclusion("package_shipped", i, j) for i, j in chosen)
)


def as_settings(exclusions: tuple[Exclusion, ...]) -> tuple[FunnelExclusion, ...]:
    return tuple(FunnelExclusion(x.event_type, x.first, x.last) for x in exclusions)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(log=event_logs(), window=windows, since=bounds, until=bounds, exclusions=exclusion_sets)
def test_every_mode_agrees_with_the_reference(log, window, since, until, exclusions) -> None:
    events, order_items = log
    if since is not None and until is not None and since >= until:
        since, until = until - timedelta(seconds=15), since  # keep the range valid
    with tempfile.TemporaryDirectory() as folder:
        db = load_warehouse(Path(folder), events, order_items=order_items)
        with open_warehouse(db) as wh:
            for unit in ("session", "user"):
                for order in ("any", "ordered", "strict"):
                    for entry in ("every", "first"):
                        for excluded in ((), exclusions):
                            chosen = FunnelSettings(
                                order=order,
                                window=window,
                                unit=unit,
                                since=since,
                                until=until,
                                entry=entry,
                                exclusions=as_settings(excluded),
                            )
                            got = funnel_by_step(wh, chosen).rows["count"].to_list()
                            expected = reference_counts(
                                events, order, unit, window, since, until, entry, excluded
                            )
                            assert got == expected, (order, unit, entry, excluded)
            for order in ("any", "ordered"):
                for excluded in ((), exclusions):
                    chosen = FunnelSettings(
                        order=order, window=window, exclusions=as_settings(excluded)
                    )
                    rows = funnel_by_product(wh, chosen).rows.to_dicts()
                    got_products = {
                        r["product_id"]: [r["viewed"], r["added_to_cart"], r["checked_out"]]
                        for r in rows
                        if r["viewed"]
                    }
                    expected_products = {
                        p: c
                        for p, c in reference_by_product(
                            events, order_items, order, "session", window, exclusions=excluded
                        ).items()
                        if c[0]
                    }
                    assert got_products == expected_products, (order, excluded)
