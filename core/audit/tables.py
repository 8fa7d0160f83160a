"""The audit trail's one table. Append-only: the application inserts rows and never updates or
deletes one (tests/audit check the code and the database refuses it: triggers on SQLite and
PostgreSQL, created by the migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, JsonDocument, UTCDateTime


class AuditRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "audit_event"
    __table_args__: ClassVar[Any] = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_subject", "subject"),
        Index("ix_audit_event_principal", "principal"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    request_id: str = Field(sa_column=Column(String(64), nullable=False))
    #: slack, teams, console, system (the realized-savings watcher, snooze expiry).
    platform: str = Field(sa_column=Column(String(16), nullable=False))
    user_id: str = Field(sa_column=Column(String(128), nullable=False))
    #: The requester's principal as the policy matched it (opaque: `slack:U1`, `slack:T1:U1`).
    principal: str = Field(sa_column=Column(String(300), nullable=False))
    #: The display name at the time (people rename themselves; the id is what counts).
    user_name: str = Field(sa_column=Column(String(256), nullable=False))
    #: Slack team id / Teams tenant id, and the channel or conversation.
    workspace_id: str = Field(sa_column=Column(String(128), nullable=False))
    channel_id: str = Field(sa_column=Column(String(300), nullable=False))
    #: approve, dismiss, snooze, re-open, implemented, request-approval, refused …
    action: str = Field(sa_column=Column(String(32), nullable=False))
    #: What it was about: `rec:12`, or the refused command / button.
    subject: str = Field(sa_column=Column(String(400), nullable=False))
    #: `done` or `refused`.
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(String(1000), nullable=False))
    previous_state: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    new_state: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    #: The recommendation's id when the subject is one (`audit rec 12`).
    rec_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    #: Anything else worth keeping: the snooze end, the saving at the time, the source.
    detail: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
