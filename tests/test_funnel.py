"""`greenery funnel`: hand-built event logs for each mode, ties, repeats, windows, units and
filters, loaded through `greenery load`; and the real dataset against the CSV files."""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from funnel_reference import (
    BASE,
    event,
    load_warehouse,
    reference_by_product,
    reference_counts,
)
from funnel_reference import Event as RefEvent
from funnel_reference import Exclusion as RefExclusion

from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.funnel import (
    FunnelSettings,
    funnel_breakdown,
    funnel_by_product,
    funnel_by_step,
    funnel_summary,
    funnel_trend,
    funnel_units,
    parse_exclusion,
    stock_summary,
    time_to_convert,
)
from greenery_cli.funnel.settings import UnitList
from greenery_cli.warehouse import open_warehouse

BY_STEP_KEYS = [
    "step",
    "event_type",
    "count",
    "pct_of_first",
    "conversion_from_previous",
    "drop_off",
    "drop_off_rate",
    "largest_drop_off_by_count",
    "largest_drop_off_by_rate",
]
HOUR = timedelta(hours=1)


def counts(db: Path, **settings: object) -> list[int]:
    with open_warehouse(db) as wh:
        return funnel_by_step(wh, FunnelSettings(**settings)).rows["count"].to_list()  # type: ignore[arg-type]


# --- warehouse A: one session per case; each mode counts them differently ---

MODES_LOG = [
    # a: in order -> every mode reaches checkout
    ("a", [(0, "page_view"), (10, "add_to_cart"), (20, "checkout")]),
    # b: checkout before cart -> any 3, ordered 2, strict 1 (the checkout sits between)
    ("b", [(0, "page_view"), (10, "checkout"), (20, "add_to_cart")]),
    # c: repeated steps -> repeats of the step just reached keep a strict path: 3 everywhere
    (
        "c",
        [
            (0, "page_view"),
            (5, "page_view"),
            (10, "add_to_cart"),
            (12, "add_to_cart"),
            (20, "checkout"),
        ],
    ),
    # d: a view between cart and checkout -> strict stops at 2
    (
        "d",
        [
            (0, "page_view"),
            (5, "add_to_cart"),
            (8, "page_view"),
            (10, "add_to_cart"),
            (15, "checkout"),
        ],
    ),
    # e: cart and view in the same second (cart listed first) -> ties go in step order: 3 everywhere
    ("e", [(0, "add_to_cart"), (0, "page_view"), (5, "checkout")]),
    # f: a non-funnel event between view and cart -> strict stops at 1
    ("f", [(0, "page_view"), (5, "package_shipped"), (10, "add_to_cart")]),
    # g: the non-funnel event ties with the cart -> it goes after the cart: strict 2
    ("g", [(10, "page_view"), (11, "package_shipped"), (11, "add_to_cart")]),
    # h: never views -> never enters
    ("h", [(0, "add_to_cart"), (5, "checkout")]),
    # i: views only
    ("i", [(0, "page_view")]),
    # j: slow: cart exactly 1h after entering (inside a 1h window), checkout 1s later (outside)
    ("j", [(0, "page_view"), (3600, "add_to_cart"), (3601, "checkout")]),
]


def build_events(log: list[tuple[str, list[tuple[int, str]]]], users: dict[str, str] | None = None):
    events, n = [], 0
    for session, steps in log:
        for seconds, event_type in steps:
            n += 1
            events.append(
                event(n, session, seconds, event_type, user=(users or {}).get(session, ""))
            )
    return events


@pytest.fixture(scope="module")
def modes_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_warehouse(tmp_path_factory.mktemp("modes"), build_events(MODES_LOG))


@pytest.mark.parametrize(
    ("order", "window", "attempts", "first_entry"),
    [
        # d: the view at 8 starts a strict attempt of its own (view, cart, checkout): 3 with
        # attempts, 2 when only the first view enters
        ("any", timedelta(hours=24), [9, 8, 6], [9, 8, 6]),
        ("ordered", timedelta(hours=24), [9, 8, 5], [9, 8, 5]),
        ("strict", timedelta(hours=24), [9, 6, 5], [9, 6, 4]),
        ("any", HOUR, [9, 8, 5], [9, 8, 5]),  # j: the cart at exactly 1h counts, the checkout not
        ("ordered", HOUR, [9, 8, 4], [9, 8, 4]),
        ("strict", HOUR, [9, 6, 4], [9, 6, 3]),
        ("any", timedelta(minutes=30), [9, 7, 5], [9, 7, 5]),
        ("ordered", timedelta(minutes=30), [9, 7, 4], [9, 7, 4]),
        ("strict", timedelta(minutes=30), [9, 5, 4], [9, 5, 3]),
    ],
)
def test_each_mode_counts_the_hand_built_sessions(
    modes_db: Path, order: str, window: timedelta, attempts: list[int], first_entry: list[int]
) -> None:
    assert counts(modes_db, order=order, window=window) == attempts
    assert counts(modes_db, order=order, window=window, entry="first") == first_entry


def test_modes_agree_with_the_reference_implementation(modes_db: Path) -> None:
    events = build_events(MODES_LOG)
    for order in ("any", "ordered", "strict"):
        for window in (timedelta(hours=24), HOUR, timedelta(seconds=10)):
            for entry in ("every", "first"):
                expected = reference_counts(events, order, "session", window, entry=entry)
                got = counts(modes_db, order=order, window=window, entry=entry)
                assert got == expected, (order, window, entry)


