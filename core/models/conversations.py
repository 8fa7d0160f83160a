"""Where the bot can post on its own: one stored conversation reference per chat, channel or DM.

Captured when the bot is installed or added to a conversation and refreshed on every message, so
that notifications (budget alerts, digests) can reach a conversation nobody has spoken in lately.
Platform-neutral: the reference itself is the platform's JSON (a Bot Framework
`ConversationReference` for Teams), opaque to the core.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.dbtypes import JsonDocument, UTCDateTime


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
    #: Short stable key derived from the conversation id (`core.conversations.reference_key`).
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
