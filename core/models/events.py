"""Events already handled (Slack retries, Teams invokes, double clicks): claimed once by key."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from core.dbtypes import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    __tablename__: ClassVar[str] = "processed_event"

    #: e.g. `slack:action:<team>:<message ts>:<action id>:<value hash>` or `teams:invoke:<id>`.
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