def test_by_step_rows_rates_and_largest_drop_offs(modes_db: Path) -> None:
    with open_warehouse(modes_db) as wh:
        rows = funnel_by_step(wh, FunnelSettings(order="strict")).rows.to_dicts()
    assert list(rows[0]) == BY_STEP_KEYS
    first, cart, checkout = rows
    assert (first["pct_of_first"], first["conversion_from_previous"], first["drop_off"]) == (
        1.0,
        None,
        None,
    )
    assert cart["drop_off"] == 3 and cart["drop_off_rate"] == pytest.approx(3 / 9)
    assert checkout["drop_off"] == 1 and checkout["drop_off_rate"] == pytest.approx(1 / 6)
    assert checkout["pct_of_first"] == pytest.approx(5 / 9)
    # strict, 24h: 9 -> 6 -> 5: the cart step loses most by count AND by rate
    assert [r["largest_drop_off_by_count"] for r in rows] == [False, True, False]
    assert [r["largest_drop_off_by_rate"] for r in rows] == [False, True, False]
    # the first entry only: 9 -> 6 -> 4, a tie in rate (3/9 = 2/6) goes to the earlier step
    with open_warehouse(modes_db) as wh:
        first = funnel_by_step(wh, FunnelSettings(order="strict", entry="first")).rows.to_dicts()
    assert [r["count"] for r in first] == [9, 6, 4]
    assert [r["largest_drop_off_by_rate"] for r in first] == [False, True, False]


def test_summary_and_time_to_convert(modes_db: Path) -> None:
    with open_warehouse(modes_db) as wh:
        summary = funnel_summary(wh, FunnelSettings(order="ordered")).rows.to_dicts()[0]
        times = time_to_convert(wh, FunnelSettings(order="ordered")).rows.to_dicts()
    assert (summary["entered"], summary["converted"]) == (9, 5)
    assert summary["conversion"] == pytest.approx(5 / 9)
    assert summary["largest_drop_off_by_count_step"] == 3  # 9 -> 8 -> 5
    assert (summary["unit"], summary["mode"], summary["window_seconds"]) == (
        "session",
        "ordered",
        86400,
    )
    # seconds from view to cart and cart to checkout in the ordered path of each session
    view_to_cart = [10, 20, 10, 5, 0, 10, 1, 3600]  # a b c d e f g j
    cart_to_checkout = [10, 10, 10, 5, 1]  # a c d e j
    for row, gaps in zip(times, (view_to_cart, cart_to_checkout), strict=True):
        assert row["units"] == len(gaps)
        assert row["median_seconds"] == pytest.approx(statistics.median(gaps))
        p90 = statistics.quantiles(gaps, n=10, method="inclusive")[8]
        assert row["p90_seconds"] == pytest.approx(p90)
    assert [(r["from_event_type"], r["to_event_type"]) for r in times] == [
        ("page_view", "add_to_cart"),
        ("add_to_cart", "checkout"),
    ]


# --- warehouse B: attempts, exclusions, a user over days (window 1h) ---

ATTEMPTS_LOG = [
    # p: the first view's cart is too late; a later view starts an attempt that converts
    (
        "p",
        [
            (0, "page_view"),
            (4000, "add_to_cart"),
            (7200, "page_view"),
            (7210, "add_to_cart"),
            (7220, "checkout"),
        ],
    ),
    # q: a shipment breaks the first view's strict path; the second view's is clean
    (
        "q",
        [
            (0, "page_view"),
            (10, "package_shipped"),
            (20, "page_view"),
            (30, "add_to_cart"),
            (40, "checkout"),
        ],
    ),
    # r: a shipment between cart and checkout
    ("r", [(0, "page_view"), (10, "add_to_cart"), (20, "package_shipped"), (30, "checkout")]),
    # s: a shipment between the first view and the cart; a second view after it
    (
        "s",
        [
            (0, "page_view"),
            (5, "package_shipped"),
            (10, "page_view"),
            (20, "add_to_cart"),
            (30, "checkout"),
        ],
    ),
    # t: checkout before cart, a shipment between them
    ("t", [(0, "page_view"), (10, "checkout"), (15, "package_shipped"), (20, "add_to_cart")]),
    # one user U over two days: a lone view, then a session that converts
    ("u1", [(0, "page_view")]),
    ("u2", [(172800, "page_view"), (172810, "add_to_cart"), (172820, "checkout")]),
]
ATTEMPTS_USERS = {"u1": "U", "u2": "U"}
SHIP = "package_shipped"
# (order, exclude, attempts, first entry): counts of the sessions p, q, r, s, t only
ATTEMPT_CASES = [
    ("any", "", [5, 5, 5], [5, 4, 4]),
    ("ordered", "", [5, 5, 4], [5, 4, 3]),
    ("strict", "", [5, 4, 3], [5, 1, 0]),
    ("any", SHIP, [5, 4, 3], [5, 1, 0]),
    ("ordered", SHIP, [5, 4, 3], [5, 1, 0]),
    ("any", f"{SHIP}@2-3", [5, 5, 4], [5, 4, 3]),
    ("ordered", f"{SHIP}@2-3", [5, 5, 3], [5, 4, 2]),
    ("any", f"{SHIP}@1-2", [5, 4, 4], [5, 1, 1]),
    ("ordered", f"{SHIP}@1-2", [5, 4, 4], [5, 1, 1]),
    ("strict", SHIP, [5, 4, 3], [5, 1, 0]),  # strict already stops at the shipment
]


def attempt_events() -> list[RefEvent]:
    return build_events(ATTEMPTS_LOG, ATTEMPTS_USERS)


@pytest.fixture(scope="module")
def attempts_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_warehouse(tmp_path_factory.mktemp("attempts"), attempt_events())


def plus(counts_: list[int], more: list[int]) -> list[int]:
    return [a + b for a, b in zip(counts_, more, strict=True)]


