"""Rate limits: a token bucket per user and per workspace, kept in the database.

Every replica shares the buckets, so a limit holds however many replicas serve. A check is one
statement per bucket, inside one transaction for both (a request refused by its workspace does
not spend its user's token):

    INSERT INTO rate_bucket (key, tokens, updated_at) VALUES (:key, :capacity - 1, :now)
    ON CONFLICT (key) DO UPDATE
        SET tokens = <level now> - 1, updated_at = :now
        WHERE <level now> >= 1
    RETURNING key

where <level now> = min(capacity, tokens + (now - updated_at) × rate). The row lock taken by
the conflicting update (PostgreSQL) or `BEGIN IMMEDIATE` (SQLite) serialises concurrent checks
of one bucket, so two replicas never spend the same token. Nothing comes back when the bucket
is empty: the request is refused with how long until a token is there, and nothing runs.

The terminal is never limited (it is local, and scripts type fast).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, case, delete, literal, select

from core.kernel.context import Platform
from core.kernel.db.engine import write_transaction
from core.kernel.db.tables import RateBucket
from core.kernel.db.upsert import insert_for
from core.kernel.errors import CloudOptimaError
from core.kernel.interaction import Interaction

BUCKET = RateBucket.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Bucket:
    """`per_minute` requests a minute on average, up to `burst` at once."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits of one deployment; None switches one off."""

    user: Bucket | None = Bucket(per_minute=30, burst=10)
    workspace: Bucket | None = Bucket(per_minute=600, burst=200)


class SlowDownError(CloudOptimaError):
    """The requester (or their workspace) is over a rate limit; nothing ran."""

    title = "Slow down"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(
            message, hint=f"Retry in {retry_after_seconds} s; nothing was run this time."
        )
        self.retry_after_seconds = retry_after_seconds


class DatabaseRateLimiter:
    """The front door's `RateLimiter` over the `rate_bucket` table."""

    def __init__(self, engine: Engine, limits: RateLimits | None = None) -> None:
        self.engine = engine
        self.limits = limits or RateLimits()

    def check(self, interaction: Interaction, now: datetime) -> None:
        who = interaction.requester
        if who.platform is Platform.CONSOLE:
            return
        buckets: list[tuple[str, Bucket, str]] = []
        if self.limits.user is not None:
            buckets.append((f"user:{who.principal}", self.limits.user, "you are"))
        if self.limits.workspace is not None and who.workspace_id:
            key = f"workspace:{who.platform}:{who.workspace_id}"
            buckets.append((key, self.limits.workspace, "your workspace is"))
        if not buckets:
            return
        at = now.timestamp()
        with write_transaction(self.engine) as conn:
            for key, bucket, whose in buckets:
                if not take(conn, key[:255], bucket, at):
                    wait = seconds_until_token(conn, key[:255], bucket, at)
                    # Raised inside the transaction: a token taken from an earlier bucket of
                    # this request is given back.
                    raise SlowDownError(
                        f"Slow down: {whose} sending commands and button presses faster than "
                        f"{bucket.per_minute:g} a minute.",
                        retry_after_seconds=wait,
                    )


def _level(bucket: Bucket, at: float):  # type: ignore[no-untyped-def]
    """The bucket's tokens at `at`: refilled since `updated_at`, capped at the burst."""
    elapsed = case((BUCKET.c.updated_at < at, literal(at) - BUCKET.c.updated_at), else_=0.0)
    refilled = BUCKET.c.tokens + elapsed * bucket.per_second
    return case((refilled > bucket.burst, float(bucket.burst)), else_=refilled)


def take(conn: Connection, key: str, bucket: Bucket, at: float) -> bool:
    """Take one token from bucket `key` (created full on first use); False when it is empty."""
    level = _level(bucket, at)
    statement = (
        insert_for(conn, BUCKET)
        .values(key=key, tokens=float(bucket.burst - 1), updated_at=at)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "tokens": level - 1,
                "updated_at": case(
                    (BUCKET.c.updated_at < at, literal(at)), else_=BUCKET.c.updated_at
                ),
            },
            where=level >= 1,
        )
        .returning(BUCKET.c.key)
    )
    return conn.execute(statement).first() is not None


def seconds_until_token(conn: Connection, key: str, bucket: Bucket, at: float) -> int:
    """Whole seconds until bucket `key` holds a token again (at least 1)."""
    row = conn.execute(
        select(BUCKET.c.tokens, BUCKET.c.updated_at).where(BUCKET.c.key == key)
    ).first()
    if row is None:
        return 1
    tokens, updated_at = float(row.tokens), float(row.updated_at)
    level = min(float(bucket.burst), tokens + max(at - updated_at, 0.0) * bucket.per_second)
    return max(1, math.ceil((1 - level) / bucket.per_second))


def forget_full_buckets(engine: Engine, now: datetime, limits: RateLimits) -> int:
    """Drop buckets that have refilled completely (an absent bucket is a full one)."""
    rates = [b for b in (limits.user, limits.workspace) if b is not None]
    if not rates:
        with write_transaction(engine) as conn:
            return int(conn.execute(delete(BUCKET)).rowcount)
    refill = max(b.burst / b.per_second for b in rates)
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                delete(BUCKET).where(BUCKET.c.updated_at < now.timestamp() - refill)
            ).rowcount
        )
