"""Budget commands end to end through `CloudOptima.handle_text` / `handle_action`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core.app import create_core
from core.budgets.actions import BudgetsAction
from core.budgets.evaluate import evaluate_budgets
from core.budgets.model import ThresholdKind
from core.budgets.store import find_budget, list_budgets
from core.budgets.tables import AlertAck
from core.delivery.tables import OutboxMessage
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import (
    Actions,
    Chart,
    Context,
    Facts,
    Severity,
    Table,
    Visibility,
    channel_reference,
)
from core.kernel.cards_json import card_from_dict
from core.kernel.context import CoreConfig, Requester
from core.kernel.errors import NotFoundError
from core.kernel.service import CloudOptima
from tests.support.cost_rows import put_days

ADMIN = Requester("slack", "UADMIN", "Ada", conversation_id="C0FINOPS1", workspace_id="T1")
ALICE = Requester("slack", "UALICE", "Alice", conversation_id="C0TEAMWEB", workspace_id="T1")
BOB = Requester("slack", "UBOB", "Bob", conversation_id="C0TEAMWEB", workspace_id="T1")
TEAMS = Requester("teams", "aad-7", "Tess", conversation_id="19:abc@thread.tacv2")
CONSOLE = Requester("console", "ops")


def make_app(engine, clock) -> CloudOptima:
    put_days(engine, clock, date(2026, 10, 1), date(2026, 11, 26), "30")
    config = CoreConfig(admins=frozenset({"slack:UADMIN"}), home_workspaces={"slack": "T1"})
    return create_core(engine, clock, config)


@pytest.fixture
def app(engine, clock):
    return make_app(engine, clock)


@pytest.fixture
def sqlite_app(sqlite_engine, clock):
    """Argument validation does not depend on the database: SQLite is enough."""
    return make_app(sqlite_engine, clock)


def text_of(reply) -> str:
    view = reply.card
    parts = [view.title, view.summary]
    for block in view.blocks:
        if isinstance(block, Facts):
            parts.extend(f"{f.label}: {f.value}" for f in block.facts)
        elif isinstance(block, Table):
            parts.extend(" | ".join(row) for row in block.rows)
        elif hasattr(block, "text"):
            parts.append(block.text)
    return "\n".join(parts)


def buttons(reply) -> list:
    return [b for block in reply.card.blocks if isinstance(block, Actions) for b in block.buttons]


def test_a_budget_created_in_a_slack_channel_notifies_that_channel(app, engine):
    reply = app.handle_text(
        "budget create web-prod 1,500.50 monthly rg:rg-0 thresholds 50,80 forecast", ALICE
    )

    assert reply.card.severity is Severity.SUCCESS, text_of(reply)
    budget = find_budget(engine, "WEB-PROD")
    assert budget.targets == (Target(TargetKind.SLACK, "C0TEAMWEB"),)
    assert budget.amount == Decimal("1500.50") and budget.currency == "EUR"
    assert budget.scope.resource_group == "rg-0"
    assert budget.thresholds_of(ThresholdKind.ACTUAL) == (50, 80)
    assert budget.thresholds_of(ThresholdKind.FORECAST) == (100,)
    assert budget.owner_principal == "slack:T1:UALICE"
    assert f"Slack {channel_reference('C0TEAMWEB')}" in text_of(reply)  # a link in Slack
    assert "Spent so far: €390.00" in text_of(reply)  # 26 days × €15 in rg-0


def test_teams_conversations_and_extra_targets_are_recorded_and_the_terminal_has_none(app, engine):
    app.handle_text("budget create t1 100 notify email:ops@example.com", TEAMS)
    assert set(find_budget(engine, "t1").targets) == {
        Target(TargetKind.TEAMS, "19:abc@thread.tacv2"),
        Target(TargetKind.EMAIL, "ops@example.com"),
    }

    reply = app.handle_text("budget create c1 100", CONSOLE)
    assert find_budget(engine, "c1").targets == ()
    assert "Nobody will be notified" in text_of(reply)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("budget create x 1e5", "uses an exponent"),
        ("budget create x ١٢٣", "non-ASCII digits"),
        ("budget create x １２３", "non-ASCII digits"),
        ("budget create x NaN", "not an amount of money"),
        ("budget create x -5", "is negative"),
        ("budget create x 0", "more than zero"),
        ("budget create x " + "9" * 1900, "characters long"),
        ("budget create x 100 USD", "billed in EUR, not USD"),
        ("budget create x 100 XYZ", "not an ISO 4217 currency code"),
        ("budget create x 100.123", "EUR amounts have at most 2"),
        ("budget create 1x 100", "not a valid budget name"),
        ("budget create x 100 weekly", "I don't understand 'weekly'"),
        ("budget create x 100 thresholds 50,50", "listed twice"),
        ("budget create x 100 mg:nope", "not an ingested scope"),
        ("budget create x 100 charge:usage", "I don't understand 'charge:usage'"),
        ("budget create x", "needs a name and an amount"),
        ("budget frobnicate", "don't know `budget frobnicate`"),
    ],
)  # fmt: skip
def test_bad_arguments_get_a_specific_message_and_create_nothing(
    sqlite_app, sqlite_engine, command, message
):
    reply = sqlite_app.handle_text(command, ALICE)

    assert reply.card.severity is Severity.ERROR
    assert message in text_of(reply)
    assert "Traceback" not in text_of(reply)
    assert list_budgets(sqlite_engine) == []


def test_a_taken_name_is_refused_whatever_its_case(app):
    app.handle_text("budget create Web 100", ALICE)
    reply = app.handle_text("budget create WEB 200", BOB)
    assert "exists already" in text_of(reply)


def test_list_and_show_give_spend_forecast_and_a_burn_chart(app):
    app.handle_text("budget create web 1000 rg:rg-0 thresholds 30,80", ALICE)
    listing = app.handle_text("budget list", BOB)
    assert "web | €1,000.00 monthly | €390.00 (39.0%) | €450.00 (45.0%) | rg:rg-0" in text_of(
        listing
    )

    shown = app.handle_text("budget show web --public", BOB)

    assert shown.visibility is Visibility.PUBLIC
    body = text_of(shown)
    assert "Spent: €390.00 (39.0%)" in body
    assert "Forecast to Nov 30: €450.00 (45.0%)" in body
    assert "Remaining: €610.00" in body
    # Crossed at 39%: assessed at once, its alert is queued (never "not reached").
    assert "30% actual | crossed 2026-11-27 — alert queued" in body
    assert "80% actual | not reached (at 39.0%)" in body
    [chart] = [b for b in shown.card.blocks if isinstance(b, Chart)]
    assert chart.points[-1].value == 390 and chart.unit == "EUR"


def test_show_marks_thresholds_already_alerted(app, engine, clock):
    app.handle_text("budget create web 1000 rg:rg-0 thresholds 30,80", ALICE)
    evaluate_budgets(engine, clock)
    assert "30% actual | crossed 2026-11-27 — alert queued" in text_of(
        app.handle_text("budget show web", BOB)
    )


def test_owners_and_admins_may_change_a_budget_and_others_are_refused(app, engine):
    app.handle_text("budget create web 1000", ALICE)

    refused = app.handle_text("budget set web amount 5000", BOB)
    assert refused.card.title == "Not allowed"
    assert "only its owner (Alice) and CloudOptima admins" in text_of(refused)
    assert find_budget(engine, "web").amount == Decimal(1000)

    assert app.handle_text("budget set web amount 2,000", ALICE).card.severity is Severity.SUCCESS
    assert app.handle_text("budget set web thresholds 90,110", ADMIN).card.severity is (
        Severity.SUCCESS
    )
    app.handle_text("budget set web forecast 100,120", ALICE)
    app.handle_text("budget set web targets add email:fin@example.com", ALICE)
    budget = find_budget(engine, "web")
    assert budget.amount == Decimal(2000)
    assert budget.thresholds_of(ThresholdKind.ACTUAL) == (90, 110)
    assert budget.thresholds_of(ThresholdKind.FORECAST) == (100, 120)
    assert Target(TargetKind.EMAIL, "fin@example.com") in budget.targets

    app.handle_text("budget set web targets remove here", ALICE)
    assert find_budget(engine, "web").targets == (Target(TargetKind.EMAIL, "fin@example.com"),)
    assert "cannot change" in text_of(app.handle_text("budget set web amount 10 USD", ALICE))
    assert "does not notify" in text_of(
        app.handle_text("budget set web targets remove slack:C0NOTHERE", ALICE)
    )


def test_delete_asks_for_confirmation_and_the_button_deletes(app, engine):
    app.handle_text("budget create web 1000", ALICE)

    asked = app.handle_text("budget delete web", ALICE)

    assert find_budget(engine, "web")  # nothing deleted yet
    confirm, cancel = buttons(asked)
    assert (confirm.action_id, confirm.style) == (BudgetsAction.DELETE_CONFIRM, "danger")
    assert cancel.action_id == BudgetsAction.DELETE_CANCEL

    kept = app.handle_action(cancel.action_id, cancel.value, ALICE)
    assert kept.replace_original and "kept" in kept.card.title
    assert find_budget(engine, "web")

    refused = app.handle_action(confirm.action_id, confirm.value, BOB)
    assert refused.card.title == "Not allowed"
    assert find_budget(engine, "web")

    done = app.handle_action(confirm.action_id, confirm.value, ALICE)
    assert done.replace_original and "deleted" in done.card.title
    with pytest.raises(NotFoundError):
        find_budget(engine, "web")
    again = app.handle_action(confirm.action_id, confirm.value, ALICE)
    assert again.card.title == "Already deleted"


def test_the_same_user_id_from_another_workspace_cannot_change_a_budget(app, engine):
    app.handle_text("budget create web 1000", ALICE)
    # Same user id, another Slack workspace: somebody else entirely.
    twin = Requester("slack", "UALICE", "Alice", conversation_id="C0ELSEWHERE", workspace_id="T2")

    refused = app.handle_text("budget set web amount 5000", twin)
    assert refused.card.title == "Not allowed"
    assert app.handle_text("budget delete web", twin).card.title == "Not allowed"
    confirm, _cancel = buttons(app.handle_text("budget delete web", ALICE))
    assert app.handle_action(confirm.action_id, confirm.value, twin).card.title == "Not allowed"
    assert find_budget(engine, "web").amount == Decimal(1000)
    # An admin id of workspace T1 is no admin in T2 either.
    admin_twin = Requester(
        "slack", "UADMIN", "Eve", conversation_id="C0ELSEWHERE", workspace_id="T2"
    )
    assert app.handle_text("budget set web amount 1", admin_twin).card.title == "Not allowed"
    assert find_budget(engine, "web").amount == Decimal(1000)
    assert app.handle_text("budget set web amount 1,200", ALICE).card.severity is Severity.SUCCESS


def test_keep_it_on_a_delete_question_checks_permission_too(app, engine):
    app.handle_text("budget create web 1000", ALICE)
    _confirm, cancel = buttons(app.handle_text("budget delete web", ALICE))

    refused = app.handle_action(cancel.action_id, cancel.value, BOB)
    assert refused.card.title == "Not allowed" and not refused.replace_original
    # Refused presses give their claim back: the owner's "Keep it" still answers.
    assert "kept" in app.handle_action(cancel.action_id, cancel.value, ALICE).card.title
    assert "kept" in app.handle_action(cancel.action_id, cancel.value, ADMIN).card.title
    assert find_budget(engine, "web")


def test_a_non_admin_cannot_even_ask_to_delete_someone_elses_budget(app):
    app.handle_text("budget create web 1000", ALICE)
    reply = app.handle_text("budget delete web", BOB)
    assert reply.card.title == "Not allowed" and buttons(reply) == []


def test_viewers_list_limits_who_may_create_budgets(engine, clock):
    config = CoreConfig(
        admins=frozenset({"slack:UADMIN"}),
        viewers=frozenset({"slack:UALICE"}),
        home_workspaces={"slack": "T1"},
    )
    app = create_core(engine, clock, config)
    assert app.handle_text("budget create web 100 EUR", BOB).card.title == "Not allowed"
    assert app.handle_text("budget create web 100 EUR", ALICE).card.severity is Severity.SUCCESS


def test_alerts_show_delivery_state_dead_letters_and_acknowledgements(app, engine, clock):
    app.handle_text("budget create web 500 thresholds 80 notify email:fin@example.com", ALICE)
    evaluate_budgets(engine, clock)  # spend €1,560 of €500: the 80% alert fires
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.target_kind == "email")
            .values(status="dead", attempts=8, last_error="550 mailbox unavailable")
        )

    listing = app.handle_text("alerts web", BOB)

    body = text_of(listing)
    assert "web | 80% actual | €780.00 (156.0%) | email FAILED, slack queued | no" in body
    assert listing.card.severity is Severity.WARNING
    dead = [b.text for b in listing.card.blocks if isinstance(b, Context)]
    assert any("after 8 attempt(s): 550 mailbox unavailable" in t for t in dead)

    with engine.connect() as conn:
        card = conn.execute(select(outbox.c.card).where(outbox.c.target_kind == "slack")).scalar()
    [ack] = next(b for b in card_from_dict(card).blocks if isinstance(b, Actions)).buttons
    clock.current += timedelta(minutes=5)
    acked = app.handle_action(ack.action_id, ack.value, BOB)

    assert acked.replace_original and acked.visibility is Visibility.PUBLIC
    assert "Acknowledged by Bob on 2026-11-27 09:35 UTC" in text_of(acked)
    assert buttons(acked) == []
    again = app.handle_action(ack.action_id, ack.value, ALICE)
    assert "Acknowledged by Bob" in text_of(again)
    assert again.extra["note"] == "Already acknowledged by Bob."
    with engine.connect() as conn:
        acks = conn.execute(select(AlertAck.__table__)).all()  # type: ignore[attr-defined]
    assert [(a.principal, a.name) for a in acks] == [("slack:T1:UBOB", "Bob")]
    assert "Bob 11-27 09:35" in text_of(app.handle_text("alerts", ALICE))


def test_an_ack_button_of_a_deleted_budget_or_a_forged_value_answers_kindly(app, engine, clock):
    app.handle_text("budget create web 100", ALICE)
    evaluate_budgets(engine, clock)
    budget = find_budget(engine, "web")
    value = f"{budget.id}:2026-11-01:100:actual"
    app.handle_action(BudgetsAction.DELETE_CONFIRM, f"{budget.id}:web", ALICE)

    gone = app.handle_action(BudgetsAction.ALERT_ACK, value, BOB)
    assert "no longer exists" in text_of(gone)
    forged = app.handle_action(BudgetsAction.ALERT_ACK, "1:not-a-date:x:y", BOB)
    assert "does not carry an alert" in text_of(forged)


def test_help_explains_the_budget_grammar(app):
    reply = app.handle_text("help budget", ALICE)
    assert "budget create <name> <amount>" in text_of(reply)
    assert "tag:<key>=<value>" in text_of(reply)


def test_a_new_alert_after_a_deleted_budget_is_still_notified(app, engine, clock):
    """Alert ids are never reused (SQLite AUTOINCREMENT): a reused id would give the new
    alert's message the outbox key of the deleted budget's queued one, and it would be dropped."""
    app.handle_text("budget create web 100 thresholds 50", ALICE)
    evaluate_budgets(engine, clock)
    confirm, _ = buttons(app.handle_text("budget delete web", ALICE))
    app.handle_action(confirm.action_id, confirm.value, ALICE)

    app.handle_text("budget create web2 100 thresholds 50", ALICE)
    evaluate_budgets(engine, clock)

    with engine.connect() as conn:
        keys = conn.execute(select(OutboxMessage.idempotency_key)).scalars().all()
    assert len(keys) == 2 and len(set(keys)) == 2, keys