@pytest.mark.parametrize(("order", "exclude", "attempts", "first_entry"), ATTEMPT_CASES)
def test_attempts_and_exclusions_count_the_hand_built_sessions(
    attempts_db: Path, order: str, exclude: str, attempts: list[int], first_entry: list[int]
) -> None:
    exclusions = (parse_exclusion(exclude),) if exclude else ()
    common = {"order": order, "window": HOUR, "exclusions": exclusions}
    # u1 only views; u2 converts whatever the rule
    assert counts(attempts_db, **common) == plus(attempts, [2, 1, 1])
    assert counts(attempts_db, entry="first", **common) == plus(first_entry, [2, 1, 1])
    # per user, U enters at the lone view two days before its converting session: only
    # attempts see that conversion within the hour
    assert counts(attempts_db, unit="user", **common) == plus(attempts, [1, 1, 1])
    assert counts(attempts_db, unit="user", entry="first", **common) == plus(first_entry, [1, 0, 0])
    reference = [x for x in (parse_reference_exclusion(exclude),) if x]
    for unit in ("session", "user"):
        for entry in ("every", "first"):
            expected = reference_counts(
                attempt_events(), order, unit, HOUR, entry=entry, exclusions=tuple(reference)
            )
            assert counts(attempts_db, unit=unit, entry=entry, **common) == expected


def parse_reference_exclusion(text: str) -> RefExclusion | None:
    if not text:
        return None
    parsed = parse_exclusion(text)
    return RefExclusion(parsed.event_type, parsed.first, parsed.last or 3)


def test_exclusions_are_stated_and_checked(cli, attempts_db: Path) -> None:
    args = ["--db", str(attempts_db), "funnel", "--window", "1h", "--exclude", f"{SHIP}@2-3"]
    table = cli(*args, "--by-step")
    assert table.exit_code == 0, table.stderr
    assert f"excluding {SHIP} between steps 2 and 3" in " ".join(table.stdout.split())
    for fmt in ("json", "csv"):
        data = cli(*args, "--by-step", "--format", fmt)
        assert f"excluding {SHIP} between steps 2 and 3" in data.stderr
    strict = cli(*args, "--order", "strict", "--format", "json")
    assert "changes nothing in mode strict" in strict.stderr
    unseen = cli("--db", str(attempts_db), "funnel", "--exclude", "refund", "--format", "json")
    assert unseen.exit_code == 0 and "no refund event in the warehouse" in unseen.stderr
    for bad, message in (
        ("add_to_cart", "is a step of the funnel"),
        (f"{SHIP}@2-5", "steps 1..3"),
        (f"{SHIP}@3-2", "FIRST must be"),
        ("ship ped", "EVENT_TYPE"),
    ):
        refused = cli("--db", str(attempts_db), "funnel", "--exclude", bad)
        assert refused.exit_code == ExitCode.TOOL_ERROR, bad
        assert message in refused.stderr and refused.stdout == ""


def test_the_counted_attempt_is_the_furthest_then_the_earliest(attempts_db: Path) -> None:
    # p: the view at 0 reaches step 1 only; the view at 7200 converts: the counted attempt
    # enters at 7200, and its times are that attempt's
    with open_warehouse(attempts_db) as wh:
        listed = funnel_units(
            wh, FunnelSettings(window=HOUR, listing=UnitList("reached", 3, 100))
        ).rows.to_dicts()
        times = time_to_convert(wh, FunnelSettings(window=HOUR, order="ordered")).rows.to_dicts()
    entered = {r["session_id"]: r["entered_at"] for r in listed}
    assert entered["p"] == at(7200) and entered["q"] == at(0) and entered["u2"] == at(172800)
    # ordered, 1h: view -> cart in the counted attempts of p q r s t u2 (t reaches only step 2)
    assert times[0]["units"] == 6
    assert times[0]["median_seconds"] == pytest.approx(statistics.median([10, 30, 10, 20, 20, 10]))
    assert times[1]["units"] == 5  # p q r s u2
    assert times[1]["median_seconds"] == pytest.approx(10)


# --- warehouse C: entering events, --since/--until, users across sessions ---

FILTERS_LOG = [
    (
        "s1",
        [
            (0, "page_view"),
            (50, "add_to_cart"),
            (100, "page_view"),
            (120, "add_to_cart"),
            (130, "checkout"),
        ],
    ),
    ("s2", [(200, "add_to_cart"), (210, "checkout")]),  # u1 again, no view in this session
    ("s3", [(300, "page_view")]),
    ("s4", [(400, "add_to_cart"), (7000, "checkout")]),  # u2 again
    ("s5", [(1000, "page_view"), (2000, "add_to_cart")]),
]
FILTERS_USERS = {"s1": "u1", "s2": "u1", "s3": "u2", "s4": "u2", "s5": "u3"}


@pytest.fixture(scope="module")
def filters_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    events = build_events(FILTERS_LOG, FILTERS_USERS)
    return load_warehouse(tmp_path_factory.mktemp("filters"), events)


