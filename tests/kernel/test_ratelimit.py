"""Rate limits: token buckets per user and per workspace in the database, shared by replicas."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.kernel.authz import Role
from core.kernel.cards import Header, Reply, card
from core.kernel.context import CommandContext, CoreConfig, Requester
from core.kernel.db.engine import make_engine
from core.kernel.db.tables import RateBucket
from core.kernel.grammar import ParsedCommand
from core.kernel.interaction import Interaction
from core.kernel.ratelimit import (
    BUCKET,
    Bucket,
    DatabaseRateLimiter,
    RateLimits,
    forget_full_buckets,
)
from core.kernel.routing import ActionSpec, CommandSpec, Router
from core.kernel.service import CloudOptima

ADA = Requester("slack", "U1", "Ada", conversation_id="C1", workspace_id="T1")
BOB = Requester("slack", "U2", "Bob", conversation_id="C1", workspace_id="T1")
CAROL = Requester("slack", "U3", "Carol", conversation_id="C1", workspace_id="T1")
ELSEWHERE = Requester("slack", "U1", "Ada", conversation_id="C9", workspace_id="T2")


def make_core(engine, clock, limits: RateLimits, runs: list[str]) -> CloudOptima:
    def look(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        runs.append(ctx.requester.principal)
        return Reply(card("look", "look", Header("look")))

    def press(value: str, ctx: CommandContext) -> Reply:
        runs.append(f"press {ctx.requester.principal}")
        return Reply(card("pressed", "pressed", Header("pressed")))

    router = Router()
    router.add_command(
        CommandSpec(
            name="look",
            usage="look",
            summary="Look",
            help="Look.",
            role=Role.ANYONE,
            purpose="look",
            handler=look,
        )
    )
    router.add_action(ActionSpec("thing.press", press, Role.ANYONE, "press"))
    return CloudOptima(
        engine,
        clock,
        router,
        CoreConfig(),
        rate_limiter=DatabaseRateLimiter(engine, limits),
    )


def test_over_the_limit_the_user_is_told_to_slow_down_and_nothing_runs(engine, clock):
    runs: list[str] = []
    core = make_core(engine, clock, RateLimits(user=Bucket(6, 3), workspace=None), runs)

    answers = [core.handle(Interaction.command(ADA, "look", f"t{i}")) for i in range(5)]

    assert [a.card.title for a in answers] == ["look"] * 3 + ["Slow down"] * 2
    refused = answers[3]
    assert refused.failed and "faster than 6 a minute" in refused.card.summary
    # 6 a minute: one token every 10 s, and the bucket is empty.
    assert "Retry in 10 s" in str(refused.card.blocks)
    assert runs == ["slack:T1:U1"] * 3
    # Buttons share the user's bucket.
    assert core.handle(Interaction.button(ADA, "thing.press", "1", "b1")).card.title == "Slow down"
    # Not claimed while refused: the same delivery runs once a token has come back.
    clock.current += timedelta(seconds=4)
    assert "Retry in 6 s" in str(core.handle(Interaction.command(ADA, "look", "t3")).card.blocks)
    clock.current += timedelta(seconds=6)
    assert core.handle(Interaction.command(ADA, "look", "t3")).card.title == "look"
    assert core.handle(Interaction.command(ADA, "look", "t3")) is None  # now it was claimed
    # Other people, and the same user id in another workspace, have their own buckets.
    assert core.handle(Interaction.command(BOB, "look", "b-1")).card.title == "look"
    assert core.handle(Interaction.command(ELSEWHERE, "look", "e-1")).card.title == "look"


def test_a_workspace_limit_holds_for_all_its_users_and_refusals_spend_nothing(engine, clock):
    runs: list[str] = []
    limits = RateLimits(user=Bucket(60, 2), workspace=Bucket(60, 3))
    core = make_core(engine, clock, limits, runs)

    titles = [
        core.handle(Interaction.command(who, "look", f"{who.user_id}-{i}")).card.title
        for who in (ADA, BOB)
        for i in range(2)
    ]
    assert titles == ["look", "look", "look", "Slow down"]
    refused = core.handle(Interaction.command(CAROL, "look", "c-1"))
    assert "your workspace is sending" in refused.card.summary
    # Carol's own token was given back with the refusal: her bucket is still full.
    with engine.connect() as conn:
        carol = conn.execute(
            select(BUCKET.c.tokens).where(BUCKET.c.key == "user:slack:T1:U3")
        ).scalar()
    assert carol is None  # never written: the transaction rolled back
    assert core.handle(Interaction.command(ELSEWHERE, "look", "e-1")).card.title == "look"
    assert len(runs) == 4


def test_the_terminal_is_never_limited(engine, clock):
    runs: list[str] = []
    core = make_core(engine, clock, RateLimits(user=Bucket(1, 1), workspace=Bucket(1, 1)), runs)
    me = Requester("console", "ops")
    assert all(core.handle_text("look", me).card.title == "look" for _ in range(5))


def test_two_replicas_share_one_bucket(database_url, engine, clock):
    """Two engines on one database (two replicas): the bucket holds across both, also when
    they take tokens at the same moment from several threads."""
    other = make_engine(database_url)
    try:
        runs: list[str] = []
        limits = RateLimits(user=Bucket(60, 5), workspace=None)
        replicas = [make_core(engine, clock, limits, runs), make_core(other, clock, limits, runs)]

        alternate = [
            replicas[i % 2].handle(Interaction.command(ADA, "look", f"a{i}")).card.title
            for i in range(7)
        ]
        assert alternate == ["look"] * 5 + ["Slow down"] * 2

        clock.current += timedelta(seconds=20)  # 20 tokens due, capped at the burst of 5
        titles: list[str] = []
        lock = threading.Lock()

        def hammer(replica: CloudOptima, name: str) -> None:
            for i in range(6):
                reply = replica.handle(Interaction.command(ADA, "look", f"{name}{i}"))
                with lock:
                    titles.append(reply.card.title)

        threads = [
            threading.Thread(target=hammer, args=(replicas[n % 2], f"h{n}-")) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert titles.count("look") == 5 and titles.count("Slow down") == 19
        assert len(runs) == 10
    finally:
        other.dispose()


def test_refilled_buckets_are_forgotten(engine, clock):
    runs: list[str] = []
    limits = RateLimits(user=Bucket(60, 5), workspace=Bucket(600, 100))
    core = make_core(engine, clock, limits, runs)
    core.handle(Interaction.command(ADA, "look", "x"))
    assert forget_full_buckets(engine, clock.now(), limits) == 0
    clock.current += timedelta(seconds=11)  # the workspace bucket refills in 10 s, the user's 5
    assert forget_full_buckets(engine, clock.now(), limits) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RateBucket)).scalar() == 0


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (1, 0), (-1, 5)])
def test_a_bucket_needs_a_rate_and_a_burst(per_minute, burst):
    with pytest.raises(ValueError):
        Bucket(per_minute, burst)
