"""Alembic environment: wieweet runs migrations in-process on a connection it passes in (see storage.db)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
        compare_type=True,
        # our column types (storage.base.UTCDateTime) as the migrations name them: storage.models re-exports them
        user_module_prefix="storage.models.",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:  # plain `alembic` command line, e.g. `alembic -x url=sqlite:///wieweet.db revision --autogenerate`
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with: alembic -x url=sqlite:///./wieweet.db ...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _configure_and_run(conn)