def at(seconds: int) -> datetime:
    return BASE + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, [3, 2, 1]),
        ({"unit": "user"}, [3, 3, 2]),  # u2 views in s3 and checks out in s4
        ({"unit": "user", "window": HOUR}, [3, 3, 1]),  # ... but 6700s after entering
        # entering is the first view at or after --since: s1 enters at its second view
        ({"since": at(80), "order": "ordered"}, [3, 2, 1]),
        ({"since": at(125)}, [2, 1, 0]),  # s1's views are too early: s3 and s5 enter
        # s5's cart falls after --until, inside the window: it still counts
        ({"until": at(1001)}, [3, 2, 1]),
        ({"since": at(1), "until": at(300)}, [1, 1, 1]),  # s1 via its second view; s3 at 300 out
        ({"since": at(1), "until": at(301), "order": "strict"}, [2, 1, 1]),
        # a 60s window: s1's first view reaches the cart at 50 but not the checkout at 130; its
        # view at 100 starts an attempt that reaches both (120, 130)
        ({"window": timedelta(seconds=60)}, [3, 1, 1]),
        ({"window": timedelta(seconds=60), "entry": "first"}, [3, 1, 0]),
        ({"window": timedelta(seconds=60), "unit": "user"}, [3, 1, 1]),
        ({"window": timedelta(seconds=60), "order": "strict"}, [3, 1, 1]),
        ({"window": timedelta(seconds=60), "order": "strict", "entry": "first"}, [3, 1, 0]),
    ],
)
def test_entering_events_filters_and_units(
    filters_db: Path, settings: dict[str, object], expected: list[int]
) -> None:
    assert counts(filters_db, **settings) == expected
    events = build_events(FILTERS_LOG, FILTERS_USERS)
    reference = reference_counts(
        events,
        str(settings.get("order", "any")),
        str(settings.get("unit", "session")),
        settings.get("window", timedelta(hours=24)),  # type: ignore[arg-type]
        settings.get("since"),  # type: ignore[arg-type]
        settings.get("until"),  # type: ignore[arg-type]
        str(settings.get("entry", "every")),
    )
    assert reference == expected


# --- warehouse D: trend periods, and products ---


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    day = 86400
    events = [
        event(1, "s1", -day, "page_view", thing="p1"),  # Tuesday 2021-02-09
        event(2, "s1", -day + 5, "page_view", thing="p2"),
        event(3, "s1", -day + 10, "add_to_cart", thing="p1"),
        event(4, "s1", -day + 20, "checkout", thing="o1"),
        event(5, "s2", 0, "page_view", thing="p3"),  # Wednesday 2021-02-10
        event(6, "s2", 10, "add_to_cart", thing="p3"),
        event(7, "s3", 15, "page_view", thing="p1"),
        event(8, "s3", 20, "package_shipped", thing="o1"),  # the data ends here
    ]
    return load_warehouse(
        tmp_path_factory.mktemp("shop"),
        events,
        order_items={"o1": ["p1", "p3"]},
        products=["p4"],
    )


def test_trend_counts_per_entry_period_and_flags_open_windows(shop_db: Path) -> None:
    with open_warehouse(shop_db) as wh:
        daily = funnel_trend(wh, FunnelSettings(period="day", window=HOUR))
        weekly = funnel_trend(wh, FunnelSettings(period="week"))
    rows = daily.rows.to_dicts()
    assert [r["period_start"] for r in rows] == [
        datetime(2021, 2, 9, tzinfo=UTC),
        datetime(2021, 2, 10, tzinfo=UTC),
    ]
    assert [(r["page_view"], r["add_to_cart"], r["checkout"]) for r in rows] == [
        (1, 1, 1),
        (2, 1, 0),
    ]
    # Feb 9's entries could convert until Feb 10 01:00, before the last event at 12:00:20
    assert [r["window_closed"] for r in rows] == [True, False]
    assert daily.notes and "not closed" in daily.notes[0]
    week = weekly.rows.to_dicts()
    assert [(w["period_start"], w["page_view"], w["checkout"]) for w in week] == [
        (datetime(2021, 2, 8, tzinfo=UTC), 3, 1)  # ISO weeks start on Monday
    ]
    assert week[0]["window_closed"] is False


def test_by_product_counts_checkouts_through_order_items(shop_db: Path) -> None:
    with open_warehouse(shop_db) as wh:
        rows = {r["product_id"]: r for r in funnel_by_product(wh, FunnelSettings()).rows.to_dicts()}
    got = {p: (r["viewed"], r["added_to_cart"], r["checked_out"]) for p, r in rows.items()}
    # p3 is in s1's order but s1 never viewed it: a product's funnel starts at its view
    assert got == {"p1": (2, 1, 1), "p2": (1, 0, 0), "p3": (1, 1, 0), "p4": (0, 0, 0)}
    assert rows["p1"]["name"] == "Plant p1"
    assert rows["p1"]["added_to_cart_rate"] == pytest.approx(0.5)
    assert rows["p1"]["checked_out_rate"] == 1.0 and rows["p1"]["conversion"] == 0.5
    assert rows["p4"]["conversion"] is None


def test_by_product_refuses_strict(shop_db: Path) -> None:
    with open_warehouse(shop_db) as wh, pytest.raises(UsageError, match="strict"):
        funnel_by_product(wh, FunnelSettings(order="strict"))


# --- the command ---


