"""Alembic environment: runs on the engine handed over by `core.kernel.db.migrate.upgrade`
(or the URL)."""

from alembic import context
from sqlalchemy import create_engine

from core.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
