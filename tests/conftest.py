"""Shared fixtures: real databases (SQLite file and a throwaway PostgreSQL database per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text

from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.support.receivers import FakeSmtpServer, FakeWebhookReceiver, make_self_signed_cert

POSTGRES_ADMIN_URL = os.environ.get(
    "CLOUDOPTIMA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


_PG_OK: bool | None = None


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable, except in CI where that is a failure."""
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = postgres_available()
    if not _PG_OK:
        if IN_CI:
            pytest.fail("PostgreSQL is required in CI (CI=true) but is not reachable")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")


class PostgresDatabase:
    """A database created for one test and dropped afterwards (tests run in parallel)."""

    def __init__(self) -> None:
        self.name = f"cloudoptima_test_{uuid.uuid4().hex[:12]}"
        self._admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cloudoptima.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    db = PostgresDatabase()
    try:
        yield db.url
    finally:
        db.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """A migrated engine on each database."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))


# -- receivers on 127.0.0.1 (webhooks, SMTP) ----------------------------------------------------


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[FakeWebhookReceiver]:
    receiver = await FakeWebhookReceiver().start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def smtp_cert(tmp_path):
    return make_self_signed_cert(tmp_path)


@pytest.fixture
async def smtp_server(smtp_cert) -> AsyncIterator[FakeSmtpServer]:
    server = await FakeSmtpServer(smtp_cert).start()
    yield server
    await server.stop()
