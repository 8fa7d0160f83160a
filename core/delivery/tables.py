"""Delivery's tables: the outbox of messages to send, and the conversations the bot may post to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Index, Integer, String, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, JsonDocument, UTCDateTime


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    DEAD = "dead"  # gave up after the last attempt or a permanent failure


class OutboxMessage(SQLModel, table=True):
    __tablename__: ClassVar[str] = "outbox_message"
    __table_args__: ClassVar[Any] = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_source", "source", "source_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    #: One message per key, ever (e.g. `alert:42:slack:C123`): enqueueing twice is a no-op.
    idempotency_key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    target_kind: str = Field(sa_column=Column(String(16), nullable=False))
    target_address: str = Field(sa_column=Column(String(1024), nullable=False))
    #: The card, serialized by core.kernel.cards_json; rendered for its channel at send time.
    card: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    #: What produced it (`budget_alert`, `digest` …) and that thing's id, for `alerts` listings.
    source: str = Field(sa_column=Column(String(32), nullable=False))
    source_id: str = Field(sa_column=Column(String(64), nullable=False, default=""))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claim_token: str | None = Field(default=None, sa_column=Column(String(64)))
    last_error: str | None = Field(default=None, sa_column=Column(String(2000)))
    #: The last attempt may have delivered (timeout after sending, a crash, a lease taken over):
    #: the next attempt asks the notifier `was_delivered` before sending again.
    uncertain: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    #: The receiver's id of the message this row produced (Slack `ts`, Teams activity id …).
    provider_message_id: str | None = Field(default=None, sa_column=Column(String(255)))
    #: This row updates the message that the row with this idempotency key produced (an
    #: incident's later days edit its first post); None for a new message.
    updates_key: str | None = Field(default=None, sa_column=Column(String(255)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ConversationScope(StrEnum):
    """The kind of conversation (Teams' `conversationType` values)."""

    PERSONAL = "personal"
    GROUP_CHAT = "groupChat"
    CHANNEL = "channel"


class ConversationRef(SQLModel, table=True):
    """A conversation the bot may post to; `(platform, key)` is what a notification target names."""

    __tablename__: ClassVar[str] = "conversation_ref"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("platform", "key", name="uq_conversation_ref_platform_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    platform: str = Field(sa_column=Column(String(16), nullable=False))
    #: Short stable key derived from the conversation id (`conversations.reference_key`).
    key: str = Field(sa_column=Column(String(64), nullable=False))
    conversation_id: str = Field(sa_column=Column(String(1024), nullable=False))
    service_url: str = Field(sa_column=Column(String(512), nullable=False))
    tenant_id: str = Field(sa_column=Column(String(64), nullable=False))
    scope: str = Field(sa_column=Column(String(16), nullable=False))
    #: The platform's serialized reference, enough to resume the conversation.
    reference: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    #: Why the bot stopped posting here (uninstalled, removed, 403 from the platform ...).
    disabled_reason: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
