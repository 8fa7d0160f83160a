"""Helpers for the digest tests: a core with digests, a runner, the outbox's digest rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from core.app import FeatureConfigs, create_core
from core.delivery.tables import OutboxMessage
from core.digests.model import DigestsConfig
from core.digests.run import DigestRunner
from core.kernel.cards import Actions, Context, Facts, Table
from core.kernel.cards_json import card_from_dict
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from core.kernel.service import CloudOptima

ALICE = Requester("slack", "UALICE", "Alice", conversation_id="C0FINOPS1", workspace_id="T1")
BOB = Requester("slack", "UBOB", "Bob", conversation_id="C0TEAMWEB", workspace_id="T1")
TEAMS = Requester("teams", "aad-7", "Tess", conversation_id="19:abc@thread.tacv2")
CONSOLE = Requester("console", "ops")
CONFIG = DigestsConfig(lease=timedelta(seconds=60))


def core_with_digests(
    engine: Engine, clock: FixedClock, config: DigestsConfig = CONFIG
) -> CloudOptima:
    return create_core(engine, clock, features=FeatureConfigs(digests=config))


def runner(engine: Engine, clock: FixedClock, owner: str = "r1", **kw) -> DigestRunner:
    return DigestRunner(engine, clock, kw.pop("config", CONFIG), owner=owner, **kw)


def digest_messages(engine: Engine) -> list:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(
            select(table).where(table.c.source == "digest").order_by(table.c.id)
        ).all()


def text_of(view) -> str:
    parts = [view.title, view.summary]
    for block in view.blocks:
        if isinstance(block, Facts):
            parts.extend(f"{f.label}: {f.value}" for f in block.facts)
        elif isinstance(block, Table):
            parts.extend(" | ".join(row) for row in block.rows)
        elif isinstance(block, Actions):
            parts.extend(f"[{b.label} {b.action_id} {b.value}]" for b in block.buttons)
        elif isinstance(block, Context) or hasattr(block, "text"):
            parts.append(block.text)
    return "\n".join(parts)


def card_of(row):
    return card_from_dict(row.card)
