"""The command grammar: specific errors for bad input, never an unexpected exception."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.app import create_core
from core.costs.grammar import parse_costs_args as parse_costs_words
from core.costs.model import CostsConfig, CostType, DimensionKind, FilterKind
from core.kernel.cards import Severity, Visibility
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from core.kernel.errors import UserInputError
from core.kernel.grammar import parse

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def parse_costs_args(args, today=None, **config):
    """The costs grammar with the feature's settings (defaults unless given)."""
    return parse_costs_words(args, today or NOW.date(), CostsConfig(**config))


def test_empty_input_means_help():
    assert parse("").name == "help"
    assert parse("   ").name == "help"


def test_leading_slash_command_and_flags_are_understood():
    cmd = parse('/optima costs 7d by rg rg:"my group" --public')
    assert cmd.name == "costs"
    assert cmd.args == ("7d", "by", "rg", "rg:my group")
    assert cmd.public


def test_smart_quotes_from_chat_apps_count_as_quotes():
    assert parse("costs rg:“my group”").args == ("rg:my group",)


def test_an_unclosed_quote_is_a_user_error():
    with pytest.raises(UserInputError, match="quote is not closed"):
        parse('costs rg:"oops')


def test_a_bad_flag_is_a_user_error():
    with pytest.raises(UserInputError, match="not a valid flag"):
        parse("costs --Évil")


def test_costs_defaults_to_30_days_by_service():
    query = parse_costs_args(()).query
    assert query.dimension.kind is DimensionKind.SERVICE
    assert (query.periods.current.start, query.periods.current.end) == (
        date(2026, 10, 28),
        date(2026, 11, 26),
    )
    assert (query.periods.previous.start, query.periods.previous.end) == (
        date(2026, 9, 28),
        date(2026, 10, 27),
    )
    assert query.cost_type is CostType.ACTUAL and query.top_n == 10


def test_costs_words_in_any_order():
    query = parse_costs_args(
        ("sub:Production", "by", "tag:Team", "mtd", "top", "5", "amortized")
    ).query
    assert query.dimension.kind is DimensionKind.TAG and query.dimension.tag_key == "team"
    assert query.filters[0].kind is FilterKind.SUBSCRIPTION
    assert query.periods.current.start == date(2026, 11, 1)
    assert query.top_n == 5 and query.cost_type is CostType.AMORTIZED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("by",), "'by' needs a dimension"),
        (("by", "colour"), "not a dimension I can group by"),
        (("42x",), "don't understand '42x'"),
        (("400d",), "out of range"),
        (("7d", "30d"), "Two periods"),
        (("top", "0"), "out of range"),
        (("top", "many"), "needs a number"),
        (("top", "٣"), "needs a number"),
        (("tag:env",), "ambiguous"),
        (("tag:env=",), "tag:<key>=<value>"),
        (("planet:mars",), "not a filter I know"),
        (("2026-02-01..2026-01-01",), "ends before it starts"),
        (("2027-01-01..2027-01-31",), "in the future"),
        (("2026-13-01..2026-13-05",), "does not exist"),
        (("asof:yesterday",), "needs a date"),
        (("asof:2026-12-01",), "in the future"),
    ],
)
def test_bad_costs_arguments_get_a_specific_message(args, message):
    with pytest.raises(UserInputError, match=message) as info:
        parse_costs_args(args)
    assert info.value.hint  # every refusal says what is accepted or what to do


def test_asof_pins_relative_periods_to_a_day():
    request = parse_costs_args(("mtd", "asof:2026-10-15"))
    pinned = request.period.period
    assert (pinned.start, pinned.end) == (date(2026, 10, 1), date(2026, 10, 15))
    # Planned on a later day, every day of the pinned period is complete.
    later = request.period.plan(NOW.date())
    assert (later.current.start, later.current.end) == (date(2026, 10, 1), date(2026, 10, 15))
    assert (later.previous.start, later.previous.end) == (date(2026, 9, 1), date(2026, 9, 15))
    assert later.partial is None


def test_month_names_are_read_relative_to_asof():
    assert parse_costs_args(("november", "asof:2026-10-15")).period.token == "2025-11"
    assert parse_costs_args(("asof:2026-11-02", "november")).period.token == "2026-11"
    assert parse_costs_args(("asof:2026-11-02", "december")).period.token == "2025-12"


@pytest.mark.parametrize(
    ("words", "token"),
    [
        (("last", "30", "days", "by", "rg"), "30d"),
        (("by", "service", "this", "quarter"), "this-quarter"),
        (("2026-11-01", "to", "2026-11-20", "top", "3"), "2026-11-01..2026-11-20"),
        (("sub:prod", "last", "week"), "last-week"),
    ],
)
def test_multi_word_periods_mix_with_the_other_parts(words, token):
    assert parse_costs_args(words).period.token == token


def test_charge_type_is_a_dimension_and_a_filter():
    request = parse_costs_args(("by", "charge-type", "charge:purchase"))
    assert request.dimension.kind is DimensionKind.CHARGE_TYPE
    assert request.filters[0].kind is FilterKind.CHARGE_TYPE


def test_unknown_command_suggests_the_closest_one(sqlite_engine):
    app = create_core(sqlite_engine, FixedClock(NOW))
    reply = app.handle_text("costz 7d", Requester("console", "u"))
    assert reply.card.severity is Severity.ERROR
    assert "Did you mean `costs`?" in reply.card.blocks[-1].text
    assert reply.visibility is Visibility.PRIVATE


_words = st.sampled_from(
    [
        "costs",
        "cost",
        "help",
        "by",
        "top",
        "service",
        "rg",
        "tag:env",
        "tag:env=prod",
        "sub:x",
        "7d",
        "30d",
        "0d",
        "mtd",
        "ytd",
        "last-month",
        "2026-01-01..2026-01-31",
        "--public",
        '"',
        "amortized",
        "actual",
        "10",
        "-1",
        "1e9",
        "NaN",
        "٣",
        "..",
        ":",
        "=",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.one_of(_words, st.text(max_size=12)), max_size=8).map(" ".join),
    )
)
def test_any_input_gives_a_reply_or_a_user_error_never_an_exception(sqlite_engine, text):
    app = create_core(sqlite_engine, FixedClock(NOW))
    reply = app.handle_text(text, Requester("console", "u"))
    assert reply.card.title
    # An internal error would be answered with a logged reference: that must never happen.
    assert "went wrong on our side" not in reply.card.summary
