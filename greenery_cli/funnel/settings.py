"""What a funnel question counts: its settings, their parsers, and the result it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError
from greenery_cli.parsing import Before

if TYPE_CHECKING:
    from greenery_cli.rows import Rows

ORDERS = ("any", "ordered", "strict")
UNITS = ("session", "user")
ENTRIES = ("every", "first")
PERIODS = ("day", "week")
LIST_KINDS = ("dropped", "reached")
DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_TOP = 10
DEFAULT_LIST_LIMIT = 20


@dataclass(frozen=True)
class Exclusion:
    """`--exclude EVENT_TYPE[@FIRST-LAST]`: an attempt with that event after it reached step
    FIRST and before it reached step LAST cannot advance (default: anywhere in the funnel)."""

    event_type: str
    first: int = 1
    last: int | None = None  # None: the last step

    def label(self, n_steps: int) -> str:
        return f"{self.event_type} between steps {self.first} and {self.last or n_steps}"


@dataclass(frozen=True)
class UnitList:
    """`--list dropped@K` (reached step K-1 but not K) or `--list reached@K`, `--limit N`."""

    kind: str  # dropped | reached
    step: int
    limit: int = DEFAULT_LIST_LIMIT


@dataclass(frozen=True)
class FunnelSettings:
    order: str = "any"  # any | ordered | strict
    window: timedelta = DEFAULT_WINDOW  # from the attempt's entering event, in every mode
    unit: str = "session"  # session | user
    # entering events at or after / before (UTC); a Before (`--since 7d`) counts back from the
    # latest event and is resolved by `resolved()` once the warehouse is open
    since: datetime | Before | None = None
    until: datetime | Before | None = None
    period: str = "day"  # --trend: day | week
    entry: str = "every"  # every: any step-1 event starts an attempt; first: only the first
    exclusions: tuple[Exclusion, ...] = ()
    by: str | None = None  # --by PROPERTY (a breakdown; product has its own question)
    top: int | None = None  # breakdown values shown before "Other" (None: the default)
    listing: UnitList | None = None  # --list

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise UsageError(f"--order {self.order}: choose one of {', '.join(ORDERS)}")
        if self.unit not in UNITS:
            raise UsageError(f"--unit {self.unit}: choose one of {', '.join(UNITS)}")
        if self.entry not in ENTRIES:
            raise UsageError(f"--entry {self.entry}: choose one of {', '.join(ENTRIES)}")
        if self.period not in PERIODS:
            raise UsageError(f"--trend {self.period}: choose one of {', '.join(PERIODS)}")
        if self.window <= timedelta(0):
            raise UsageError("--window must be longer than zero")
        since, until = self.since, self.until
        if isinstance(since, datetime) and isinstance(until, datetime) and since >= until:
            raise UsageError("--since must be before --until")
        if self.top is not None and self.top < 1:
            raise UsageError("--top must be at least 1")


@dataclass(frozen=True)
class FunnelStep:
    step: int
    event_type: str
    label: str


@dataclass(frozen=True)
class FunnelResult:
    """Rows of one funnel question and what was counted to get them."""

    question: str
    rows: Rows
    settings: FunnelSettings
    steps: tuple[FunnelStep, ...]
    data_ends_at: datetime | None = None  # the latest event in the warehouse
    notes: list[str] = field(default_factory=list)
    total: int | None = None  # --list: the units matching before --limit

    @property
    def counted(self) -> str:
        """One line saying mode, window, unit, entry, exclusions and filters: every output
        states it."""
        s = self.settings
        parts = [
            f"mode {s.order}",
            f"window {format_window(s.window)}",
            f"unit {s.unit}",
            f"entry {s.entry} step-1 event",  # the step's label is the reader's, not ours
        ]
        parts += [f"excluding {x.label(len(self.steps))}" for x in s.exclusions]
        if isinstance(s.since, datetime):
            parts.append(f"entering from {iso(s.since)}")
        if isinstance(s.until, datetime):
            parts.append(f"entering before {iso(s.until)}")
        return "counted: " + ", ".join(parts)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_window(window: timedelta) -> str:
    """The window as --window takes it: whole weeks as weeks (7 days: 1w, not 168h) and two or
    more whole days as days (3d), else hours, minutes and seconds (24h, 1h30m)."""
    seconds = int(window.total_seconds())
    week, day = 7 * 86400, 86400
    if seconds and seconds % week == 0:
        return f"{seconds // week}w"
    if seconds >= 2 * day and seconds % day == 0:
        return f"{seconds // day}d"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


_EXCLUSION = re.compile(r"([A-Za-z0-9_.:-]+)(?:@(\d+)-(\d+))?")


def parse_exclusion(text: str) -> Exclusion:
    """'package_shipped' or 'package_shipped@2-3' -> an Exclusion (steps checked later)."""
    found = _EXCLUSION.fullmatch(text.strip())
    if not found:
        raise UsageError(
            f"--exclude {text!r}: write EVENT_TYPE or EVENT_TYPE@FIRST-LAST, e.g. "
            "package_shipped@1-3"
        )
    event_type, first, last = found.groups()
    if first is None:
        return Exclusion(event_type)
    if int(first) < 1 or int(first) >= int(last):
        raise UsageError(f"--exclude {text!r}: FIRST must be at least 1 and before LAST")
    return Exclusion(event_type, int(first), int(last))


_LISTING = re.compile(r"(dropped|reached)@(\d+)")


def parse_list(text: str, limit: int = DEFAULT_LIST_LIMIT) -> UnitList:
    """'dropped@3' or 'reached@2' -> a UnitList (the step is checked against the funnel later)."""
    found = _LISTING.fullmatch(text.strip().lower())
    if not found:
        raise UsageError(f"--list {text!r}: write dropped@K or reached@K, e.g. dropped@3")
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    return UnitList(found.group(1), int(found.group(2)), limit)
