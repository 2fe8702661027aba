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

That commit makes the rebuild permanent before Alembic writes the revision it reached (its version row comes after
the revision's body, committed at the end of the upgrade). A process stopped in between (killed, the disk full)
would leave the schema one revision ahead of its version row, and the next upgrade would run the revision again on
a table already rebuilt. So with ``step`` (the revision the database is at, the one the body brings it to) the
version row moves in the same commit as the rebuild; afterwards it is put back, uncommitted, for Alembic's own
update to move it again. Stopped anywhere, the database is at one revision or the other, schema and row alike.

On PostgreSQL (which alters in place) it does nothing but run the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import op

VERSION_TABLE = "alembic_version"  # Alembic's default, which wieweet keeps


@contextmanager
def foreign_keys_off(step: tuple[str | None, str | None] | None = None) -> Iterator[None]:
    """Run the body as a rebuild (see the module): ``step`` is (the revision before, the revision after) in the
    direction of this migration, ``(down_revision, revision)`` in an upgrade, ``(revision, down_revision)`` in a
    downgrade."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    sqlite = bind.connection.driver_connection
    assert sqlite is not None
    if sqlite.in_transaction:
        sqlite.commit()
    sqlite.execute("PRAGMA foreign_keys=OFF")
    moved = False
    try:
        sqlite.execute("BEGIN")
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"rebuilding the tables broke foreign keys: {broken[:5]}")
        moved = _move_version(sqlite, step)
        sqlite.commit()
    except BaseException:
        sqlite.rollback()
        raise
    finally:
        sqlite.execute("PRAGMA foreign_keys=ON")  # outside a transaction: inside one SQLite ignores it
    if moved and step is not None:  # Alembic moves it itself next, in the transaction this opens
        _move_version(sqlite, (step[1], step[0]))


def _move_version(sqlite: Any, step: tuple[str | None, str | None] | None) -> bool:
    """Move the version row from ``step[0]`` to ``step[1]``; whether it was there to move."""
    if step is None or step[0] is None or step[1] is None:
        return False
    before, after = step
    moved = sqlite.execute(
        f"UPDATE {VERSION_TABLE} SET version_num = ? WHERE version_num = ?",
        (after, before),
    )
    return bool(moved.rowcount == 1)
