"""The declarative base of the schema (``storage.models``) and the column types every table uses.

* ``Base``: the one metadata, with a naming convention so constraints and indexes get stable names in every
  migration, and the type map (``datetime`` columns are ``UTCDateTime``, ``dict``/``list`` columns JSON);
* ``UTCDateTime``: timezone-aware UTC in and out, stored naive UTC, the same on SQLite and PostgreSQL;
* ``enum_column``: an enumeration stored as a short string with a CHECK constraint (``native_enum=False``).

``storage.models`` re-exports ``Base``, ``UTCDateTime`` and ``utcnow``: migrations name ``storage.models.UTCDateTime``
(Alembic renders it so, see ``storage/migrations/env.py``).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def enum_column(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# The tables whose ids travel outside a row (Slack button values, modal metadata, messages and pending requests,
# dedupe keys, watermarks) never give an id twice: SQLite otherwise reuses the highest id after that row is deleted
# (an erased expert's id for the next one), so an old claim would pass its check and reach another person or record.
# PostgreSQL's sequences never reuse. Revision 0026_sqliteids rebuilt the existing tables so.
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}
