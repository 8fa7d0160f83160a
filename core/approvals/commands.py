"""Approve / Dismiss / Snooze / Re-open buttons (from any card: the recommendation's own, a
digest), `rec <id> approve|dismiss|snooze|reopen|request-approval …`, and `savings [period]`.

Every decision is checked when it is pressed: the button's role lets anyone who may see
recommendations reach the handler, and the handler asks the scoped policy
(`core.approvals.policy`) about this item's scope — a refusal is answered privately, claims
nothing, and is audited by the front door.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from core.approvals import presenters
from core.approvals.actions import ApprovalsAction
from core.approvals.decide import Decided, Lost, Request, decide
from core.approvals.grammar import (
    REQUEST,
    SAVINGS_HELP,
    SAVINGS_USAGE,
    clean_reason,
    parse_days,
    parse_decision,
    parse_savings_period,
)
from core.approvals.model import ApprovalRole, ApprovalsConfig, Decision, DecisionState, Verb
from core.approvals.policy import Policy, rec_scope
from core.approvals.realized import baseline_daily, baseline_window, read_daily
from core.approvals.savings import savings_card, savings_report
from core.approvals.store import read_decision, read_decisions, set_values
from core.approvals.watch import reopen_expired
from core.audit.model import Actor, AuditAction, AuditEntry
from core.audit.store import append
from core.delivery.outbox import enqueue
from core.delivery.targets import parse_target
from core.kernel.authz import Role
from core.kernel.cards import ASK_CHOICE, ASK_TEXT, Card, Form, Reply, Severity, Visibility
from core.kernel.context import CommandContext
from core.kernel.db.engine import write_transaction
from core.kernel.errors import NotFoundError, UserInputError
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import ActionSpec, CommandSpec, Router
from core.recommendations.actions import RecsAction, decision_buttons
from core.recommendations.model import DecisionView, Status, StoredRecommendation
from core.recommendations.store import all_recommendations, get_recommendation

#: Draws a recommendation's card with its decision (the recommendations feature's presenter,
#: handed in by `core.app`: features do not import each other's presenters).
DetailRenderer = Callable[[StoredRecommendation, DecisionView | None], Card]

_NEEDED = {
    Verb.APPROVE: ApprovalRole.APPROVER,
    Verb.DISMISS: ApprovalRole.APPROVER,
    Verb.SNOOZE: ApprovalRole.APPROVER,
    Verb.REOPEN: ApprovalRole.ADMIN,
}
_PURPOSE = {
    Verb.APPROVE: "approve recommendations",
    Verb.DISMISS: "dismiss recommendations",
    Verb.SNOOZE: "snooze recommendations",
    Verb.REOPEN: "re-open decisions",
}


def parse_value(value: str) -> tuple[int, int]:
    """A decision button's value, `"<rec id>:<version>"`."""
    head, sep, tail = value.partition(":")
    if (
        not sep
        or not (head.isascii() and head.isdigit() and len(head) <= 12)
        or not (tail.isascii() and tail.isdigit() and len(tail) <= 9)
    ):
        raise UserInputError(
            "That button carries no recommendation.",
            hint="Open the recommendation again with `rec <id>`.",
        )
    return int(head), int(tail)


def decision_views(engine: Engine, rec_ids: Sequence[int]) -> dict[int, DecisionView]:
    """Every asked id's decision view (undecided ones: open, version 0). For any card that
    shows recommendations (digests): `view.buttons` are the buttons to draw."""
    with engine.connect() as conn:
        found = read_decisions(conn, rec_ids)
    return {i: presenters.view(found.get(i) or Decision(i)) for i in rec_ids}