def test_cli_by_step_json_has_exactly_the_issue_keys(cli, modes_db: Path) -> None:
    result = cli("--db", str(modes_db), "funnel", "--by-step", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [list(r) for r in rows] == [BY_STEP_KEYS] * 3
    assert [r["count"] for r in rows] == [9, 8, 6]
    assert rows[2]["drop_off_rate"] == pytest.approx(2 / 8)  # a fraction, not a percentage
    assert "mode any, window 24h, unit session" in result.stderr


def test_cli_table_draws_bars_percentages_and_what_was_counted(cli, modes_db: Path) -> None:
    result = cli(
        "--db", str(modes_db), "funnel", "--by-step", "--order", "ordered", "--window", "1h"
    )
    assert result.exit_code == 0, result.stderr
    assert "█" in result.stdout
    assert "88.9%" in result.stdout  # 8 of 9
    assert "mode ordered, window 1h, unit session" in result.stdout
    # 9 -> 8 -> 4: the checkout step loses most both ways
    assert "Largest drop-off: step 3 checkout" in result.stdout


def test_cli_says_which_drop_off_is_by_count_and_which_by_rate(cli, filters_db: Path) -> None:
    # any, user: 3 -> 3 -> 2 has one drop; per session 3 -> 2 -> 1: counts tie, rates differ
    result = cli("--db", str(filters_db), "funnel", "--by-step")
    assert result.exit_code == 0, result.stderr
    assert "Largest drop-off by count: step 2 add_to_cart" in result.stdout
    assert "Largest drop-off by rate: step 3 checkout" in result.stdout
    summary = cli("--db", str(filters_db), "funnel")
    assert "3 sessions entered" in summary.stdout and "33.3% overall" in summary.stdout
    assert "by count: step 2" in summary.stdout and "by rate: step 3" in summary.stdout
    assert "mode any, window 24h, unit session" in summary.stdout


def test_cli_every_view_states_mode_window_and_unit(cli, shop_db: Path) -> None:
    for view in (["--by", "product"], ["--trend", "week"], ["--time-to-convert"], []):
        args = ["--db", str(shop_db), "funnel", *view, "--unit", "user", "--window", "2h"]
        table = cli(*args)
        assert table.exit_code == 0, table.stderr
        assert "mode any, window 2h, unit user" in table.stdout, view
        data = cli(*args, "--format", "csv")
        assert "mode any, window 2h, unit user" in data.stderr, view
        assert "mode any" not in data.stdout


def test_cli_trend_flags_open_periods(cli, shop_db: Path) -> None:
    result = cli(
        "--db", str(shop_db), "funnel", "--trend", "day", "--window", "1h", "--format", "json"
    )
    rows = json.loads(result.stdout)
    assert [r["period_start"] for r in rows] == ["2021-02-09T00:00:00Z", "2021-02-10T00:00:00Z"]
    assert [r["window_closed"] for r in rows] == [True, False]
    assert "not closed" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "soon"], "--window"),
        (["--by", "product", "--order", "strict"], "strict"),
        (["--by-step", "--time-to-convert"], "one view at a time"),
        (["--since", "yesterday"], "--since"),
        (["--since", "2021-02-10", "--until", "2021-02-09"], "before --until"),
        (["--order", "sideways"], "sideways"),
    ],
)
def test_cli_usage_errors(cli, shop_db: Path, args: list[str], message: str) -> None:
    result = cli("--db", str(shop_db), "funnel", *args)
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert message in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_cli_help_documents_the_rules(cli) -> None:
    text = cli("funnel", "--help").stdout
    for word in ("same second", "repeats", "entering", "--window", "closed", "fractions"):
        assert word in text, word


# --- the real dataset: the funnel against the CSV files ---


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def real_events(real_data: Path) -> list[RefEvent]:
    return [
        RefEvent(
            r["event_id"],
            r["session_id"],
            r["user_id"],
            datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")),
            r["event_type"],
            r["product_id"],
            r["order_id"],
        )
        for r in read_csv(real_data / "raw" / "events.csv")
    ]


def test_real_by_step_is_the_teams_definition(loaded_real_warehouse: Path, real_data: Path) -> None:
    sessions: dict[str, set[str]] = defaultdict(set)
    for r in read_csv(real_data / "raw" / "events.csv"):
        sessions[r["session_id"]].add(r["event_type"])
    # the team's words: sessions with any page_view; with any add_to_cart; with any checkout
    with_view = {s for s, types in sessions.items() if "page_view" in types}
    with_cart = {s for s in with_view if "add_to_cart" in sessions[s]}
    with_checkout = {s for s in with_cart if "checkout" in sessions[s]}
    expected = [len(with_view), len(with_cart), len(with_checkout)]
    assert counts(loaded_real_warehouse) == expected
    with open_warehouse(loaded_real_warehouse) as wh:
        rows = funnel_by_step(wh, FunnelSettings()).rows.to_dicts()
    assert rows[1]["drop_off"] == len(with_view) - len(with_cart)
    assert rows[2]["conversion_from_previous"] == pytest.approx(len(with_checkout) / len(with_cart))


@pytest.mark.parametrize("unit", ["session", "user"])
@pytest.mark.parametrize("order", ["any", "ordered", "strict"])
def test_real_by_step_every_mode(
    loaded_real_warehouse: Path, real_data: Path, order: str, unit: str
) -> None:
    events = real_events(real_data)
    for window in (timedelta(hours=24), timedelta(minutes=5)):
        expected = reference_counts(events, order, unit, window)
        assert counts(loaded_real_warehouse, order=order, unit=unit, window=window) == expected


def test_real_by_product(loaded_real_warehouse: Path, real_data: Path) -> None:
    order_items: dict[str, list[str]] = defaultdict(list)
    for r in read_csv(real_data / "raw" / "order_items.csv"):
        order_items[r["order_id"]].append(r["product_id"])
    names = {r["product_id"]: r["name"] for r in read_csv(real_data / "raw" / "products.csv")}
    events = real_events(real_data)
    # straight from the files: per product, sessions that viewed it, carted it, and checked out
    # an order containing it (in any order, within 24h of the first view of the product)
    viewed: dict[tuple[str, str], datetime] = {}
    for e in events:
        if e.event_type == "page_view":
            key = (e.session_id, e.product_id)
            viewed[key] = min(viewed.get(key, e.at), e.at)
    carted, checked = set(), set()
    for e in events:
        products = [e.product_id] if e.event_type == "add_to_cart" else order_items[e.order_id]
        for product in products if e.event_type in ("add_to_cart", "checkout") else []:
            first = viewed.get((e.session_id, product))
            if first is not None and first <= e.at <= first + timedelta(hours=24):
                (carted if e.event_type == "add_to_cart" else checked).add((e.session_id, product))
    with open_warehouse(loaded_real_warehouse) as wh:
        rows = funnel_by_product(wh, FunnelSettings()).rows.to_dicts()
        ordered = funnel_by_product(wh, FunnelSettings(order="ordered", unit="user")).rows
    assert {r["product_id"] for r in rows} == set(names)
    for r in rows:
        p = r["product_id"]
        assert r["name"] == names[p]
        assert r["viewed"] == sum(1 for _, q in viewed if q == p)
        assert r["added_to_cart"] == sum(1 for s, q in carted if q == p and (s, q) in viewed)
        assert r["checked_out"] == sum(1 for k in checked if k[1] == p and k in carted)
    reference = reference_by_product(events, order_items, "ordered", "user", timedelta(hours=24))
    for r in ordered.to_dicts():
        expected = reference.get(r["product_id"], [0, 0, 0])
        assert [r["viewed"], r["added_to_cart"], r["checked_out"]] == expected


