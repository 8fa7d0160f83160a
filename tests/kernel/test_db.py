from sqlalchemy import text

from core.kernel.db.engine import make_engine, normalize_url


def test_sqlite_runs_in_wal_with_a_busy_timeout_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_postgresql_urls_use_psycopg_with_pre_ping_and_the_configured_pool():
    assert normalize_url("postgresql+psycopg2://u:p@h/db").startswith("postgresql+psycopg://u:p@")
    engine = make_engine("postgresql://u@127.0.0.1/db", pool_size=7, max_overflow=3)
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping is True
    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 3)
