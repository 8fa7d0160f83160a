"""The kernel's own tables: events already handled, and scheduled job runs; both claimed by key."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Column, Double, Integer, String
from sqlmodel import Field, SQLModel

from core.kernel.db.types import UTCDateTime


class ProcessedEvent(SQLModel, table=True):
    __tablename__: ClassVar[str] = "processed_event"

    #: e.g. `slack:action:<team>:<message ts>:<action id>:<value hash>` or `teams:invoke:<id>`.
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class JobRunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class JobRun(SQLModel, table=True):
    __tablename__: ClassVar[str] = "job_run"

    #: The job's registered name (`ingest`, `budgets`, `budgets.after.ingest`, `cleanup` …).
    job: str = Field(sa_column=Column(String(64), primary_key=True))
    #: The scheduled fire time truncated to the job's interval: the same on every replica.
    slot: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    #: Which replica ran it (host:pid), for the logs.
    owner: str = Field(sa_column=Column(String(128), nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer))
    error: str | None = Field(default=None, sa_column=Column(String(2000)))
    #: While running: the owner renews it (heartbeat); once it passed, another replica takes
    #: the slot over.
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RateBucket(SQLModel, table=True):
    """One token bucket of the rate limits (`core.kernel.ratelimit`): a user or a workspace."""

    __tablename__: ClassVar[str] = "rate_bucket"

    #: `user:<principal>` or `workspace:<platform>:<workspace id>`.
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    #: Tokens left at `updated_at` (fractions accrue between requests).
    tokens: float = Field(sa_column=Column(Double, nullable=False))
    #: Seconds since the Unix epoch (arithmetic in SQL, the same on SQLite and PostgreSQL).
    updated_at: float = Field(sa_column=Column(Double, nullable=False, index=True))
