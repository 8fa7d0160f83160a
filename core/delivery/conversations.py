"""Stored conversation references: saved on install and on every message, looked up to notify.

A notification target names a conversation by `(platform, key)`; `reference_key` derives the key
from the platform's conversation id, so a command can name "this conversation" from its
`Requester.conversation_id` alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlmodel import col

from core.delivery.tables import ConversationRef, ConversationScope
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for

MAX_REASON_LENGTH = 255


def reference_key(conversation_id: str) -> str:
    """A short stable key for a conversation id (Teams ids run to hundreds of characters)."""
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation the bot may post to, as stored."""

    platform: str
    conversation_id: str
    service_url: str
    tenant_id: str
    scope: ConversationScope
    #: The platform's serialized reference (opaque to the core).
    reference: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    disabled_reason: str | None = None

    @property
    def key(self) -> str:
        return reference_key(self.conversation_id)


def save_reference(engine: Engine, record: ConversationRecord, now: datetime) -> bool:
    """Insert or refresh a reference and (re-)enable it; True when a row was written.

    A refresh that changes nothing writes nothing: messages arrive far more often than
    references change.
    """
    table = ConversationRef.__table__  # type: ignore[attr-defined]
    values = {
        "platform": record.platform,
        "key": record.key,
        "conversation_id": record.conversation_id,
        "service_url": record.service_url,
        "tenant_id": record.tenant_id,
        "scope": str(record.scope),
        "reference": record.reference,
        "enabled": True,
        "disabled_reason": None,
        "created_at": now,
        "updated_at": now,
    }
    new_row = insert_for(engine, table).values(**values)
    excluded = new_row.excluded
    changed = or_(
        table.c.service_url.is_distinct_from(excluded.service_url),
        table.c.tenant_id.is_distinct_from(excluded.tenant_id),
        table.c.scope.is_distinct_from(excluded.scope),
        table.c.reference.is_distinct_from(excluded.reference),
        table.c.enabled.is_(False),
    )
    upsert = new_row.on_conflict_do_update(
        index_elements=[table.c.platform, table.c.key],
        set_={
            name: excluded[name]
            for name in (
                "service_url",
                "tenant_id",
                "scope",
                "reference",
                "enabled",
                "disabled_reason",
                "updated_at",
            )
        },
        where=changed,
    ).returning(table.c.id)
    with write_transaction(engine) as conn:
        return conn.execute(upsert).first() is not None


def find_reference(engine: Engine, platform: str, key: str) -> ConversationRecord | None:
    """The stored reference for `(platform, key)`, enabled or not; None when unknown."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ConversationRef.__table__).where(  # type: ignore[attr-defined]
                col(ConversationRef.platform) == platform, col(ConversationRef.key) == key
            )
        ).first()
    if row is None:
        return None
    return ConversationRecord(
        platform=row.platform,
        conversation_id=row.conversation_id,
        service_url=row.service_url,
        tenant_id=row.tenant_id,
        scope=ConversationScope(row.scope),
        reference=dict(row.reference),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
    )


def disable_reference(engine: Engine, platform: str, key: str, reason: str, now: datetime) -> bool:
    """Stop posting to a conversation (uninstalled, removed, refused); True if it was enabled."""
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(ConversationRef)
            .where(
                col(ConversationRef.platform) == platform,
                col(ConversationRef.key) == key,
                col(ConversationRef.enabled).is_(True),
            )
            .values(enabled=False, disabled_reason=reason[:MAX_REASON_LENGTH], updated_at=now)
            .returning(col(ConversationRef.id))
        )
        return result.first() is not None


def conversation_names(
    engine: Engine, platform: str, conversation_ids: Collection[str]
) -> dict[str, str]:
    """Conversation id → the name stored with its reference (`conversation.name`), for those
    that have one: a Teams target shown as "Teams: costs in FinOps", not as an opaque id."""
    if not conversation_ids:
        return {}
    table = ConversationRef.__table__  # type: ignore[attr-defined]
    keys = {reference_key(i): i for i in conversation_ids}
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.key, table.c.reference).where(
                table.c.platform == platform, table.c.key.in_(sorted(keys))
            )
        ).all()
    names: dict[str, str] = {}
    for key, reference in rows:
        name = ((reference or {}).get("conversation") or {}).get("name")
        if isinstance(name, str) and name.strip():
            names[keys[key]] = name.strip()
    return names