@dataclass
class Approvals:
    """The approvals feature: implements the recommendations feature's `DecisionPort`."""

    config: ApprovalsConfig
    policy: Policy
    render: DetailRenderer | None = None

    # -- the port ---------------------------------------------------------------------------

    def views(self, ctx: CommandContext, rec_ids: Sequence[int]) -> Mapping[int, DecisionView]:
        reopen_expired(ctx.engine, ctx.clock.now(), ctx.request_id)
        return decision_views(ctx.engine, rec_ids)

    def command(self, rec_id: int, args: tuple[str, ...], ctx: CommandContext) -> Reply:
        words = parse_decision(rec_id, args)
        rec = self._rec(ctx, rec_id)
        if words.verb == REQUEST:
            return self._request(rec, words.reason, ctx)
        reply = self._decide(rec, Verb(words.verb), None, words.reason, words.snooze_days, ctx)
        return replace(reply, replace_original=False)

    # -- buttons ----------------------------------------------------------------------------

    def button(self, verb: Verb) -> Callable[[str, CommandContext], Reply]:
        def press(value: str, ctx: CommandContext) -> Reply:
            rec_id, version = parse_value(value)
            rec = self._rec(ctx, rec_id)
            self._require(ctx, rec, verb)  # at click time, before asking anything
            reason = clean_reason(ctx.inputs.get(ASK_TEXT, ""))
            days = None
            if verb is Verb.SNOOZE:
                chosen = ctx.inputs.get(ASK_CHOICE, "").strip()
                days = parse_days(chosen) if chosen else None
            if verb in (Verb.DISMISS, Verb.SNOOZE) and (
                not reason or (verb is Verb.SNOOZE and days is None)
            ):
                return self._form(rec_id, version, verb)
            return self._decide(rec, verb, version, reason, days, ctx)

        return press

    def _form(self, rec_id: int, version: int, verb: Verb) -> Reply:
        action = RecsAction.DISMISS if verb is Verb.DISMISS else RecsAction.SNOOZE
        button = next(b for b in decision_buttons(rec_id, version) if b.action_id == action)
        return Reply(
            presenters.form_card(button),
            visibility=Visibility.PRIVATE,
            form=Form(button),
        )

    # -- deciding ---------------------------------------------------------------------------

    def _rec(self, ctx: CommandContext, rec_id: int) -> StoredRecommendation:
        rec = get_recommendation(ctx.engine, rec_id)
        if rec is None:
            raise NotFoundError(
                f"There is no recommendation #{rec_id}.", hint="`recs` lists the open ones."
            )
        return rec

    def _require(self, ctx: CommandContext, rec: StoredRecommendation, verb: Verb) -> None:
        r = rec.recommendation
        self.policy.require(
            ctx, rec_scope(r.subscription_id, r.resource_group), _NEEDED[verb], _PURPOSE[verb]
        )

    def _card(self, ctx: CommandContext, rec: StoredRecommendation) -> Card:
        current = get_recommendation(ctx.engine, rec.id) or rec
        view = decision_views(ctx.engine, [rec.id])[rec.id]
        if self.render is not None:
            return self.render(current, view)
        return presenters.compact_card(current, view)

    def _baseline(self, ctx: CommandContext, rec: StoredRecommendation) -> Decimal:
        """The mean daily effective cost of the 30 days before today (kept with an approval)."""
        approved = ctx.today()
        start, end = baseline_window(approved)
        rid = rec.recommendation.resource_id.lower()
        return baseline_daily(read_daily(ctx.engine, [rid], start, end).get(rid), approved)

    def _decide(
        self,
        rec: StoredRecommendation,
        verb: Verb,
        version: int | None,
        reason: str,
        days: int | None,
        ctx: CommandContext,
    ) -> Reply:
        self._require(ctx, rec, verb)
        if rec.status is not Status.OPEN and verb is not Verb.REOPEN:
            raise UserInputError(
                f"Recommendation #{rec.id} was {rec.resolution or rec.status}; there is nothing "
                "to decide any more.",
                hint="`recs` lists the open ones.",
            )
        reopen_expired(ctx.engine, ctx.clock.now(), ctx.request_id)
        baseline = self._baseline(ctx, rec) if verb is Verb.APPROVE else None
        result = decide(
            ctx.engine,
            Request(
                rec=rec,
                verb=verb,
                actor=Actor.of(ctx.requester),
                request_id=ctx.request_id,
                now=ctx.clock.now(),
                version=version,
                reason=reason,
                snooze_days=days,
                baseline_daily=baseline,
                two_person_rule=self.config.two_person_rule,
            ),
        )
        if isinstance(result, Decided):
            return Reply(self._card(ctx, rec), visibility=Visibility.PUBLIC, replace_original=True)
        if isinstance(result, Lost):
            return Reply(
                presenters.lost_card(rec.id, result.current),
                visibility=Visibility.PRIVATE,
                failed=True,
            )
        fresh = presenters.with_note(self._card(ctx, rec), presenters.STALE_NOTE)
        return Reply(fresh, visibility=Visibility.PRIVATE, failed=True)

    # -- two-person rule ----------------------------------------------------------------------

    def _request(self, rec: StoredRecommendation, note: str, ctx: CommandContext) -> Reply:
        r = rec.recommendation
        scope = rec_scope(r.subscription_id, r.resource_group)
        self.policy.require(ctx, scope, ApprovalRole.VIEWER, "ask for approvals")
        if rec.status is not Status.OPEN:
            raise UserInputError(f"Recommendation #{rec.id} is {rec.status}; nothing to approve.")
        target = None
        if self.config.approvers_channel:
            target = parse_target(self.config.approvers_channel, ctx.requester)
        now = ctx.clock.now()
        actor = Actor.of(ctx.requester)
        with write_transaction(ctx.engine) as conn:
            current = read_decision(conn, rec.id)
            if current.state is not DecisionState.OPEN:
                raise UserInputError(
                    f"Recommendation #{rec.id} is already {current.state}.",
                    hint=presenters.summary(current),
                )
            if not set_values(
                conn,
                rec.id,
                current.version,
                {
                    "requested_by": actor.principal[:300],
                    "requested_by_name": (actor.user_name or actor.user_id)[:256],
                    "requested_at": now,
                    "version": current.version + 1,
                },
                now,
            ):
                raise UserInputError(
                    f"Recommendation #{rec.id} changed just now.", hint="Try again."
                )
            append(
                conn,
                AuditEntry(
                    at=now,
                    request_id=ctx.request_id,
                    actor=actor,
                    action=AuditAction.REQUEST_APPROVAL,
                    subject=f"rec:{rec.id}",
                    reason=note,
                    previous_state=str(current.state),
                    new_state=str(current.state),
                    rec_id=rec.id,
                    detail={
                        "version": current.version + 1,
                        "posted_to": str(target) if target else None,
                    },
                ),
            )
        view_card = self._card(ctx, rec)
        if target is not None:
            with write_transaction(ctx.engine) as conn:
                enqueue(
                    conn,
                    key=f"approval-request:{rec.id}:{current.version + 1}",
                    target=target,
                    card=presenters.with_note(
                        view_card,
                        f"{actor.shown} asks for an approval"
                        + (f": {note}" if note else "")
                        + (
                            " (two-person rule: another approver decides)."
                            if self.config.two_person_rule
                            else "."
                        ),
                        Severity.INFO,
                    ),
                    source="approval-request",
                    source_id=str(rec.id),
                    now=now,
                )
            where = "the approvers' channel"
        else:
            where = "nobody (no approvers' channel is configured: CLOUDOPTIMA_APPROVERS_CHANNEL)"
        return Reply(
            presenters.with_note(
                view_card,
                f"Approval requested; the card was sent to {where}.",
                Severity.SUCCESS,
            ),
            visibility=Visibility.PRIVATE,
        )

    # -- savings ------------------------------------------------------------------------------

    def savings(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        today: date = ctx.today()
        period = parse_savings_period(cmd.args, today)
        recs = {s.id: s for s in all_recommendations(ctx.engine)}
        with ctx.engine.connect() as conn:
            found = read_decisions(conn)
        report = savings_report(period, found.values(), recs)
        view = savings_card(report)
        return Reply(view, visibility=Visibility.PUBLIC if cmd.public else Visibility.PRIVATE)


def register(router: Router, approvals: Approvals) -> None:
    for action, verb in (
        (RecsAction.APPROVE, Verb.APPROVE),
        (RecsAction.DISMISS, Verb.DISMISS),
        (RecsAction.SNOOZE, Verb.SNOOZE),
        (ApprovalsAction.REOPEN, Verb.REOPEN),
    ):
        # VIEWER at the door: the scoped policy decides inside, at click time.
        router.add_action(ActionSpec(action, approvals.button(verb), Role.VIEWER, _PURPOSE[verb]))
    router.add_command(
        CommandSpec(
            name="savings",
            usage=SAVINGS_USAGE,
            summary="Approved, implemented and realized savings: expected vs realized",
            help=SAVINGS_HELP,
            role=Role.VIEWER,
            purpose="see realized savings",
            handler=approvals.savings,
        )
    )
