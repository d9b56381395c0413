"""One parser per concept: a duration, a moment and a point of history, as every option and
project file writes them (docs/options.md is the user's page for this grammar).

Durations: a number and a unit, repeated: `90s`, `30m`, `2h`, `1d12h`, `2w`, `1.5d` (w d h m s).
Moments: ISO-8601 with an offset or `Z`; without one it is UTC; a bare date `2024-10-22` is the
start of that UTC day (00:00:00Z), in every command. Where an option takes a moment it also
takes a duration, meaning that long before the latest data (`--since 7d`): the latest snapshot
run for the inventory questions, the latest event for the funnel. Where snapshot runs are meant
(`--from`, `--to`), a bare whole number is a run id.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from greenery_cli.errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOOKS_LIKE_DURATION = re.compile(r"[\d.\s]+[a-z][a-z\d.\s]*", re.IGNORECASE)
DURATION_HINT = "write a duration like 90s, 30m, 2h, 1d12h or 2w"
EXACT_HINT = "write an ISO-8601 date or time (2024-10-22 = 00:00 UTC, 2024-10-22T06:00:00Z)"
MOMENT_HINT = f"{EXACT_HINT}, or a duration before the latest data (7d)"
POINT_HINT = f"write a snapshot run id (3), {MOMENT_HINT.removeprefix('write ')}"


class Before(NamedTuple):
    """A moment written as a duration: that long before the latest data (`--since 7d`)."""

    duration: timedelta
    text: str

    def resolve(self, latest: datetime) -> datetime:
        return latest - self.duration

    def __str__(self) -> str:
        return f"{self.text} before the latest data"


When = datetime | Before  # what a --since/--until/--at option holds
Point = int | datetime | Before  # where snapshot runs are meant: a run id, too


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '2h', '1d12h', '2w' -> a positive timedelta; anything else is refused."""
    compact = str(text).strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise UsageError(f"{text!r} is not a duration: {DURATION_HINT}")
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise UsageError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The canonical spelling: 1d12h, 30m, 90s -> 1m30s."""
    seconds = int(value.total_seconds())
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _SECONDS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_moment(text: str) -> datetime:
    """An ISO-8601 date or date-time as a UTC moment (no offset = UTC; a date = its 00:00 UTC)."""
    value = str(text).strip()
    try:
        if _BARE_DATE.fullmatch(value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", value))
    except ValueError:
        raise UsageError(f"{text!r} is not a moment: {EXACT_HINT}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_when(text: str) -> When:
    """A moment, or a duration meaning that long before the latest data."""
    value = str(text).strip()
    try:
        if _LOOKS_LIKE_DURATION.fullmatch(value) and not value.isdigit():
            return Before(parse_duration(value), value)
        return parse_moment(value)
    except UsageError:
        raise UsageError(f"{text!r} is not a moment: {MOMENT_HINT}") from None


def parse_point(text: str) -> Point:
    """A snapshot run id (a whole number), else as parse_when."""
    value = str(text).strip()
    if value.isdigit():
        return int(value)
    try:
        return parse_when(value)
    except UsageError:
        raise UsageError(f"{text!r} is not a point of history: {POINT_HINT}") from None


def resolve_when(value: When, latest: datetime) -> datetime:
    """The moment itself, or `latest - duration`."""
    return value.resolve(latest) if isinstance(value, Before) else value
