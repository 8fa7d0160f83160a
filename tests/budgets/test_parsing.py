"""Strict argument parsing: every refusal has its own message, and nothing else ever escapes."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.budgets.grammar import (
    MAX_AMOUNT,
    parse_amount,
    parse_currency,
    parse_name,
    parse_scope_tokens,
    parse_start,
    parse_thresholds,
)
from core.delivery.targets import Target, TargetKind, WebhookPolicy, parse_target, parse_targets
from core.kernel.context import Requester
from core.kernel.errors import UserInputError

SLACK = Requester("slack", "U1", "Ada", conversation_id="C0123ABCD")
CONSOLE = Requester("console", "ada")


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("5000", "EUR", Decimal("5000")),
        ("12,500", "EUR", Decimal("12500")),
        ("12,500.50", "EUR", Decimal("12500.50")),
        ("1,234,567.8", "USD", Decimal("1234567.8")),
        ("0.01", "EUR", Decimal("0.01")),
        ("250000", "JPY", Decimal("250000")),
        ("10.125", "KWD", Decimal("10.125")),
        ("9999999999.99", "EUR", Decimal("9999999999.99")),
    ],
)
def test_valid_amounts_parse_exactly(text, currency, expected):
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("", "EUR", "needs an amount"),
        ("NaN", "EUR", "is not an amount of money"),
        ("nan", "EUR", "is not an amount of money"),
        ("Infinity", "EUR", "is not an amount of money"),
        ("inf", "EUR", "is not an amount of money"),
        ("-inf", "EUR", "is not an amount of money"),
        ("1e5", "EUR", "uses an exponent"),
        ("1E+5", "EUR", "uses an exponent"),
        ("2.5e3", "EUR", "uses an exponent"),
        ("١٢٣", "EUR", "non-ASCII digits"),
        ("１２３", "EUR", "non-ASCII digits"),
        ("१२३", "EUR", "non-ASCII digits"),
        ("-100", "EUR", "is negative"),
        ("+100", "EUR", "without a sign"),
        ("0", "EUR", "more than zero"),
        ("0.00", "EUR", "more than zero"),
        ("9" * 5000, "EUR", "5,000 characters long"),
        ("10000000000", "EUR", "too large"),
        ("12,50", "EUR", "groups thousands wrongly"),
        ("1,2345", "EUR", "groups thousands wrongly"),
        (",500", "EUR", "groups thousands wrongly"),
        ("1.2.3", "EUR", "more than one decimal point"),
        ("0012", "EUR", "leading zeros"),
        ("1_000", "EUR", "contains '_'"),
        ("12.345", "EUR", "EUR amounts have at most 2"),
        ("100.5", "JPY", "JPY amounts have no decimals"),
        ("$100", "USD", "not a symbol"),
        ("100€", "EUR", "not a symbol"),
        ("12 500", "EUR", "contains ' '"),
        ("abc", "EUR", "contains 'a'"),
        ("1.", "EUR", "is not an amount"),
        ("0x10", "EUR", "contains 'x'"),
    ],
)
def test_bad_amounts_are_refused_with_a_specific_message(text, currency, message):
    with pytest.raises(UserInputError, match=message) as caught:
        parse_amount(text, currency)
    assert "Accepted: 5000, 12,500, 12,500.50" in caught.value.user_message()
    assert len(caught.value.user_message()) < 400  # a 5000-digit number is not echoed back


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
def test_any_text_either_parses_to_a_valid_amount_or_is_a_user_input_error(text, currency):
    try:
        value = parse_amount(text, currency)
    except UserInputError as exc:
        assert exc.user_message()
        return
    assert isinstance(value, Decimal) and value.is_finite()
    assert Decimal(0) < value < MAX_AMOUNT
    assert text.strip().isascii()
    assert set(text.strip()) <= set("0123456789,.")


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT - 1, places=2))
def test_every_two_decimal_amount_round_trips_with_thousands_separators(amount):
    assert parse_amount(f"{amount:,.2f}", "EUR") == amount
    assert parse_amount(f"{amount:.2f}", "EUR") == amount


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_names_thresholds_targets_and_scopes_never_raise_anything_unexpected(text):
    for parse in (
        parse_name,
        parse_thresholds,
        parse_currency,
        parse_start,
        lambda t: parse_target(t, SLACK),
        lambda t: parse_scope_tokens([t]),
    ):
        with contextlib.suppress(UserInputError):
            parse(text)


def test_currency_codes_must_be_iso_4217_in_use():
    assert parse_currency("eur") == "EUR"
    assert parse_currency("JPY") == "JPY"
    for bad in ("EURO", "XYZ", "DEM", "€", "E1R", "ЕUR"):
        with pytest.raises(UserInputError, match="not an ISO 4217 currency code"):
            parse_currency(bad)


@pytest.mark.parametrize("name", ["web", "prod-web", "Team_A.1", "a" * 64])
def test_valid_names(name):
    assert parse_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a" * 65, "65 characters long"),
        ("1web", "not a valid budget name"),
        ("web prod", "not a valid budget name"),
        ("wéb", "not a valid budget name"),
        ("web;drop", "not a valid budget name"),
        ("-web", "not a valid budget name"),
    ],
)
def test_bad_names_are_refused(name, message):
    with pytest.raises(UserInputError, match=message):
        parse_name(name)


def test_thresholds_parse_sorted_and_refuse_duplicates_ranges_and_fractions():
    assert parse_thresholds("100,50,80%") == (50, 80, 100)
    for text, message in [
        ("50,50", "listed twice"),
        ("0", "out of range"),
        ("1001", "out of range"),
        ("92.5", "not a whole percentage"),
        ("50,,80", "empty threshold"),
        ("١٠٠", "not a whole percentage"),
        (",".join(str(n) for n in range(1, 12)), "at most 10"),
    ]:
        with pytest.raises(UserInputError, match=message):
            parse_thresholds(text)


def test_targets_of_every_kind():
    assert parse_target("here", SLACK) == Target(TargetKind.SLACK, "C0123ABCD")
    teams = Requester("teams", "aad-1", conversation_id="19:abc@thread.tacv2")
    assert parse_target("here", teams) == Target(TargetKind.TEAMS, "19:abc@thread.tacv2")
    assert parse_target("slack:C0999ZZZZ", CONSOLE) == Target(TargetKind.SLACK, "C0999ZZZZ")
    assert parse_target("email:Ops@Example.COM", CONSOLE) == Target(
        TargetKind.EMAIL, "Ops@example.com"
    )
    assert parse_target("ops@example.com", CONSOLE).kind is TargetKind.EMAIL
    assert parse_target("https://hooks.example.com/x?k=1", CONSOLE) == Target(
        TargetKind.WEBHOOK, "https://hooks.example.com/x?k=1"
    )
    internal = WebhookPolicy(("127.0.0.1",))
    local = parse_target("webhook:http://127.0.0.1:8080/hook", CONSOLE, internal)
    assert local.kind is TargetKind.WEBHOOK
    assert parse_targets(["here,email:a@b.example", "here"], SLACK) == [
        Target(TargetKind.SLACK, "C0123ABCD"),
        Target(TargetKind.EMAIL, "a@b.example"),
    ]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("here", "cannot receive alerts"),
        ("slack:#general", "channel id, not its name"),
        ("slack:general", "not a Slack channel id"),
        ("webhook:http://hooks.example.com/x", "must use https"),
        ("webhook:https://user:pw@hooks.example.com/x", "no user name or password"),
        ("webhook:https://", "no host name"),
        ("email:not-an-address", "not an e-mail address"),
        ("teams:has space", "printable ASCII"),
        ("pager:123", "not a notification target"),
    ],
)
def test_bad_targets_are_refused(token, message):
    with pytest.raises(UserInputError, match=message):
        parse_target(token, CONSOLE)


def test_scope_filters_combine_and_normalize():
    scope = parse_scope_tokens(
        ["sub:Production", "rg:Web", "tag:Env=Prod", "tag:team=payments", "service:Storage"]
    )
    assert (scope.subscription, scope.resource_group, scope.service) == (
        "production",
        "web",
        "storage",
    )
    assert scope.tags == (("env", "Prod"), ("team", "payments"))
    mg = parse_scope_tokens(["mg:Contoso"])
    assert mg.scope_path == "/providers/microsoft.management/managementgroups/contoso"


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["rg:a", "rg:b"], "Two resource group filters"),
        (["tag:env=a", "tag:env=b"], "filtered twice"),
        (["tag:env"], "not a budget scope filter"),
        (["colour:red"], "not a budget scope filter"),
        (["scope:/nowhere/x"], "not an Azure cost scope"),
        (["rg:" + "x" * 200], "longer than 128"),
    ],
)
def test_bad_scope_filters_are_refused(tokens, message):
    with pytest.raises(UserInputError, match=message):
        parse_scope_tokens(tokens)


def test_start_dates_are_the_first_of_a_month():
    assert str(parse_start("2026-04")) == "2026-04-01"
    assert str(parse_start("2026-04-01")) == "2026-04-01"
    for text, message in [
        ("2026-04-15", "first of a month"),
        ("2026-13-01", "not a date that exists"),
        ("1999-01-01", "out of range"),
        ("April", "not a start date"),
    ]:
        with pytest.raises(UserInputError, match=message):
            parse_start(text)
