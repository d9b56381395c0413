"""Moments and ages in words: the formats the page and the terminal share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from greenery_cli.timewords import (
    age_in_words,
    day_in_words,
    limit_in_words,
    moment_in_words,
    span_in_words,
    took_in_words,
)

MINUTE, HOUR, DAY = 60, 3600, 86400


def test_moments_read_as_a_person_says_them_in_utc() -> None:
    assert moment_in_words(datetime(2024, 10, 22, 6, 0, tzinfo=UTC)) == "Tue 22 Oct 2024, 06:00 UTC"
    assert (
        moment_in_words(datetime(2021, 3, 1, 23, 59, 59)) == "Mon 1 Mar 2021, 23:59 UTC"
    )  # naive = UTC
    # another zone's moment is said in UTC: 01:30 at +05:30 is 20:00 the day before
    india = timezone(timedelta(hours=5, minutes=30))
    assert (
        moment_in_words(datetime(2024, 1, 1, 1, 30, tzinfo=india)) == "Sun 31 Dec 2023, 20:00 UTC"
    )
    assert day_in_words(datetime(2024, 2, 29, tzinfo=UTC)) == "Thu 29 Feb 2024"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "just now"),
        (45, "45 s ago"),
        (60, "1 min ago"),
        (25 * MINUTE + 59, "25 min ago"),
        (HOUR, "1 h ago"),
        (3 * HOUR + 59 * MINUTE, "3 h ago"),
        (71 * HOUR, "71 h ago"),  # hours up to 3 days, so an age near a 2d limit compares in h
        (72 * HOUR, "3 days ago"),
        (DAY * 12.9, "12 days ago"),
        (DAY * 89, "89 days ago"),
        (DAY * 90, "2 months ago"),
        (DAY * 700, "22 months ago"),
        (DAY * 365.25 * 5.8, "5 years ago"),
        (-3 * HOUR, "3 h ahead"),
        (None, "never"),
    ],
)
def test_ages_round_down_to_one_unit(seconds: float | None, words: str) -> None:
    assert age_in_words(seconds) == words


def test_one_of_a_unit_is_singular() -> None:
    assert span_in_words(DAY * 3) == "3 days" and span_in_words(DAY * 365.25 * 2) == "2 years"
    assert limit_in_words(DAY) == "1 day"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (2 * DAY, "2 days"),
        (DAY, "1 day"),
        (36 * HOUR, "36 h"),
        (10.5 * DAY, "10.5 days"),
        (7 * DAY, "7 days"),
        (90 * MINUTE, "90 min"),
        (12 * HOUR, "12 h"),
        (30, "30 s"),
    ],
)
def test_limits_are_said_exactly(seconds: float, words: str) -> None:
    assert limit_in_words(seconds) == words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, ""),
        (0.004, "< 0.01 s"),
        (0.046, "0.05 s"),
        (2.34, "2.3 s"),
        (42.4, "42 s"),
        (125, "2 min 05 s"),
        (3 * HOUR + 7 * MINUTE, "3 h 07 min"),
    ],
)
def test_build_durations_read_for_people(seconds: float | None, words: str) -> None:
    assert took_in_words(seconds) == words
