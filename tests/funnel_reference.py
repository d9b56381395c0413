"""For the funnel tests: tiny warehouses built through `greenery load`, and a plain-Python
reference funnel that follows docs/funnel.md one event at a time (no SQL)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import RAW_TABLES

STEPS = ("page_view", "add_to_cart", "checkout")  # seeds/funnel_steps.csv
BASE = datetime(2021, 2, 10, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    event_id: str
    session_id: str
    user_id: str
    at: datetime
    event_type: str
    product_id: str = ""
    order_id: str = ""


def event(
    n: int, session: str, seconds: int, event_type: str, *, user: str = "", thing: str = ""
) -> Event:
    """Event number n, `seconds` after BASE; `thing` is its product (views, carts) or order."""
    carries_order = event_type in ("checkout", "package_shipped")
    return Event(
        event_id=f"e{n:05d}",
        session_id=session,
        user_id=user or f"u-{session}",
        at=BASE + timedelta(seconds=seconds),
        event_type=event_type,
        product_id="" if carries_order else (thing or "p1"),
        order_id=(thing or f"o-{session}") if carries_order else "",
    )


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_exports(
    folder: Path,
    events: list[Event],
    order_items: dict[str, list[str]] | None = None,
    products: list[str] | None = None,
    states: dict[str, str] | None = None,
    orders: dict[str, tuple[str, datetime]] | None = None,
) -> Path:
    """The seven raw CSV exports, with just enough rows for the events given; `states` gives
    users (user_id -> the state of their address), `orders` orders (order_id -> user, time)."""
    folder.mkdir(parents=True, exist_ok=True)
    order_items = order_items or {}
    products = sorted(
        set(products or ())
        | {e.product_id for e in events if e.product_id}
        | {p for items in order_items.values() for p in items}
    )
    rows: dict[str, list[list[str]]] = {t.name: [] for t in RAW_TABLES}
    rows["products"] = [[p, f"Plant {p}", "10.0", "5"] for p in products]
    rows["order_items"] = [[o, p, "1"] for o, items in order_items.items() for p in items]
    for user, state in (states or {}).items():
        rows["addresses"].append([f"a-{user}", "1 Main St", "10001", state, "United States"])
        created = _iso(BASE - timedelta(days=365))
        rows["users"].append([user, "A", "B", f"{user}@x.com", "", created, created, f"a-{user}"])
    for order, (user, placed) in (orders or {}).items():
        rows["orders"].append(
            [
                order,
                user,
                "",
                f"a-{user}",
                _iso(placed),
                "10",
                "1",
                "11",
                "",
                "",
                "",
                "",
                "preparing",
            ]
        )
    rows["events"] = [
        [
            e.event_id,
            e.session_id,
            e.user_id,
            f"https://greenery.com/{e.event_type}",
            _iso(e.at),
            e.event_type,
            e.order_id,
            e.product_id,
        ]
        for e in events
    ]
    for table in RAW_TABLES:
        with (folder / f"{table.name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(list(table.columns))
            writer.writerows(rows[table.name])
    return folder


def load_warehouse(folder: Path, events: list[Event], **exports: object) -> Path:
    """Write the exports into folder/raw and run `greenery load` into folder/w.duckdb."""
    from greenery_cli.load import LoadSettings, load

    source = write_exports(folder / "raw", events, **exports)  # type: ignore[arg-type]
    db = folder / "w.duckdb"
    load(LoadSettings(db=db, source=str(source)))
    return db


# --- the reference funnel ---


@dataclass(frozen=True)
class Exclusion:
    """`--exclude EVENT_TYPE@first-last`: that event between steps first and last stops an
    attempt."""

    event_type: str
    first: int
    last: int


def step_of(event_type: str) -> int | None:
    return STEPS.index(event_type) + 1 if event_type in STEPS else None


def tie_order(e: Event) -> tuple[datetime, float, str]:
    """Same second: funnel step order, events outside the funnel last, then event_id."""
    step = step_of(e.event_type)
    return (e.at, step if step is not None else float("inf"), e.event_id)


def _blocked(
    path: list[Event], after: int, before: int, stage: int, exclusions: tuple[Exclusion, ...]
) -> bool:
    """An excluded event strictly between path positions `after` and `before`, while the attempt
    stands at step `stage` (so an exclusion first-last applies when first <= stage < last)."""
    types = {x.event_type for x in exclusions if x.first <= stage < x.last}
    return any(e.event_type in types for e in path[after + 1 : before])


def attempt_times(
    path: list[Event],
    start: int,
    mode: str,
    window: timedelta,
    exclusions: tuple[Exclusion, ...] = (),
) -> list[datetime]:
    """One attempt entering at path[start]: the time it reached each step (index 0 = entering)."""
    entered = path[start].at
    deadline = entered + window
    times = [entered]
    if mode == "any":
        # each step's first event at or after entering, inside the window; a stage is complete
        # at the latest of the events that completed it
        completed_at = start
        for k in range(2, len(STEPS) + 1):
            found = [
                i
                for i, e in enumerate(path)
                if step_of(e.event_type) == k and entered <= e.at <= deadline
            ]
            if not found:
                break
            position = max(completed_at, found[0])
            if _blocked(path, completed_at, position, k - 1, exclusions):
                break
            completed_at = position
            times.append(path[found[0]].at)
    elif mode == "ordered":
        position = start
        for k in range(2, len(STEPS) + 1):
            found = [
                i
                for i, e in enumerate(path)
                if step_of(e.event_type) == k and times[-1] <= e.at <= deadline
            ]
            if not found or _blocked(path, position, found[0], k - 1, exclusions):
                break
            position = found[0]
            times.append(path[position].at)
    elif mode == "strict":
        current = 1
        for e in path[start + 1 :]:
            step = step_of(e.event_type)
            if step == current:  # a repeat of the step just reached
                continue
            if step == current + 1 and e.at <= deadline:
                current = step
                times.append(e.at)
                if current == len(STEPS):
                    break
                continue
            break  # any other event (an excluded one too) breaks a strict funnel
    else:
        raise ValueError(mode)
    return times


def reached_times(
    events: list[Event],
    mode: str,
    window: timedelta,
    since: datetime | None = None,
    until: datetime | None = None,
    entry: str = "every",
    exclusions: tuple[Exclusion, ...] = (),
) -> list[datetime] | None:
    """The unit's counted attempt: the one reaching the furthest step, the earliest of those
    (Amplitude's "earliest, longest"); its time at each step, or None if it never entered."""
    attempt = counted_attempt(events, mode, window, since, until, entry, exclusions)
    return attempt[1] if attempt else None


def counted_attempt(
    events: list[Event],
    mode: str,
    window: timedelta,
    since: datetime | None = None,
    until: datetime | None = None,
    entry: str = "every",
    exclusions: tuple[Exclusion, ...] = (),
) -> tuple[Event, list[datetime]] | None:
    """(entering event, step times) of the unit's counted attempt; None if it never entered.
    entry "every": any step-1 event with since <= time < until starts an attempt; "first": only
    the first of them does."""
    path = sorted(events, key=tie_order)
    starts = [
        i
        for i, e in enumerate(path)
        if step_of(e.event_type) == 1
        and (since is None or e.at >= since)
        and (until is None or e.at < until)
    ]
    if entry == "first":
        starts = starts[:1]
    best: tuple[Event, list[datetime]] | None = None
    for start in starts:  # in path order: a later attempt must go further to replace one
        times = attempt_times(path, start, mode, window, exclusions)
        if best is None or len(times) > len(best[1]):
            best = (path[start], times)
    return best


def units_of(events: list[Event], unit: str) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        grouped[e.session_id if unit == "session" else e.user_id].append(e)
    return grouped


def reference_counts(
    events: list[Event],
    mode: str,
    unit: str,
    window: timedelta,
    since: datetime | None = None,
    until: datetime | None = None,
    entry: str = "every",
    exclusions: tuple[Exclusion, ...] = (),
) -> list[int]:
    """How many units reached each step."""
    counts = [0] * len(STEPS)
    for unit_events in units_of(events, unit).values():
        times = reached_times(unit_events, mode, window, since, until, entry, exclusions)
        for k in range(len(times or [])):
            counts[k] += 1
    return counts


def reference_attempts(
    events: list[Event],
    mode: str,
    unit: str,
    window: timedelta,
    entry: str = "every",
    exclusions: tuple[Exclusion, ...] = (),
) -> dict[str, tuple[Event, list[datetime]]]:
    """Per unit that entered: its counted attempt (entering event, step times)."""
    found = {}
    for name, unit_events in units_of(events, unit).items():
        attempt = counted_attempt(unit_events, mode, window, None, None, entry, exclusions)
        if attempt is not None:
            found[name] = attempt
    return found


def product_events(events: list[Event], order_items: dict[str, list[str]]) -> list[Event]:
    """One event per product it concerns: checkouts count for each product in their order;
    events outside the funnel (which an exclusion may name) concern every product."""
    products = sorted({e.product_id for e in events if step_of(e.event_type) == 1})
    expanded = []
    for e in events:
        if step_of(e.event_type) is None:
            concerned = products
        else:
            concerned = [e.product_id] if e.product_id else order_items.get(e.order_id, [])
        for product in concerned:
            expanded.append(
                Event(e.event_id, e.session_id, e.user_id, e.at, e.event_type, product, e.order_id)
            )
    return expanded


def reference_by_product(
    events: list[Event],
    order_items: dict[str, list[str]],
    mode: str,
    unit: str,
    window: timedelta,
    entry: str = "every",
    exclusions: tuple[Exclusion, ...] = (),
) -> dict[str, list[int]]:
    """Per product: units reaching each step for that product."""
    per_product: dict[str, list[Event]] = defaultdict(list)
    for e in product_events(events, order_items):
        per_product[e.product_id].append(e)
    return {
        product: reference_counts(
            product_evs, mode, unit, window, entry=entry, exclusions=exclusions
        )
        for product, product_evs in per_product.items()
        if any(step_of(e.event_type) == 1 for e in product_evs)
    }
