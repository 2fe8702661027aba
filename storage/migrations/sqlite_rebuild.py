"""Rebuilding a table on SQLite without losing the rows that refer to it.

SQLite cannot alter most of a table in place: Alembic's batch mode copies it to a new table, drops the old one and
renames the copy. With foreign key enforcement on (every wieweet connection turns it on), dropping the old table is
a DELETE of all its rows first: ``ON DELETE CASCADE`` then deletes every row referring to it, ``SET NULL`` unlinks
them. ``PRAGMA foreign_keys`` cannot be changed inside a transaction, and deferring the checks does not defer those
actions, so a revision that rebuilds a table others refer to does it inside ``foreign_keys_off()``:

* the earlier revisions of this upgrade are committed first (the database is consistently at the previous
  revision then);
* the body runs in a transaction of its own with enforcement off;
* ``PRAGMA foreign_key_check`` must find nothing broken before it is committed (else it is rolled back);
* enforcement is on again afterwards, whatever happened.

On PostgreSQL (which alters in place) it does nothing but run the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op


@contextmanager
def foreign_keys_off() -> Iterator[None]:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    sqlite = bind.connection.driver_connection
    assert sqlite is not None
    if sqlite.in_transaction:
        sqlite.commit()
    sqlite.execute("PRAGMA foreign_keys=OFF")
    try:
        sqlite.execute("BEGIN")
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"rebuilding the tables broke foreign keys: {broken[:5]}")
        sqlite.commit()
    except BaseException:
        sqlite.rollback()
        raise
    finally:
        sqlite.execute("PRAGMA foreign_keys=ON")
