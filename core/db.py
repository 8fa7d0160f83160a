"""Engine factory, transactions and migrations for SQLite (default) and PostgreSQL (production).

SQLite: WAL (readers never block the writer), a busy timeout (writers queue instead of failing with
"database is locked"), foreign keys on, and `BEGIN IMMEDIATE` for write transactions so that two
writers never deadlock upgrading a read lock. PostgreSQL: psycopg 3, `pool_pre_ping` (a replica
survives a database restart), pool size from settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Insert, bindparam, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

import core.models  # noqa: F401  (registers every table on the metadata)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
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


def insert_many(
    conn: Connection, statement: Insert, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Run `statement` (an INSERT, typically `… ON CONFLICT DO NOTHING RETURNING …`) for every
    row; the RETURNING rows of the rows it inserted.

    PostgreSQL: psycopg's pipelined `executemany(…, returning=True)` of the statement compiled
    once, values through the columns' bind processors, results as the driver returns them.
    SQLAlchemy would batch the rows into multi-row VALUES statements, and psycopg then parses
    every placeholder of those in Python: for the ~3,000 alert and outbox rows of a large budget
    pass that took 3-4× the time of the pipeline. SQLite: SQLAlchemy's executemany.

    Every row names the same columns, and the statement must not need any other (a column with
    a Python-side default is given explicitly).
    """
    if not rows:
        return []
    if is_sqlite(conn):
        return [tuple(r) for r in conn.execute(statement, list(rows))]
    names = list(rows[0])
    compiled = statement.values({name: bindparam(name) for name in names}).compile(
        dialect=conn.dialect
    )
    if set(compiled.binds) != set(names):
        missing = sorted(set(compiled.binds) - set(names))
        raise ValueError(f"insert_many: give every column explicitly (missing: {missing})")
    columns = statement.table.c
    processors = [
        (name, columns[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
        for name in names
    ]
    params = [
        {name: process(row[name]) if process else row[name] for name, process in processors}
        for row in rows
    ]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(str(compiled), params, returning=True)
        out: list[tuple[Any, ...]] = []
        while True:
            out.extend(cursor.fetchall())
            if not cursor.nextset():
                return out
    finally:
        cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (what `cloudoptima db upgrade` runs)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
