"""The front door's one pipeline: request id → rate limit → route → authorization (the role on
the spec, checked when it runs) → claim → audit → handler → error card. Written once, so each
rule holds for every command, subcommand and button alike; only what runs is claimed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from core.kernel.authz import Role
from core.kernel.cards import Header, Reply, Severity, card
from core.kernel.context import CommandContext, CoreConfig, Requester
from core.kernel.errors import PermissionDeniedError, ThrottledError
from core.kernel.grammar import ParsedCommand
from core.kernel.interaction import Interaction, claim_keys
from core.kernel.routing import ActionSpec, CommandSpec, Router, Subcommand
from core.kernel.service import AuditEvent, CloudOptima

ADA = Requester("slack", "U1", "Ada", conversation_id="C1", workspace_id="T1")
ADMIN = Requester("slack", "UADMIN", "Boss", conversation_id="C1", workspace_id="T1")


@dataclass
class Ran:
    """Records every handler run: what ran, for whom, with which request id."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def handler(self, name: str):
        def run(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
            self.calls.append((name, ctx.requester.principal, ctx.request_id))
            return Reply(card(name, name, Header(name)))

        return run

    def button(self, name: str):
        def press(value: str, ctx: CommandContext) -> Reply:
            self.calls.append((f"{name}={value}", ctx.requester.principal, ctx.request_id))
            return Reply(card(name, name, Header(name)), replace_original=True)

        return press

    def owner_only(self, name: str):
        """A button whose handler has its own rule about one object: only U1 may press it."""

        def press(value: str, ctx: CommandContext) -> Reply:
            if ctx.requester.user_id != "U1":
                raise PermissionDeniedError("Only its owner may press this.")
            self.calls.append((f"{name}={value}", ctx.requester.principal, ctx.request_id))
            return Reply(card(name, name, Header(name)), replace_original=True)

        return press


@dataclass
class FakeAuditor:
    events: list[AuditEvent] = field(default_factory=list)

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


@dataclass
class FakeRateLimiter:
    limited: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    def check(self, interaction: Interaction, now: datetime) -> None:
        self.seen.append(interaction.requester.principal)
        if interaction.requester.principal in self.limited:
            raise ThrottledError("You are sending commands too fast.", retry_after_seconds=20)


def make_core(sqlite_engine, clock, ran: Ran, **hooks) -> CloudOptima:
    router = Router()
    router.add_command(
        CommandSpec(
            name="look",
            usage="look",
            summary="Look",
            help="Look.",
            role=Role.VIEWER,
            purpose="look around",
            handler=ran.handler("look"),
        )
    )
    router.add_command(
        CommandSpec(
            name="thing",
            usage="thing make|drop",
            summary="Things",
            help="Things.",
            role=Role.VIEWER,
            purpose="see things",
            subcommands=(
                Subcommand("make", ran.handler("thing make"), Role.VIEWER, "make things"),
                Subcommand("drop", ran.handler("thing drop"), Role.ADMIN, "drop things", ("rm",)),
            ),
            default_subcommand="make",
        )
    )
    router.add_action(ActionSpec("thing.drop", ran.button("drop"), Role.ADMIN, "drop things"))
    router.add_action(ActionSpec("thing.mine", ran.owner_only("mine"), Role.VIEWER, "see things"))
    config = CoreConfig(
        admins=frozenset({"slack:UADMIN"}),
        viewers=frozenset({"slack:U1"}),
        home_workspaces={"slack": "T1"},  # the short principals mean workspace T1's users
    )
    return CloudOptima(sqlite_engine, clock, router, config, **hooks)


def test_a_redelivered_command_runs_once(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    first = core.handle(Interaction.command(ADA, "look", "trigger-1"))
    again = core.handle(Interaction.command(ADA, "look", "trigger-1"))
    assert first is not None and again is None
    assert [c[0] for c in ran.calls] == ["look"]


def test_a_second_press_of_one_rendered_button_runs_once(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    press = Interaction.button(ADMIN, "thing.drop", "42", "C1\x1f1700.1\x1fblock-a")
    assert core.handle(press) is not None
    assert core.handle(press) is None
    assert ran.calls == [("drop=42", "slack:T1:UADMIN", ran.calls[0][2])]


def test_the_terminal_is_never_claimed(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    me = Requester("console", "ops")
    core.config = CoreConfig(viewers=None)
    for _ in range(3):
        assert core.handle_text("look", me).card.title == "look"
    assert len(ran.calls) == 3


def test_one_key_scheme_for_every_platform_and_kind_scoped_by_workspace():
    slack = Interaction.command(ADA, "look", "id-1")
    other_workspace = Interaction.command(
        Requester("slack", "U1", workspace_id="T2"), "look", "id-1"
    )
    teams = Interaction.command(Requester("teams", "U1", workspace_id="T1"), "look", "id-1")
    button = Interaction.button(ADA, "thing.drop", "1", "id-1")
    keys = [claim_keys(i)[0] for i in (slack, other_workspace, teams, button)]
    assert len(set(keys)) == 4
    assert keys[0].startswith("slack:command:") and keys[2].startswith("teams:command:")
    assert keys[3].startswith("slack:action:")
    assert all(len(k) < 80 for k in keys)


def test_every_interaction_gets_a_request_id_that_the_handler_sees(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    core.handle(Interaction(ADA, text="look", request_id="req-given"))
    core.handle(Interaction.command(ADA, "look"))
    given, made = (c[2] for c in ran.calls)
    assert given == "req-given"
    assert made and made != given


def test_the_role_declared_on_a_subcommand_is_checked_before_it_runs(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    refused = core.handle_text("thing rm widget", ADA)
    assert refused.card.severity is Severity.ERROR
    assert "You are not allowed to drop things." in str(refused.card.blocks)
    assert "slack:T1:U1" in str(refused.card.blocks)  # what to ask an admin for
    assert core.handle_text("thing make widget", ADA).card.title == "thing make"
    assert core.handle_text("thing", ADA).card.title == "thing make"  # the default subcommand
    assert [c[0] for c in ran.calls] == ["thing make", "thing make"]


def test_a_button_is_authorized_when_pressed_not_when_drawn(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    # The card with the button was drawn for an admin; the admin list changed since.
    core.config = CoreConfig(admins=frozenset(), viewers=frozenset({"slack:T1:UADMIN"}))
    refused = core.handle(Interaction.button(ADMIN, "thing.drop", "42", "press-1"))
    assert refused is not None and refused.card.severity is Severity.ERROR
    assert ran.calls == []


def test_a_press_refused_by_its_role_does_not_use_the_button_up(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    rendered = "C1\x1f1700.1\x1fblock-a"
    refused = core.handle(Interaction.button(ADA, "thing.drop", "42", rendered))
    assert refused is not None and refused.card.title == "Not allowed"
    # The same rendered button, pressed by someone allowed to: it runs, once.
    assert core.handle(Interaction.button(ADMIN, "thing.drop", "42", rendered)) is not None
    assert core.handle(Interaction.button(ADMIN, "thing.drop", "42", rendered)) is None
    assert [c[:2] for c in ran.calls] == [("drop=42", "slack:T1:UADMIN")]


def test_a_press_the_feature_refuses_gives_its_claim_back(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    rendered = "C1\x1f1700.2\x1fblock-b"
    refused = core.handle(Interaction.button(ADMIN, "thing.mine", "7", rendered))
    assert refused is not None and "Only its owner" in refused.card.summary
    assert core.handle(Interaction.button(ADA, "thing.mine", "7", rendered)) is not None
    assert core.handle(Interaction.button(ADA, "thing.mine", "7", rendered)) is None
    assert [c[:2] for c in ran.calls] == [("mine=7", "slack:T1:U1")]


def test_a_refused_command_is_not_claimed_either(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    assert core.handle(Interaction.command(ADA, "thing drop x", "trigger-3")).card.title == (
        "Not allowed"
    )
    # A redelivery of the refused command is refused again (nothing ran, nothing was claimed).
    again = core.handle(Interaction.command(ADA, "thing drop x", "trigger-3"))
    assert again is not None and again.card.title == "Not allowed"
    assert ran.calls == []


def test_the_auditor_sees_every_decision_allowed_or_refused(sqlite_engine, clock):
    ran, auditor = Ran(), FakeAuditor()
    core = make_core(sqlite_engine, clock, ran, auditor=auditor)
    core.handle_text("look", ADA)
    core.handle_text("thing drop x", ADA)
    core.handle_action("thing.drop", "7", ADMIN)
    seen = [(e.name, e.requester.principal, e.role, e.allowed) for e in auditor.events]
    assert seen == [
        ("look", "slack:T1:U1", Role.VIEWER, True),
        ("thing drop", "slack:T1:U1", Role.ADMIN, False),
        ("thing.drop", "slack:T1:UADMIN", Role.ADMIN, True),
    ]
    assert all(e.request_id and e.at == clock.now() for e in auditor.events)


def test_refusals_by_a_features_own_rule_are_audited_and_logged(sqlite_engine, clock, caplog):
    ran, auditor = Ran(), FakeAuditor()
    core = make_core(sqlite_engine, clock, ran, auditor=auditor)
    with caplog.at_level("WARNING", logger="core.kernel.service"):
        core.handle(Interaction.button(ADMIN, "thing.mine", "7", "C1\x1f1700.3"))
        core.handle_text("thing drop x", ADA)
    # Allowed by the spec's role, then refused by the feature: both decisions are recorded.
    seen = [(e.name, e.requester.principal, e.allowed, e.reason) for e in auditor.events]
    assert seen == [
        ("thing.mine", "slack:T1:UADMIN", True, ""),
        ("thing.mine", "slack:T1:UADMIN", False, "Only its owner may press this."),
        ("thing drop", "slack:T1:U1", False, "You are not allowed to drop things."),
    ]
    assert auditor.events[1].requester.workspace_id == "T1"
    refusals = [r.getMessage() for r in caplog.records if "permission refused" in r.getMessage()]
    assert len(refusals) == 2
    assert "principal=slack:T1:UADMIN route=thing.mine" in refusals[0]
    assert "principal=slack:T1:U1 route=thing drop role=admin" in refusals[1]


def test_a_short_principal_means_the_single_configured_workspace_only(sqlite_engine, clock):
    ran = Ran()
    core = make_core(sqlite_engine, clock, ran)
    twin = Requester("slack", "UADMIN", "Mallory", conversation_id="C9", workspace_id="T2")
    # `slack:UADMIN` is listed, and T1 is the one configured workspace: T2's UADMIN is nobody.
    assert core.handle_text("thing drop x", twin).card.title == "Not allowed"
    assert core.handle_text("look", twin).card.title == "Not allowed"  # not a viewer either
    assert core.handle_text("thing drop x", ADMIN).card.title == "thing drop"
    # The full form names its workspace; a whole workspace can be listed too.
    core.config = CoreConfig(admins=frozenset({"slack:T2:UADMIN"}), viewers=frozenset())
    assert core.handle_text("thing drop x", twin).card.title == "thing drop"
    assert core.handle_text("thing drop x", ADMIN).card.title == "Not allowed"
    core.config = CoreConfig(viewers=frozenset({"slack:T2:*"}))
    assert core.handle_text("look", twin).card.title == "look"
    assert core.handle_text("look", ADA).card.title == "Not allowed"
    # Without a single configured workspace, the short form matches nobody with a workspace.
    core.config = CoreConfig(admins=frozenset({"slack:UADMIN"}))
    assert core.handle_text("thing drop x", ADMIN).card.title == "Not allowed"


def test_a_rate_limited_request_is_refused_before_it_is_claimed(sqlite_engine, clock):
    ran, limiter = Ran(), FakeRateLimiter(limited={"slack:T1:U1"})
    core = make_core(sqlite_engine, clock, ran, rate_limiter=limiter)
    refused = core.handle(Interaction.command(ADA, "look", "trigger-9"))
    assert refused is not None and "too fast" in refused.card.summary
    assert "20 s" in str(refused.card.blocks)
    limiter.limited.clear()
    # Not claimed while limited: the same delivery runs once the limit lifts.
    assert core.handle(Interaction.command(ADA, "look", "trigger-9")) is not None
    assert [c[0] for c in ran.calls] == ["look"]
    assert limiter.seen == ["slack:T1:U1", "slack:T1:U1"]


def test_unknown_commands_and_buttons_get_a_helpful_refusal(sqlite_engine, clock):
    core = make_core(sqlite_engine, clock, Ran())
    typo = core.handle_text("lok", ADA)
    assert "Did you mean `look`?" in str(typo.card.blocks)
    stale = core.handle_action("thing.vanished", "1", ADA)
    assert "older version of this message" in stale.card.summary
    sub = core.handle_text("thing frob", ADA)
    assert "I don't know `thing frob`." in sub.card.summary


def test_routers_are_instances_features_register_into():
    one, two = Router(), Router()
    spec = CommandSpec(
        name="x",
        usage="x",
        summary="X",
        help="X.",
        role=Role.ANYONE,
        purpose="x",
        handler=None,
        subcommands=(Subcommand("y", lambda c, x: None, Role.ANYONE, "y"),),  # type: ignore
    )
    one.add_command(spec)
    assert [s.name for s in one.specs()] == ["x"] and two.specs() == ()
    with pytest.raises(ValueError, match="declared twice"):
        one.add_command(spec)
    with pytest.raises(ValueError, match="handler or subcommands"):
        CommandSpec(name="z", usage="z", summary="Z", help="Z.", role=Role.ANYONE, purpose="z")
