"""Engine factory, transactions and migrations for SQLite (default) and PostgreSQL (production).

SQLite: WAL (readers never block the writer), a busy timeout (writers queue instead of failing with
"database is locked"), foreign keys on, and `BEGIN IMMEDIATE` for write transactions so that two
writers never deadlock upgrading a read lock. PostgreSQL: psycopg 3, `pool_pre_ping` (a replica
survives a database restart), pool size from settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Connections per process on PostgreSQL: the web server, the scheduler and ingestion share them.
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10

_BEGIN_KEY = "cloudoptima_begin"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
    echo: bool = False,
) -> Engine:
    """Create the engine for `url` with the settings each dialect needs."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable under WAL at checkpoint boundaries
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.info.pop(_BEGIN_KEY, "BEGIN"))


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: `BEGIN IMMEDIATE` on SQLite, a plain one elsewhere.

    Commits on success, rolls back on any exception.
    """
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.info[_BEGIN_KEY] = "BEGIN IMMEDIATE"
        with conn.begin():
            yield conn


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one consistent state of the store across its queries.

    SQLite (WAL): a read transaction. PostgreSQL: REPEATABLE READ, with memory for aggregates to
    hash in (the default 4 MB makes a year of cost rows sort on disk) and no JIT (its compile
    time exceeds what it saves on these queries).
    """
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if not is_sqlite(engine):
                conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
                conn.exec_driver_sql("SET LOCAL jit = off")
            yield conn


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """An ORM session inside `write_transaction`; commits when the block ends without error."""
    with write_transaction(engine) as conn, Session(bind=conn) as session:
        yield session
        session.flush()
