"""Who may decide: viewer / approver / admin per subscription, resource group and management
group, for Slack user ids, Slack user groups (resolved through the Web API of the local fake
Slack, and cached) and Teams AAD object ids; denied by default, checked at click time, refusals
private and audited; the two-person rule."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.slack.usergroups import SlackUserGroups
from core.approvals.model import ApprovalRole, RoleGrant
from core.approvals.store import decisions
from core.audit.model import AuditAction, Outcome
from core.audit.store import AuditQuery, entries
from core.delivery.tables import OutboxMessage
from core.kernel.cards import ASK_TEXT, Visibility
from core.kernel.cards_text import render_text as plain_text
from core.kernel.context import CoreConfig
from core.recommendations.actions import RecsAction
from tests.approvals.conftest import make_core
from tests.support.decisions import HOME_WORKSPACES, SUB_A, SUB_B, slack, teams
from tests.support.fake_slack import FakeSlack

MG = "/providers/microsoft.management/managementgroups/mg-prod"
RG_WEB = f"/subscriptions/{SUB_A}/resourcegroups/rg-web"


def press(core, who, rec_id, action=RecsAction.APPROVE, version=0):
    return core.handle_action(action, f"{rec_id}:{version}", who, {ASK_TEXT: "reason"})


def refused(reply) -> bool:
    return (
        reply.failed
        and reply.visibility is Visibility.PRIVATE
        and reply.card.title == ("Not allowed")
    )


def test_deciding_is_denied_by_default(engine, fixed_clock, ids):
    core = make_core(engine, fixed_clock, grants=())
    reply = press(core, slack("UANN", "Ann"), ids["vm-web-1"])
    assert refused(reply) and "approver role" in plain_text(reply.card)
    assert ids["vm-web-1"] not in decisions(engine)


@pytest.mark.parametrize(
    ("grant_scope", "allowed", "denied"),
    [
        (f"/subscriptions/{SUB_A}", ("vm-web-1", "vm-data-1"), ("vm-b-1",)),
        (RG_WEB, ("vm-web-1",), ("vm-data-1", "vm-b-1")),
        (MG, ("vm-web-1", "vm-data-1"), ("vm-b-1",)),
        ("*", ("vm-web-1", "vm-data-1", "vm-b-1"), ()),
    ],
)
def test_an_approver_decides_within_the_scope_granted(
    engine, fixed_clock, ids, grant_scope, allowed, denied
):
    grants = (RoleGrant(ApprovalRole.APPROVER, "slack:UANN", grant_scope),)
    core = make_core(
        engine, fixed_clock, grants=grants, management_groups={"mg-prod": frozenset({SUB_A})}
    )
    ann = slack("UANN", "Ann")
    for name in denied:
        assert refused(press(core, ann, ids[name])), name
    for name in allowed:
        assert not press(core, ann, ids[name]).failed, name
    assert sorted(decisions(engine)) == sorted(ids[n] for n in allowed)


@pytest.mark.parametrize(
    ("role", "approve", "reopen", "ask"),
    [
        (ApprovalRole.VIEWER, False, False, True),
        (ApprovalRole.APPROVER, True, False, True),
        (ApprovalRole.ADMIN, True, True, True),
    ],
)
def test_each_role_may_do_what_it_says(engine, fixed_clock, ids, role, approve, reopen, ask):
    core = make_core(
        engine, fixed_clock, grants=(RoleGrant(role, "slack:UVAL", f"/subscriptions/{SUB_A}"),)
    )
    val = slack("UVAL", "Val")
    asked = core.handle_text(f"rec {ids['vm-web-2']} request-approval please", val)
    assert asked.failed is not ask
    assert (not press(core, val, ids["vm-web-1"]).failed) is approve
    admin = make_core(
        engine, fixed_clock, grants=(RoleGrant(ApprovalRole.ADMIN, "slack:UADA", "*"),)
    )
    admin.handle_text(f"rec {ids['vm-data-1']} dismiss not ours", slack("UADA"))
    again = core.handle_text(f"rec {ids['vm-data-1']} reopen", val)
    assert (not again.failed) is reopen
    # the same grant on another subscription: nothing
    assert refused(press(core, val, ids["vm-b-1"]))


def test_kernel_admins_are_admins_everywhere(engine, fixed_clock, ids):
    from core.app import FeatureConfigs, create_core

    core = create_core(
        engine,
        fixed_clock,
        CoreConfig(admins=frozenset({"slack:UROOT"}), home_workspaces=HOME_WORKSPACES),
        FeatureConfigs(),
    )
    assert not press(core, slack("UROOT"), ids["vm-b-1"]).failed


def test_principals_are_matched_as_they_are_ids_never_names(engine, fixed_clock, ids):
    grants = (
        RoleGrant(ApprovalRole.APPROVER, "teams:0b1c-oid-ann", "*"),
        RoleGrant(ApprovalRole.APPROVER, "slack:T1:U456", "*"),  # a workspace-qualified form
    )
    core = make_core(engine, fixed_clock, grants=grants)
    # Teams: by AAD object id; a Slack user named like the Teams one gets nothing.
    assert not press(core, teams("0b1c-oid-ann", "Ann"), ids["vm-web-1"]).failed
    assert refused(press(core, slack("0b1c-oid-ann", "Ann"), ids["vm-web-2"]))
    # A workspace-qualified grant names one workspace's user: the same id elsewhere is not them.
    assert refused(press(core, slack("U456", "Sam", team="T2"), ids["vm-web-2"]))
    assert not press(core, slack("U456", "Sam"), ids["vm-web-2"]).failed


def test_the_role_is_checked_at_click_time_not_when_the_card_was_drawn(engine, fixed_clock, ids):
    ann = slack("UANN", "Ann")
    granted = make_core(engine, fixed_clock)
    card = granted.handle_text(f"rec {ids['vm-web-1']}", ann).card
    assert any(getattr(b, "buttons", None) for b in card.blocks)  # drawn while Ann could decide
    revoked = make_core(engine, fixed_clock, grants=())
    assert refused(press(revoked, ann, ids["vm-web-1"]))


def test_refusals_are_private_audited_and_claim_nothing(engine, fixed_clock, ids):
    core = make_core(
        engine, fixed_clock, grants=(RoleGrant(ApprovalRole.APPROVER, "slack:UANN", "*"),)
    )
    from core.kernel.interaction import Interaction

    vic, ann = slack("UVIC", "Vic"), slack("UANN", "Ann")
    value = f"{ids['vm-web-1']}:0"
    first = core.handle(Interaction.button(vic, RecsAction.APPROVE, value, "rendered-button-1"))
    assert refused(first)
    # the same rendered button still works for the next person
    second = core.handle(Interaction.button(ann, RecsAction.APPROVE, value, "rendered-button-1"))
    assert second is not None and not second.failed
    [row] = [e for e in entries(engine, AuditQuery(user="UVIC"))]
    e = row.entry
    assert (e.action, e.outcome, e.rec_id) == (
        AuditAction.REFUSED,
        Outcome.REFUSED,
        ids["vm-web-1"],
    )
    assert "not allowed to approve" in e.reason and e.actor.user_name == "Vic"


def test_refused_attempts_of_any_command_or_button_are_audited(engine, fixed_clock, ids):
    core = make_core(engine, fixed_clock)
    vic = slack("UVIC", "Vic")
    core.handle_text("audit", vic)  # admins only
    core.handle_action("budget.delete", "b-1", vic)  # another feature's button
    subjects = [e.entry.subject for e in entries(engine, AuditQuery(user="UVIC"))]
    assert any(s.startswith("audit") for s in subjects)


def test_two_person_rule(engine, fixed_clock, ids):
    core = make_core(
        engine, fixed_clock, two_person_rule=True, approvers_channel="slack:C0APPROVERS"
    )
    ann, bob = slack("UANN", "Ann"), slack("UBOB", "Bob")
    rec_id = ids["vm-web-1"]
    unasked = press(core, ann, rec_id)
    assert unasked.failed and "request for approval first" in plain_text(unasked.card)
    asked = core.handle_text(f"rec {rec_id} request-approval before the freeze", ann)
    assert not asked.failed and "approvers' channel" in plain_text(asked.card)
    with engine.connect() as conn:
        [posted] = conn.execute(OutboxMessage.__table__.select()).all()
    assert posted.target_address == "C0APPROVERS" and "Approve" in str(posted.card)
    own = press(core, ann, rec_id, version=1)
    assert refused(own) and "another approver" in plain_text(own.card)
    ok = press(core, bob, rec_id, version=1)
    assert not ok.failed and "Approved by Bob" in plain_text(ok.card)
    actions = [
        (e.entry.action, e.entry.outcome, e.entry.actor.user_id)
        for e in entries(engine, AuditQuery(rec_id=rec_id))
    ]
    assert (AuditAction.REQUEST_APPROVAL, Outcome.DONE, "UANN") in actions
    assert (AuditAction.APPROVE, Outcome.DONE, "UBOB") in actions
    assert sum(1 for a in actions if a[1] is Outcome.REFUSED) == 2


@pytest.fixture
async def fake_slack():
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


async def test_slack_user_groups_resolve_through_the_web_api_and_are_cached(
    engine, fixed_clock, ids, fake_slack
):
    fake_slack.usergroups["S0FINOPS"] = ["UGWEN", "UHAL"]
    groups = SlackUserGroups("xoxb-test", api_url=fake_slack.api_url)
    grants = (RoleGrant(ApprovalRole.APPROVER, "slack-group:S0FINOPS", f"/subscriptions/{SUB_A}"),)
    core = make_core(engine, fixed_clock, grants=grants, groups=groups)
    gwen, ivy = slack("UGWEN", "Gwen"), slack("UIVY", "Ivy")

    assert not (await asyncio.to_thread(press, core, gwen, ids["vm-web-1"])).failed
    assert refused(await asyncio.to_thread(press, core, ivy, ids["vm-web-2"]))
    assert refused(await asyncio.to_thread(press, core, gwen, ids["vm-b-1"]))  # not SUB_B
    assert len(fake_slack.calls_to("usergroups.users.list")) == 1  # cached
    call = fake_slack.calls_to("usergroups.users.list")[0]
    assert call.params["usergroup"] == "S0FINOPS"
    assert call.headers["Authorization"] == "Bearer xoxb-test"

    fake_slack.usergroups["S0FINOPS"] = ["UIVY"]  # Gwen left the group
    fixed_clock.current += timedelta(minutes=6)
    assert refused(await asyncio.to_thread(press, core, gwen, ids["vm-web-2"]))
    assert not (await asyncio.to_thread(press, core, ivy, ids["vm-web-2"])).failed
    assert len(fake_slack.calls_to("usergroups.users.list")) == 2

    fake_slack.error("usergroups.users.list", "ratelimited")
    fixed_clock.current += timedelta(minutes=6)
    # Slack failing keeps the last answer rather than letting everyone (or no one) in.
    assert refused(await asyncio.to_thread(press, core, gwen, ids["vm-data-1"]))
    _ = SUB_B