# --- breakdowns, lists and stock at entry, on hand-built data ---

STATES = {"u-p": "Texas", "u-q": "Texas", "u-r": "Ohio", "u-s": "California", "U": "Ohio"}
ORDERS = {  # u-r ordered before its visit; U between its two sessions
    "o-old": ("u-r", BASE - timedelta(days=1)),
    "o-mid": ("U", BASE + timedelta(seconds=100_000)),
}


@pytest.fixture(scope="module")
def people_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return load_warehouse(
        tmp_path_factory.mktemp("people"), attempt_events(), states=STATES, orders=ORDERS
    )


def breakdown(db: Path, by: str, **settings: object) -> dict[str, list[int]]:
    chosen = {"window": HOUR, **settings}
    with open_warehouse(db) as wh:
        result = funnel_breakdown(wh, FunnelSettings(by=by, **chosen))  # type: ignore[arg-type]
    names = [s.event_type for s in result.steps]
    return {r["value"]: [r[n] for n in names] for r in result.rows.to_dicts()}


@pytest.mark.parametrize(
    ("by", "settings", "expected"),
    [
        # t's user has no row in users: (none); p's counted attempt enters at 14:00, the rest at 12
        (
            "state",
            {},
            {"Ohio": [3, 2, 2], "Texas": [2, 2, 2], "California": [1, 1, 1], "(none)": [1, 1, 1]},
        ),
        ("state", {"top": 2}, {"Ohio": [3, 2, 2], "Texas": [2, 2, 2], "Other": [2, 2, 2]}),
        (
            "region",
            {},
            {"Midwest": [3, 2, 2], "South": [2, 2, 2], "West": [1, 1, 1], "(none)": [1, 1, 1]},
        ),
        # U's first session is before its order, the second after: new, then returning
        ("customer", {}, {"new": [4, 3, 3], "returning": [2, 2, 2], "(none)": [1, 1, 1]}),
        ("weekday", {}, {"Wed": [6, 5, 5], "Fri": [1, 1, 1]}),
        ("hour", {}, {"12": [6, 5, 5], "14": [1, 1, 1]}),
        # the first entry only: p counts at its first view, at 12:00, and stops there
        ("hour", {"entry": "first"}, {"12": [7, 5, 5]}),
        (
            "state",
            {"unit": "user"},
            {"Ohio": [2, 2, 2], "Texas": [2, 2, 2], "California": [1, 1, 1], "(none)": [1, 1, 1]},
        ),
    ],
)
def test_breakdowns_read_the_counted_attempt_and_add_up(
    people_db: Path, by: str, settings: dict[str, object], expected: dict[str, list[int]]
) -> None:
    got = breakdown(people_db, by, **settings)
    assert got == expected
    total = counts(people_db, window=HOUR, **settings)
    assert [sum(column) for column in zip(*got.values(), strict=True)] == total


