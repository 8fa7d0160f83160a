"""The engine's front door: adapters hand it an `Interaction` and get a `Reply` back.

Every command and every button goes through one pipeline, so a cross-cutting rule is written once:

    request id → rate limit → route → authorization (the role declared on the command,
    subcommand or button, checked when it runs) → idempotency claim → audit → handler → error
    card

Only what runs is claimed: a press refused by authorization (the spec's role, or a feature's
own rule about one object, e.g. only a budget's owner may delete it) leaves the button usable by
the next person, and a claim is released when the handler refuses the requester, or answers
with a form (the press needs inputs first: nothing was done). Every refusal, by the policy or by
the handler, reaches the audit hook.

It never raises. Expected errors become friendly cards; anything else is logged with the request
id, and the user sees only that id. A delivery seen before (a Slack retry, a double click)
returns None: the first one is answering.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.kernel.authz import Role, require
from core.kernel.cards import Card, Context, Header, Reply, Severity, Text, Visibility, card
from core.kernel.claims import claim_once, release_claim, was_claimed
from core.kernel.clock import Clock
from core.kernel.context import CommandContext, CoreConfig, Requester
from core.kernel.errors import CloudOptimaError, PermissionDeniedError
from core.kernel.grammar import parse
from core.kernel.interaction import Interaction, claim_keys
from core.kernel.routing import Route, Router

log = logging.getLogger(__name__)
#: Told of every interaction: the route's name, the outcome, the seconds it took (metrics).
Observer = Callable[[str, str, float], None]

#: The request being handled, for log lines (the bot's log setup adds it to every record).
REQUEST_ID: ContextVar[str] = ContextVar("cloudoptima_request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


# -- hooks: cross-cutting rules that later features fill in ---------------------------------------


class RateLimiter(Protocol):
    def check(self, interaction: Interaction, now: datetime) -> None:
        """Raise a `CloudOptimaError` (with when to retry) when the requester is over a limit."""
        ...


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One authorization decision: who tried what, and whether the policy allowed it."""

    request_id: str
    requester: Requester
    #: The route (`budget create`) or button action id.
    name: str
    role: Role
    allowed: bool
    at: datetime
    #: What it was about: the command line or the button's value (clipped).
    target: str = ""
    #: Why it was refused (the refusal's message), for refused events.
    reason: str = ""


class Auditor(Protocol):
    def record(self, event: AuditEvent) -> None: ...


class NoRateLimit:
    def check(self, interaction: Interaction, now: datetime) -> None:
        return None


class NoAudit:
    def record(self, event: AuditEvent) -> None:
        return None


# -- the front door ------------------------------------------------------------------------------


