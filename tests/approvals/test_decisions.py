"""Approve / Dismiss / Snooze through the front door: one conditional update per decision, the
card updated in place with who and when, stale cards refused with a fresh one, reasons asked,
snoozes that end re-open (fixed clock), dismissed and snoozed items out of `recs`."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core.approvals.commands import decision_views
from core.approvals.model import DecisionState
from core.approvals.store import decisions
from core.audit.model import AuditAction, Outcome
from core.audit.store import AuditQuery, entries
from core.kernel.cards import ASK_CHOICE, ASK_TEXT, Actions, Severity, Visibility
from core.kernel.cards_text import render_text as plain_text
from core.recommendations.actions import RecsAction
from tests.approvals.conftest import make_core
from tests.support.decisions import slack

ANN = slack("UANN", "Ann")
BOB = slack("UBOB", "Bob")


def buttons(card):
    return [b for block in card.blocks if isinstance(block, Actions) for b in block.buttons]


def button(card, action_id):
    return next(b for b in buttons(card) if b.action_id == action_id)


def test_the_card_offers_approve_dismiss_snooze_carrying_id_and_version(core, ids):
    card = core.handle_text(f"rec {ids['vm-web-1']}", ANN).card
    offered = {b.action_id: b for b in buttons(card)}
    assert set(offered) >= {RecsAction.APPROVE, RecsAction.DISMISS, RecsAction.SNOOZE}
    assert offered[RecsAction.APPROVE].value == f"{ids['vm-web-1']}:0"
    snooze = offered[RecsAction.SNOOZE].ask
    assert snooze is not None and [c.value for c in snooze.choices] == ["7", "14", "30", "60", "90"]
    assert (
        offered[RecsAction.DISMISS].ask is not None
        and offered[RecsAction.DISMISS].ask.text_required
    )


def test_approving_updates_the_card_in_place_with_who_and_when(core, ids, engine):
    rec_id = ids["vm-web-1"]
    approve = button(core.handle_text(f"rec {rec_id}", ANN).card, RecsAction.APPROVE)
    reply = core.handle_action(approve.action_id, approve.value, ANN)
    assert reply.replace_original and not reply.failed
    text = plain_text(reply.card)
    assert "Approved by Ann on 2026-11-27 09:30 UTC" in text
    assert not any(b.action_id == RecsAction.APPROVE for b in buttons(reply.card))
    assert decisions(engine)[rec_id].state is DecisionState.APPROVED
    [row] = entries(engine, AuditQuery(rec_id=rec_id))
    e = row.entry
    assert (e.action, e.outcome, e.previous_state, e.new_state) == (
        AuditAction.APPROVE,
        Outcome.DONE,
        "open",
        "approved",
    )
    assert (e.actor.platform, e.actor.user_id, e.actor.user_name) == ("slack", "UANN", "Ann")
    assert (e.actor.workspace_id, e.actor.channel_id) == ("T1", "C0APPROVE")
    assert e.request_id and e.at == core.clock.now()


@pytest.mark.parametrize("clicks", [20])
def test_twenty_concurrent_clicks_make_one_decision_and_the_others_learn_who_won(
    engine, fixed_clock, ids, clicks
):
    from core.approvals.model import ApprovalRole, RoleGrant

    people = [slack(f"U{i:03d}", f"Person {i}") for i in range(clicks)]
    grants = tuple(RoleGrant(ApprovalRole.APPROVER, p.principal, "*") for p in people)
    core = make_core(engine, fixed_clock, grants=grants)
    rec_id = ids["vm-web-1"]
    value = f"{rec_id}:0"
    start = threading.Barrier(clicks)
    replies = [None] * clicks

    def click(i: int) -> None:
        start.wait()
        action = RecsAction.APPROVE if i % 2 else RecsAction.DISMISS
        replies[i] = core.handle_action(action, value, people[i], {ASK_TEXT: "not needed"})

    threads = [threading.Thread(target=click, args=(i,)) for i in range(clicks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in replies if not r.failed]
    lost = [r for r in replies if r.failed]
    assert len(won) == 1 and len(lost) == clicks - 1
    final = decisions(engine)[rec_id]
    assert final.version == 1 and final.state in (DecisionState.APPROVED, DecisionState.DISMISSED)
    winner = final.decided_by_name
    for r in lost:
        assert r.visibility is Visibility.PRIVATE
        assert f"already {final.state} by {winner}" in plain_text(r.card)
    audit = entries(engine, AuditQuery(rec_id=rec_id))
    done = [a for a in audit if a.entry.outcome is Outcome.DONE]
    refused = [a for a in audit if a.entry.outcome is Outcome.REFUSED]
    assert len(done) == 1 and len(refused) == clicks - 1
    assert all(a.entry.reason.startswith("lost: already") for a in refused)


def test_a_stale_card_is_refused_with_a_fresh_card(core, ids, engine):
    rec_id = ids["vm-web-2"]
    old = button(core.handle_text(f"rec {rec_id}", ANN).card, RecsAction.SNOOZE)
    core.handle_text(f"rec {rec_id} request-approval", BOB)  # changes the item: version 1
    reply = core.handle_action(old.action_id, old.value, ANN, {ASK_TEXT: "later", ASK_CHOICE: "14"})
    assert reply.failed and reply.visibility is Visibility.PRIVATE
    assert "out of date" in plain_text(reply.card)
    fresh = button(reply.card, RecsAction.APPROVE)
    assert fresh.value == f"{rec_id}:1"
    assert decisions(engine)[rec_id].state is DecisionState.OPEN


def test_dismiss_asks_for_a_reason_first_and_claims_nothing_until_given(core, ids, engine):
    rec_id = ids["vm-web-1"]
    dismiss = button(core.handle_text(f"rec {rec_id}", ANN).card, RecsAction.DISMISS)
    asked = core.handle_action(dismiss.action_id, dismiss.value, ANN)
    assert asked.form is not None and asked.form.button.ask.text_required
    assert rec_id not in decisions(engine)
    done = core.handle_action(dismiss.action_id, dismiss.value, ANN, {ASK_TEXT: "dev box, keep"})
    assert "Dismissed by Ann on 2026-11-27 09:30 UTC: dev box, keep" in plain_text(done.card)
    listed = plain_text(core.handle_text("recs", ANN).card)
    assert "vm-web-1" not in listed and "vm-web-2" in listed


def test_snooze_offers_7_to_90_days_and_its_end_reopens_the_item(core, ids, engine, fixed_clock):
    rec_id = ids["vm-data-1"]
    reply = core.handle_text(f"rec {rec_id} snooze 14d after the freeze", ANN)
    assert "until 2026-12-11" in plain_text(reply.card)
    assert "vm-data-1" not in plain_text(core.handle_text("recs", ANN).card)
    for bad in ("3d", "91d", "soon"):
        refused = core.handle_text(f"rec {rec_id} snooze {bad} x", ANN)
        assert refused.failed and "7d … 90d" in plain_text(refused.card)
    fixed_clock.current += timedelta(days=14)
    assert "vm-data-1" in plain_text(core.handle_text("recs", ANN).card)
    assert decisions(engine)[rec_id].state is DecisionState.OPEN
    actions = [a.entry.action for a in entries(engine, AuditQuery(rec_id=rec_id))]
    assert actions[:1] == [AuditAction.REOPEN] and AuditAction.SNOOZE in actions


def test_typed_decisions_need_a_reason_for_dismiss_and_snooze(core, ids):
    assert "Say why" in plain_text(core.handle_text(f"rec {ids['vm-web-1']} dismiss", ANN).card)
    ok = core.handle_text(f"rec {ids['vm-web-1']} approve go ahead", ANN)
    assert not ok.failed and "Approved by Ann" in plain_text(ok.card)
    again = core.handle_text(f"rec {ids['vm-web-1']} dismiss too late", ANN)
    assert again.failed and "is approved" in plain_text(again.card)


def test_reopen_is_for_admins_and_brings_the_item_back(core, ids, engine):
    rec_id = ids["vm-web-1"]
    core.handle_text(f"rec {rec_id} dismiss not now", ANN)
    refused = core.handle_text(f"rec {rec_id} reopen", ANN)
    assert refused.failed and "admin role" in plain_text(refused.card)
    ok = core.handle_text(f"rec {rec_id} reopen changed our mind", slack("UADA", "Ada"))
    assert not ok.failed and "re-opened by Ada" in plain_text(ok.card)
    assert decision_views(engine, [rec_id])[rec_id].state == "open"
    assert "vm-web-1" in plain_text(core.handle_text("recs", ANN).card)


def test_a_lost_race_reply_is_a_warning_not_a_traceback(core, ids):
    rec_id = ids["vm-web-1"]
    core.handle_action(RecsAction.APPROVE, f"{rec_id}:0", ANN)
    late = core.handle_action(RecsAction.APPROVE, f"{rec_id}:0", BOB)
    assert late.card.severity is Severity.WARNING and "already approved by Ann" in plain_text(
        late.card
    )


def test_a_press_answered_with_a_form_claims_nothing(core, ids, engine):
    """Slack's modal and Teams' card inputs come back as a new delivery, but a press that only
    asked for a reason must not use up the rendered button (Cancel, then press again)."""
    from core.kernel.interaction import Interaction

    value = f"{ids['vm-web-1']}:0"
    asked = core.handle(Interaction.button(ANN, RecsAction.DISMISS, value, "button-1"))
    assert asked is not None and asked.form is not None
    again = core.handle(Interaction.button(ANN, RecsAction.DISMISS, value, "button-1"))
    assert again is not None and again.form is not None  # not swallowed as a repeat
    done = core.handle(
        Interaction.button(ANN, RecsAction.DISMISS, value, "button-1", inputs={ASK_TEXT: "x"})
    )
    assert done is not None and not done.failed
    assert core.handle(Interaction.button(ANN, RecsAction.DISMISS, value, "button-1")) is None