def test_lists_of_units_in_every_format(cli, people_db: Path) -> None:
    def listed(*args: str) -> list[dict[str, object]]:
        result = cli("--db", str(people_db), "funnel", "--window", "1h", "--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    # strict, 1h: p 3, q 3, r 2, s 3, t 1, u1 1, u2 3
    strict = ["--order", "strict"]
    assert [r["session_id"] for r in listed(*strict, "--list", "dropped@2")] == ["t", "u1"]
    assert [r["session_id"] for r in listed(*strict, "--list", "dropped@3")] == ["r"]
    reached = listed(*strict, "--list", "reached@3")
    # oldest entry first: s's counted attempt enters at its second view (10s), q's at 20s
    assert [r["session_id"] for r in reached] == ["s", "q", "p", "u2"]
    assert list(reached[0]) == ["session_id", "user_id", "entered_at", "furthest_step"]
    assert reached[2]["entered_at"] == "2021-02-10T14:00:00Z" and reached[2]["user_id"] == "u-p"
    users = listed(*strict, "--unit", "user", "--list", "reached@3")
    assert [(r["user_id"], r["session_id"]) for r in users][-1] == ("U", "u2")
    limited = cli(
        "--db",
        str(people_db),
        "funnel",
        "--window",
        "1h",
        *strict,
        "--list",
        "reached@3",
        "--limit",
        "1",
        "--format",
        "csv",
    )
    assert limited.stdout.splitlines()[1].startswith("s,u-s,2021-02-10T12:00:10Z,3")
    assert "1 of 4 sessions shown (--limit)" in limited.stderr
    table = cli("--db", str(people_db), "funnel", "--window", "1h", *strict, "--list", "dropped@2")
    assert "2 sessions dropped at step 2" in table.stdout and "u1" in table.stdout
    markdown = cli(
        "--db",
        str(people_db),
        "funnel",
        *strict,
        "--list",
        "dropped@2",
        "--window",
        "1h",
        "--format",
        "markdown",
    )
    assert "| t |" in markdown.stdout.replace("  ", " ")
    for bad in ("dropped@1", "reached@4", "gone@2"):
        refused = cli("--db", str(people_db), "funnel", "--list", bad)
        assert refused.exit_code == ExitCode.TOOL_ERROR and refused.stdout == "", bad


@pytest.fixture(scope="module")
def stock_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """p1 is out of stock from BASE - 1h and restocked at BASE + 60s; p2 sells out then."""
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot

    folder = tmp_path_factory.mktemp("stock")
    events = [
        event(1, "a", 0, "page_view", thing="p1"),  # p1 out of stock
        event(2, "a", 10, "add_to_cart", thing="p1"),
        event(3, "a", 20, "checkout", thing="o-a"),
        event(4, "b", 100, "page_view", thing="p1"),  # p1 back in stock
        event(5, "c", 30, "page_view", thing="p2"),  # p2 in stock
        event(6, "c", 40, "add_to_cart", thing="p2"),
        event(7, "c", 50, "checkout", thing="o-c"),
        event(8, "d", 200, "page_view", thing="p2"),  # p2 sold out
        event(9, "e", -7200, "page_view", thing="p1"),  # before the history begins
    ]
    db = load_warehouse(folder, events, order_items={"o-a": ["p1"], "o-c": ["p2"]})
    for at_, inventory in ((-3600, {"p1": 0, "p2": 5}), (60, {"p1": 3, "p2": 0})):
        states = folder / f"state{at_}"
        states.mkdir()
        with (states / "products.csv").open("w") as handle:
            handle.write("product_id,name,price,inventory\n")
            handle.writelines(f"{p},Plant {p},10.0,{n}\n" for p, n in inventory.items())
        take_snapshot(SnapshotSettings(db=db, source=str(states), at=at(at_)))
    return db


def test_by_product_splits_entries_by_the_stock_at_the_view(stock_db: Path) -> None:
    with open_warehouse(stock_db) as wh:
        result = funnel_by_product(wh, FunnelSettings())
    rows = {r["product_id"]: r for r in result.rows.to_dicts()}
    stock = [
        "viewed_out_of_stock",
        "converted_out_of_stock",
        "viewed_in_stock",
        "converted_in_stock",
        "viewed_stock_unknown",
    ]
    assert [rows["p1"][c] for c in ("viewed", "checked_out", *stock)] == [3, 1, 1, 1, 1, 0, 1]
    assert [rows["p2"][c] for c in ("viewed", "checked_out", *stock)] == [2, 1, 1, 0, 1, 1, 0]
    assert rows["p1"]["conversion_out_of_stock"] == 1.0 and rows["p1"]["conversion_in_stock"] == 0
    assert "1 of 5 product entries fall where the snapshot history" in result.notes[0]
    assert stock_summary(result) == (
        "2 session-product entries were views of a product the history shows out of stock; "
        "50.0% of them reached checkout, against 50.0% of the 2 in stock."
    )


def test_by_product_without_history_says_so_instead_of_zeros(cli, shop_db: Path) -> None:
    result = cli("--db", str(shop_db), "funnel", "--by", "product", "--format", "json")
    rows = json.loads(result.stdout)
    assert all(r["viewed_out_of_stock"] is None and r["conversion_in_stock"] is None for r in rows)
    assert "no snapshot history in the warehouse" in result.stderr
    top = cli("--db", str(shop_db), "funnel", "--by", "product", "--top", "2", "--format", "json")
    folded = json.loads(top.stdout)
    assert [r["name"] for r in folded][-1] == "Other (2 products)"
    assert sum(r["viewed"] for r in folded) == sum(r["viewed"] for r in rows)


# --- the real dataset: attempts, entry rules, lists and breakdowns, computed from the CSVs ---

STEP_OF = {"page_view": 1, "add_to_cart": 2, "checkout": 3}


def real_paths(real_data: Path) -> dict[str, list[tuple[datetime, float, str, str]]]:
    """Each session's events in tie order: (time, step or inf, event_id, event_type)."""
    paths: dict[str, list[tuple[datetime, float, str, str]]] = defaultdict(list)
    for r in read_csv(real_data / "raw" / "events.csv"):
        at_ = datetime.fromisoformat(r["created_at"].replace("Z", "+00:00"))
        step = STEP_OF.get(r["event_type"], float("inf"))
        paths[r["session_id"]].append((at_, step, r["event_id"], r["event_type"]))
    return {s: sorted(events) for s, events in paths.items()}


def strict_by_runs(path: list[tuple[datetime, float, str, str]], window: timedelta, first: bool):
    """Furthest strict step from the session's runs of same-step events: an attempt from a run
    of views goes on only if the next runs are a run of carts, then of checkouts."""
    runs: list[tuple[float, datetime, datetime]] = []  # (step, first time, last time)
    for at_, step, _id, _type in path:
        if runs and runs[-1][0] == step:
            runs[-1] = (step, runs[-1][1], at_)
        else:
            runs.append((step, at_, at_))
    best = 0
    for i, (step, first_at, last_at) in enumerate(runs):
        if step != 1:
            continue
        entry = first_at if first else last_at  # the latest view of a run has the latest deadline
        reached = 1
        for k in (2, 3):
            nxt = runs[i + k - 1] if i + k - 1 < len(runs) else None
            if nxt is None or nxt[0] != k or nxt[1] > entry + window:
                break
            reached = k
        best = max(best, reached)
        if first:
            break
    return best


def any_order_by_views(path, window: timedelta, first: bool) -> int:
    """Furthest step in mode any: some (or the first) view with a cart, and with a cart and a
    checkout, at or after it within the window."""
    views = [at_ for at_, step, _i, _t in path if step == 1]
    best = 0
    for v in views[:1] if first else views:
        inside = {step for at_, step, _i, _t in path if v <= at_ <= v + window}
        best = max(best, 3 if {2, 3} <= inside else 2 if 2 in inside else 1)
    return best


def tally(levels: list[int]) -> list[int]:
    return [sum(1 for level in levels if level >= k) for k in (1, 2, 3)]


@pytest.mark.parametrize("entry", ["every", "first"])
def test_real_strict_and_short_window_funnels_under_both_entry_rules(
    loaded_real_warehouse: Path, real_data: Path, entry: str
) -> None:
    paths = real_paths(real_data)
    first = entry == "first"
    for window in (timedelta(hours=24), timedelta(minutes=2)):
        strict = tally([strict_by_runs(p, window, first) for p in paths.values()])
        assert counts(loaded_real_warehouse, order="strict", window=window, entry=entry) == strict
    short = tally([any_order_by_views(p, timedelta(minutes=2), first) for p in paths.values()])
    got = counts(loaded_real_warehouse, window=timedelta(minutes=2), entry=entry)
    assert got == short
    if entry == "every":  # attempts see far more strict paths than the first view alone
        first_strict = tally([strict_by_runs(p, timedelta(hours=24), True) for p in paths.values()])
        assert strict[2] > 2 * first_strict[2]


def test_real_drop_lists_are_the_drop_offs(
    loaded_real_warehouse: Path, real_data: Path, cli
) -> None:
    sessions: dict[str, set[str]] = defaultdict(set)
    for r in read_csv(real_data / "raw" / "events.csv"):
        sessions[r["session_id"]].add(r["event_type"])
    viewed = {s for s, types in sessions.items() if "page_view" in types}
    carted = {s for s in viewed if "add_to_cart" in sessions[s]}
    checked = {s for s in carted if "checkout" in sessions[s]}

    def listed(which: str) -> list[dict[str, object]]:
        result = cli(
            "--db",
            str(loaded_real_warehouse),
            "funnel",
            "--list",
            which,
            "--limit",
            "100000",
            "--format",
            "json",
        )
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    with open_warehouse(loaded_real_warehouse) as wh:
        rows = funnel_by_step(wh, FunnelSettings()).rows.to_dicts()
    for which, expected, drop in (
        ("dropped@2", viewed - carted, rows[1]["drop_off"]),
        ("dropped@3", carted - checked, rows[2]["drop_off"]),
        ("reached@3", checked, rows[2]["count"]),
    ):
        got = listed(which)
        assert len(got) == drop == len(expected), which
        assert {r["session_id"] for r in got} == expected, which
    # per user over days, with a short window and the first entry only, the lists still match
    for entry in ("every", "first"):
        args = ["--unit", "user", "--window", "10m", "--entry", entry]
        steps = json.loads(
            cli(
                "--db", str(loaded_real_warehouse), "funnel", "--by-step", *args, "--format", "json"
            ).stdout
        )
        for k in (2, 3):
            result = cli(
                "--db",
                str(loaded_real_warehouse),
                "funnel",
                *args,
                "--list",
                f"dropped@{k}",
                "--limit",
                "100000",
                "--format",
                "json",
            )
            assert len(json.loads(result.stdout)) == steps[k - 1]["drop_off"], (entry, k)


def test_real_breakdowns_add_up_and_match_the_csvs(loaded_real_warehouse: Path, real_data: Path):
    states = {r["address_id"]: r["state"] for r in read_csv(real_data / "raw" / "addresses.csv")}
    user_state = {
        r["user_id"]: states.get(r["address_id"]) for r in read_csv(real_data / "raw" / "users.csv")
    }
    types: dict[str, set[str]] = defaultdict(set)
    session_user: dict[str, str] = {}
    for r in read_csv(real_data / "raw" / "events.csv"):
        types[r["session_id"]].add(r["event_type"])
        session_user[r["session_id"]] = r["user_id"]
    per_state: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for session, seen in types.items():
        if "page_view" not in seen:
            continue
        row = per_state[user_state.get(session_user[session]) or "(none)"]
        row[0] += 1
        row[1] += "add_to_cart" in seen
        row[2] += "add_to_cart" in seen and "checkout" in seen
    ranked = sorted(per_state.items(), key=lambda item: (-item[1][0], item[0]))
    expected = dict(ranked[:10])
    expected["Other"] = [sum(c[k] for _, c in ranked[10:]) for k in range(3)]
    assert breakdown(loaded_real_warehouse, "state", window=timedelta(hours=24)) == expected
    total = counts(loaded_real_warehouse)
    for by in ("state", "region", "customer", "weekday", "hour"):
        for unit in ("session", "user"):
            got = breakdown(loaded_real_warehouse, by, window=timedelta(hours=24), unit=unit)
            sums = [sum(column) for column in zip(*got.values(), strict=True)]
            assert sums == counts(loaded_real_warehouse, unit=unit), (by, unit)
    assert sum(v[0] for v in expected.values()) == total[0]


@pytest.mark.parametrize(
    ("given", "shown"),
    [("1w", "1w"), ("14d", "2w"), ("3d", "3d"), ("24h", "24h"), ("36h", "36h"), ("90m", "1h30m")],
)
def test_the_window_is_shown_as_a_user_would_write_it(given: str, shown: str) -> None:
    from greenery_cli.funnel import format_window
    from greenery_cli.parsing import parse_duration

    assert format_window(parse_duration(given)) == shown
    assert parse_duration(shown) == parse_duration(given)  # and it reads back as the same
