"""One parser per concept: a duration and a moment, as every option and project file writes them.

Durations: a number and a unit, repeated: `90s`, `30m`, `2h`, `1d12h`, `2w` (w d h m s).
Moments: ISO-8601 with an offset or `Z`; without one it is UTC; a bare date `2024-10-22` is the
start of that UTC day (00:00:00Z).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from greenery_cli.errors import UsageError

_PART = re.compile(r"(\d+)([wdhms])")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DURATION_HINT = "write a duration like 90s, 30m, 2h, 1d12h or 2w"
MOMENT_HINT = "write an ISO-8601 date or time, e.g. 2024-10-22 or 2024-10-22T06:00:00Z"


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '2h', '1d12h', '2w' -> a positive timedelta; anything else is refused."""
    compact = str(text).strip().lower().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise UsageError(f"{text!r} is not a duration: {DURATION_HINT}")
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(compact))
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
        raise UsageError(f"{text!r} is not a moment: {MOMENT_HINT}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