class CloudOptima:
    """Channel-agnostic command and action handling over one database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        router: Router,
        config: CoreConfig | None = None,
        *,
        rate_limiter: RateLimiter | None = None,
        auditor: Auditor | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.router = router
        self.config = config or CoreConfig()
        self.rate_limiter: RateLimiter = rate_limiter or NoRateLimit()
        self.auditor: Auditor = auditor or NoAudit()
        self.observer = observer

    def handle(self, interaction: Interaction) -> Reply | None:
        """Run one interaction; None when this delivery was handled before.

        Its request id: the interaction's, else the one bound by the caller (an HTTP request's
        `X-Request-ID`), else a new one. One line is logged per interaction, with fields, and
        the observer (metrics) is told the route, the outcome and the duration.
        """
        request_id = interaction.request_id or REQUEST_ID.get() or new_request_id()
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        seen = _Seen()
        reply: Reply | None = None
        try:
            reply = self._safely(
                lambda: self._run(interaction, request_id, seen), interaction, request_id
            )
        finally:
            _log_handled(interaction, reply, time.perf_counter() - started)
            REQUEST_ID.reset(token)
        if self.observer is not None:
            self.observer(seen.name, _outcome(reply, seen), time.perf_counter() - started)
        return reply

    def handle_text(self, text: str, requester: Requester) -> Reply:
        """Run one command line typed where every line is meant (the terminal, tests)."""
        reply = self.handle(Interaction.command(requester, text))
        assert reply is not None  # nothing to claim: never a repeat
        return reply

    def handle_action(
        self,
        action_id: str,
        value: str,
        requester: Requester,
        inputs: Mapping[str, str] | None = None,
    ) -> Reply:
        """Press one button where every press is meant (the terminal, tests)."""
        reply = self.handle(Interaction.button(requester, action_id, value, inputs=inputs))
        assert reply is not None
        return reply

    # -- the pipeline ----------------------------------------------------------------------------

    def _run(self, interaction: Interaction, request_id: str, seen: _Seen) -> Reply | None:
        now = self.clock.now()
        if not self._within_rate_limit(interaction, now, seen):
            return None
        route = self._route(interaction)
        seen.name = route.name
        inputs = dict(interaction.press.inputs) if interaction.press else {}
        ctx = CommandContext(
            interaction.requester, self.engine, self.clock, self.config, request_id, inputs
        )
        target = _target(interaction)
        try:
            require(ctx, route.role, route.purpose)
        except PermissionDeniedError as refusal:
            seen.outcome = "refused"
            self._audit(request_id, ctx, route, now, target, refusal)
            raise
        claimed = self._claim(interaction, now)
        if claimed is None:
            log.info("ignored a repeated delivery of %s", interaction.what)
            return None
        self._audit(request_id, ctx, route, now, target)
        try:
            reply = route.run(ctx)
        except PermissionDeniedError as refusal:
            # The feature refused this requester (a rule about one object): the press did not
            # run, so the next person may use the button.
            self._release(claimed)
            seen.outcome = "refused"
            self._audit(request_id, ctx, route, self.clock.now(), target, refusal)
            raise
        if reply.form is not None:
            self._release(claimed)  # it asks for inputs first: nothing was done yet
        return reply

    def _within_rate_limit(self, interaction: Interaction, now: datetime, seen: _Seen) -> bool:
        """Raise the limiter's "slow down" when over a limit; False for a redelivery of
        something already answered (no second answer, not even a "slow down")."""
        try:
            self.rate_limiter.check(interaction, now)
        except CloudOptimaError:
            if any(was_claimed(self.engine, key) for key in claim_keys(interaction)):
                return False
            seen.outcome = "throttled"
            raise
        return True

    def _audit(
        self,
        request_id: str,
        ctx: CommandContext,
        route: Route,
        now: datetime,
        target: str,
        refusal: PermissionDeniedError | None = None,
    ) -> None:
        """Every decision is recorded by the auditor; every refusal is also logged."""
        if refusal is not None:
            log.warning(
                "permission refused: principal=%s route=%s role=%s request_id=%s",
                ctx.requester.principal,
                route.name,
                route.role,
                request_id,
            )
        event = AuditEvent(
            request_id,
            ctx.requester,
            route.name,
            route.role,
            refusal is None,
            now,
            target=target,
            reason="" if refusal is None else refusal.message,
        )
        try:
            self.auditor.record(event)
        except Exception:
            # An audit hook that cannot write must not turn a refusal into an internal error;
            # the log keeps what it could not store.
            log.exception("could not record the audit event for %s", route.name)

    def _claim(self, interaction: Interaction, now: datetime) -> list[str] | None:
        """Claim every delivery id of the interaction: the keys claimed, or None at the first
        one seen before."""
        claimed: list[str] = []
        for key in claim_keys(interaction):
            if not claim_once(self.engine, key, now):
                return None
            claimed.append(key)
        return claimed

    def _release(self, keys: list[str]) -> None:
        for key in keys:
            release_claim(self.engine, key)

    def _route(self, interaction: Interaction) -> Route:
        if interaction.text is not None:
            return self.router.route(parse(interaction.text))
        assert interaction.press is not None
        return self.router.press(interaction.press.action_id, interaction.press.value)

    def _safely(
        self, run: Callable[[], Reply | None], interaction: Interaction, request_id: str
    ) -> Reply | None:
        try:
            return run()
        except CloudOptimaError as exc:
            return error_reply(exc)
        except OperationalError:
            log.exception("database error while handling %s", interaction.what)
            return error_reply(
                CloudOptimaError(
                    "The database is busy or unreachable right now.",
                    hint="Nothing was lost; try again in a few seconds.",
                )
            )
        except Exception:
            log.exception("unexpected error %s while handling %s", request_id, interaction.what)
            return Reply(
                internal_error_card(request_id), visibility=Visibility.PRIVATE, failed=True
            )


def _target(interaction: Interaction) -> str:
    if interaction.text is not None:
        return interaction.text[:400]
    assert interaction.press is not None
    return interaction.press.value[:400]


@dataclass(slots=True)
class _Seen:
    """What the pipeline learnt about one request, for the observer."""

    #: The route's name once known (`costs`, `budget create`, `costs.drilldown`).
    name: str = "unknown"
    #: Why a failed reply failed, when the pipeline knows (throttled, refused).
    outcome: str = "ok"


def _outcome(reply: Reply | None, seen: _Seen) -> str:
    if reply is None:
        return "repeat"
    if reply.failed:
        return seen.outcome if seen.outcome != "ok" else "error"
    return "ok"


def _log_handled(interaction: Interaction, reply: Reply | None, seconds: float) -> None:
    who = interaction.requester
    if reply is None:
        outcome = "repeat"
    elif reply.failed:
        outcome = "failed"
    else:
        outcome = "ok"
    name = (
        (interaction.text or "").split(" ", 1)[0]
        if interaction.press is None
        else interaction.press.action_id
    )
    log.info(
        "interaction handled",
        extra={
            "platform": str(who.platform),
            "user": who.user_id,
            "workspace": who.workspace_id,
            "channel": who.conversation_id,
            "command" if interaction.press is None else "action": name[:60],
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 1),
        },
    )


def error_card(error: CloudOptimaError) -> Card:
    """An expected error as a card: what was wrong, and what to do about it."""
    return card(
        error.title,
        error.message,
        Header(error.title),
        Text(error.message),
        *([Context(error.hint)] if error.hint else []),
        severity=Severity.ERROR,
    )


def internal_error_card(reference: str) -> Card:
    """What a person sees when something broke on our side: only a reference to quote (also in
    the summary, which is what notifications and text fallbacks show)."""
    error = CloudOptimaError(
        "Something went wrong on our side.",
        hint=f"It has been logged as {reference}; quote that when reporting it.",
    )
    view = error_card(error)
    summary = f"Something went wrong on our side; it has been logged as {reference}."
    return card(view.title, summary, *view.blocks, severity=view.severity)


def error_reply(error: CloudOptimaError) -> Reply:
    """An error as a card, visible only to the person who asked (a failed request)."""
    return Reply(error_card(error), visibility=Visibility.PRIVATE, failed=True)
