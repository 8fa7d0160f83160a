"""Digests' tables: subscriptions (with their next slot and a lease while one replica builds
the digest) and runs, whose unique (subscription, slot) is the once-per-slot claim."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, JsonDocument, UTCDateTime


class DigestSubscription(SQLModel, table=True):
    __tablename__: ClassVar[str] = "digest_subscription"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint(
            "target_kind", "target_address", "scope_key", name="uq_digest_subscription_scope"
        ),
        Index("ix_digest_subscription_due", "next_run_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    target_kind: str = Field(sa_column=Column(String(16), nullable=False))
    target_address: str = Field(sa_column=Column(String(1024), nullable=False))
    #: The filters, normalized (lower case, sorted, space separated): one digest per channel
    #: and scope; subscribing again changes its schedule.
    scope_key: str = Field(sa_column=Column(String(512), nullable=False))
    filters: list[str] = Field(default_factory=list, sa_column=Column(JsonDocument, nullable=False))
    frequency: str = Field(sa_column=Column(String(8), nullable=False))
    #: Minutes after local midnight.
    at_minute: int = Field(sa_column=Column(Integer, nullable=False))
    timezone: str = Field(sa_column=Column(String(64), nullable=False))
    weekday: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    weekdays_only: bool = Field(sa_column=Column(Boolean, nullable=False))
    paused_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    next_slot: date = Field(sa_column=Column(Date, nullable=False))
    next_run_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lease_token: str | None = Field(default=None, sa_column=Column(String(64)))
    missed_note: str | None = Field(default=None, sa_column=Column(String(1000)))
    created_by: str = Field(sa_column=Column(String(300), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DigestRun(SQLModel, table=True):
    """One slot of one subscription: delivered (its outbox message) or skipped, and why."""

    __tablename__: ClassVar[str] = "digest_run"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("subscription_id", "slot", name="uq_digest_run_slot"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    subscription_id: int = Field(sa_column=Column(BigId, nullable=False))
    slot: date = Field(sa_column=Column(Date, nullable=False))
    #: delivered | paused | skipped
    status: str = Field(sa_column=Column(String(16), nullable=False))
    scheduled_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ran_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    owner: str = Field(sa_column=Column(String(128), nullable=False))
    outbox_key: str | None = Field(default=None, sa_column=Column(String(255)))
    build_ms: int = Field(default=0, sa_column=Column(Integer, nullable=False))
