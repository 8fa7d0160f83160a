"""Honest periods: like-for-like comparisons, today's partial day apart, clipping to the data
with the answer saying so, and every way to say a period (one declaration, `PERIODS`)."""

from __future__ import annotations

from datetime import date

import pytest

from core.costs.periods import (
    PERIODS,
    data_through,
    match_period,
    parse_period,
    periods_help,
    resolve_period,
)
from core.kernel.errors import UserInputError

TODAY = date(2026, 11, 27)  # a Friday


def span(period) -> tuple[str, str] | None:
    return None if period is None else (period.start.isoformat(), period.end.isoformat())


@pytest.mark.parametrize(
    ("token", "today", "current", "previous", "partial"),
    [
        # Rolling periods end yesterday and compare with the days just before.
        ("7d", TODAY, ("2026-11-20", "2026-11-26"), ("2026-11-13", "2026-11-19"), None),
        # Today apart: the month's complete days against the same days of the month before.
        (
            "mtd",
            TODAY,
            ("2026-11-01", "2026-11-26"),
            ("2026-10-01", "2026-10-26"),
            ("2026-11-27", "2026-11-27"),
        ),
        (
            "mtd",
            date(2026, 3, 31),
            ("2026-03-01", "2026-03-30"),
            ("2026-02-01", "2026-02-28"),
            ("2026-03-31", "2026-03-31"),
        ),
        # A whole month against the whole month before.
        (
            "last-month",
            date(2026, 1, 15),
            ("2025-12-01", "2025-12-31"),
            ("2025-11-01", "2025-11-30"),
            None,
        ),
        (
            "ytd",
            date(2028, 2, 29),
            ("2028-01-01", "2028-02-28"),
            ("2027-01-01", "2027-02-28"),
            ("2028-02-29", "2028-02-29"),
        ),
        (
            "this-week",
            TODAY,
            ("2026-11-23", "2026-11-26"),
            ("2026-11-16", "2026-11-19"),
            ("2026-11-27", "2026-11-27"),
        ),
        ("last-week", TODAY, ("2026-11-16", "2026-11-22"), ("2026-11-09", "2026-11-15"), None),
        (
            "this-quarter",
            TODAY,
            ("2026-10-01", "2026-11-26"),
            ("2026-07-01", "2026-08-26"),
            ("2026-11-27", "2026-11-27"),
        ),
        (
            "last-quarter",
            TODAY,
            ("2026-07-01", "2026-09-30"),
            ("2026-04-01", "2026-06-30"),
            None,
        ),
        ("yesterday", TODAY, ("2026-11-26", "2026-11-26"), ("2026-11-25", "2026-11-25"), None),
        ("2026-10", TODAY, ("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-09-30"), None),
        (
            "2026-01-01..2026-01-31",
            TODAY,
            ("2026-01-01", "2026-01-31"),
            ("2025-12-01", "2025-12-31"),
            None,
        ),
    ],
)
def test_each_period_and_what_it_is_compared_with(token, today, current, previous, partial):
    pair = parse_period(token, today)
    assert span(pair.current) == current
    assert span(pair.previous) == previous
    assert span(pair.partial) == partial
    assert pair.comparison  # the card says how it compared


def test_the_first_of_the_month_has_only_todays_partial_day_and_compares_nothing():
    pair = parse_period("mtd", date(2026, 12, 1))
    assert span(pair.current) == ("2026-12-01", "2026-12-01")
    assert pair.partial_only and pair.previous is None
    assert "still being reported" in " ".join(pair.notes)


def test_a_range_past_the_data_is_clipped_and_compared_with_as_many_days():
    pair = resolve_period("2026-11-15..2026-12-31", TODAY).plan(
        TODAY, date(2026, 9, 4), date(2026, 11, 27)
    )
    assert span(pair.current) == ("2026-11-15", "2026-11-26")  # 12 days of complete data
    assert span(pair.previous) == ("2026-11-03", "2026-11-14")  # 12 days, not 47
    assert span(pair.partial) == ("2026-11-27", "2026-11-27")
    assert "clipped to the data: data through 2026-11-26" in pair.notes


def test_a_range_before_the_data_is_clipped_and_says_where_the_data_starts():
    pair = resolve_period("2026-09-01..2026-09-30", TODAY).plan(
        TODAY, date(2026, 9, 4), date(2026, 11, 27)
    )
    assert span(pair.current) == ("2026-09-04", "2026-09-30")
    assert "clipped to the data: data starts 2026-09-04" in pair.notes
    # The 27 days before lie before the data: no comparison at all rather than a -100%.
    assert pair.previous is None
    assert any(n.startswith("no comparison") for n in pair.notes)


def test_ytd_before_the_data_starts_says_so_instead_of_zeros():
    pair = resolve_period("ytd", TODAY).plan(TODAY, date(2026, 9, 4), date(2026, 11, 27))
    assert span(pair.current) == ("2026-09-04", "2026-11-26")
    assert pair.previous is None
    assert "clipped to the data: data starts 2026-09-04" in pair.notes


def test_lagging_data_moves_data_through_and_the_days_after_it_are_partial():
    assert data_through(TODAY, date(2026, 11, 24)) == date(2026, 11, 24)
    assert data_through(TODAY, TODAY) == date(2026, 11, 26)  # today is never complete
    assert data_through(TODAY, None) == date(2026, 11, 26)
    pair = resolve_period("mtd", TODAY).plan(TODAY, date(2026, 9, 4), date(2026, 11, 24))
    assert span(pair.current) == ("2026-11-01", "2026-11-24")
    assert span(pair.previous) == ("2026-10-01", "2026-10-24")
    assert span(pair.partial) == ("2026-11-25", "2026-11-27")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("2027-01-01..2027-01-31", "in the future"),
        ("2026-12", "in the future"),
        ("2020-01-01..2026-01-01", "more than"),
        ("400d", "out of range"),
    ],
)
def test_impossible_periods_are_refused_with_a_hint(token, message):
    with pytest.raises(UserInputError, match=message) as info:
        resolve_period(token, TODAY)
    assert info.value.hint or info.value.accepted


def test_a_period_wholly_before_the_data_is_refused_with_where_the_data_starts():
    with pytest.raises(UserInputError, match="data starts 2026-09-04") as info:
        resolve_period("2026-08", TODAY).plan(TODAY, date(2026, 9, 4), TODAY)
    assert "cloudoptima ingest --since" in info.value.hint


@pytest.mark.parametrize(
    ("words", "token", "taken"),
    [
        ("yesterday", "yesterday", 1),
        ("this week", "this-week", 2),
        ("last week", "last-week", 2),
        ("this month", "mtd", 2),
        ("last month", "last-month", 2),
        ("this quarter", "this-quarter", 2),
        ("last quarter", "last-quarter", 2),
        ("30 days", "30d", 2),
        ("last 30 days", "30d", 3),
        ("2026-11-01 to 2026-11-30", "2026-11-01..2026-11-30", 3),
        ("november", "2026-11", 1),
        ("December", "2025-12", 1),  # the latest December that has begun
        ("2026-11", "2026-11", 1),
        ("mtd", "mtd", 1),
        ("LastMonth", "last-month", 1),
    ],
)
def test_every_way_to_say_a_period_has_one_canonical_token(words, token, taken):
    assert match_period(words.split(), 0, TODAY) == (token, taken)
    assert resolve_period(token, TODAY).token == token  # buttons carry it as is


def test_the_help_lists_every_declared_period():
    listed = "\n".join(periods_help())
    for term in PERIODS:
        assert (term.form or term.word) in listed
    assert "`this week`" in listed and "`last N days`" in listed
