"""Dates far outside the data (year 1, year 9999) are the user's mistake, answered as such,
never an internal error — for ranges, `asof:`, months and the commands that take periods."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.app import create_core
from core.kernel.context import Requester

OPS = Requester("console", "ops")


@pytest.fixture
def app(sqlite_engine, clock):
    return create_core(sqlite_engine, clock)


@pytest.mark.parametrize(
    "command",
    [
        "costs 0001-01-01..0001-01-31",
        "costs 0001-01-01..0001-01-31 by service",
        "costs 30d asof:0001-01-05",
        "costs mtd asof:0001-01-01",
        "costs 0001-01",
        "costs 1999-12-01..1999-12-31",
        "anomalies 0001-01-01..0001-01-31",
        "costs 9999-12-01..9999-12-31",
    ],
)
def test_a_date_out_of_range_is_a_user_error(app, command):
    reply = app.handle_text(command, OPS)
    assert reply.failed
    assert "Something went wrong" not in reply.card.title, reply.card.summary


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.dates(min_value=date.min, max_value=date.max),
    last=st.dates(min_value=date.min, max_value=date.max),
    form=st.sampled_from(
        [
            "costs {a}..{b}",
            "costs 30d asof:{a}",
            "costs {m} asof:{b}",
            "anomalies {a}..{b}",
            "costs 7d by service asof:{a}",
        ]
    ),
)
def test_no_date_is_an_internal_error(app, first, last, form):
    command = form.format(a=first.isoformat(), b=last.isoformat(), m=first.strftime("%Y-%m"))
    reply = app.handle_text(command, OPS)
    assert "Something went wrong" not in reply.card.title, (command, reply.card.summary)
