"""Moments and ages as a reader says them: `Tue 22 Oct 2024, 06:00 UTC`, `3 h ago`, `12 days ago`.

One formatter per idea, shared by the HTML page and the terminal views. Always UTC (the
warehouse's time), always English names (never the machine's locale or time zone).
"""

from __future__ import annotations

from datetime import UTC, datetime

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_MONTH = 30.436875 * _DAY  # a Gregorian year / 12
_YEAR = 365.2425 * _DAY


def _utc(value: datetime) -> datetime:
    """Naive times are the warehouse's, which are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day_in_words(value: datetime) -> str:
    """`Tue 22 Oct 2024` (the UTC day)."""
    at = _utc(value)
    return f"{_WEEKDAYS[at.weekday()]} {at.day} {_MONTHS[at.month - 1]} {at.year}"


def moment_in_words(value: datetime) -> str:
    """`Tue 22 Oct 2024, 06:00 UTC`: to the minute, in UTC."""
    at = _utc(value)
    return f"{day_in_words(at)}, {at:%H:%M} UTC"


def short_day(value: datetime) -> str:
    """`22 Oct`: an axis tick, where the year is said elsewhere."""
    at = _utc(value)
    return f"{at.day} {_MONTHS[at.month - 1]}"


def _count(amount: float, unit: str, plural: str | None = None) -> str:
    whole = int(amount)
    return f"{whole:,} {unit if whole == 1 else (plural or unit)}"


def span_in_words(seconds: float) -> str:
    """How long, rounded down to one unit: `45 s`, `25 min`, `3 h`, `12 days`, `5 months`,
    `3 years`. Hours run to 72 and days to 90, so a limit of `2d` and an age near it compare in
    the same unit."""
    seconds = abs(seconds)
    if seconds < _MINUTE:
        return _count(seconds, "s")
    if seconds < _HOUR:
        return _count(seconds / _MINUTE, "min")
    if seconds < 72 * _HOUR:
        return _count(seconds / _HOUR, "h")
    if seconds < 90 * _DAY:
        return _count(seconds / _DAY, "day", "days")
    if seconds < 2 * _YEAR:
        return _count(seconds / _MONTH, "month", "months")
    return _count(seconds / _YEAR, "year", "years")


def age_in_words(seconds: float | None) -> str:
    """An age: `3 h ago`, `12 days ago`; a moment ahead of the clock is `3 h ahead`."""
    if seconds is None:
        return "never"
    if abs(seconds) < 1:
        return "just now"
    return f"{span_in_words(seconds)} {'ago' if seconds >= 0 else 'ahead'}"


def limit_in_words(seconds: float) -> str:
    """A declared limit, exactly: `2 days`, `10.5 days`, `36 h`, `90 min`, `30 s` (the largest
    unit that divides it; half days from 3 days up)."""
    whole = round(seconds)
    if whole and whole % _DAY == 0:
        return _count(whole / _DAY, "day", "days")
    if whole >= 72 * _HOUR and whole % (_DAY // 2) == 0:
        return f"{whole / _DAY:,.1f} days"
    if whole and whole % _HOUR == 0:
        return _count(whole / _HOUR, "h")
    if whole and whole % _MINUTE == 0:
        return _count(whole / _MINUTE, "min")
    return _count(whole, "s")


def took_in_words(seconds: float | None) -> str:
    """How long a build took: `0.04 s`, `2.3 s`, `2 min 05 s`."""
    if seconds is None:
        return ""
    if seconds < 0.01:
        return "< 0.01 s"
    if seconds < 10:
        return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < _MINUTE:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), _MINUTE)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
