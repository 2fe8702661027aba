"""practice titles stored before the title rule lose their format and control characters, staying unique

Titles lose every format character (Unicode category Cf: zero-width, soft hyphen, bidi controls, ...) and runs of
whitespace when they are saved, and control characters are refused (``bot.register.validation``). Practices stored
before that rule may still hold them: two titles can look the same and compare differently, and a reordering control
changes how a title reads. Here each such title is cleaned: format characters and control characters (other than
whitespace) go, whitespace runs become one space, the ends are trimmed. A title that was nothing else becomes
"Praktijk <id>". When the cleaned title makes the practice the same as another one by the register's key (title and
city compared case-insensitively after NFKC, ``practice_key``), it gets a suffix " (2)", " (3)", ...: titles that
were clean already keep theirs, cleaned ones take suffixes in the order they were stored.

The rule is a frozen copy, not an import of the application's: a migration must do the same on every database it
ever runs on, whatever the application's rule becomes later (and a migration importing the application would break
when a module it uses moves).

Downgrade changes nothing: the characters removed were never meant to be there and cannot be told apart from
mistakes, so they are not put back (going down and up again is safe: the upgrade finds nothing left to clean).

Revision ID: 0019_cleantitles
Revises: 0018_gapquestion
Create Date: 2026-12-05 17:20:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_cleantitles"
down_revision: str | None = "0018_gapquestion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TITLE_LENGTH = 300  # practices.title is String(300)


def clean_title(title: str) -> str:
    """The title rule, frozen: no format (Cf) or control (Cc, but whitespace) characters, one space between words."""
    kept = (
        c
        for c in title
        if not (unicodedata.category(c) == "Cf" or (unicodedata.category(c) == "Cc" and not c.isspace()))
    )
    return " ".join("".join(kept).split())


def comparable(text: str) -> str:
    """How the register compares titles and cities, frozen: NFKC, case-folded, no format characters, one space."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join("".join(c for c in folded if unicodedata.category(c) != "Cf").split())


def upgrade() -> None:
    practices = sa.table(
        "practices", sa.column("id", sa.Integer), sa.column("title", sa.String), sa.column("city", sa.String)
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(practices.c.id, practices.c.title, practices.c.city).order_by(practices.c.id)).all()
    changed = [(pid, title, city or "") for pid, title, city in rows if clean_title(title or "") != (title or "")]
    if not changed:
        return
    taken = {
        (comparable(title or ""), comparable(city or ""))
        for pid, title, city in rows
        if clean_title(title or "") == (title or "")
    }
    for pid, title, city in changed:
        base = clean_title(title) or f"Praktijk {pid}"
        candidate, n = base[:TITLE_LENGTH], 2
        while (comparable(candidate), comparable(city)) in taken:
            suffix = f" ({n})"
            candidate = base[: TITLE_LENGTH - len(suffix)].rstrip() + suffix
            n += 1
        taken.add((comparable(candidate), comparable(city)))
        bind.execute(sa.update(practices).where(practices.c.id == pid).values(title=candidate))


def downgrade() -> None:
    """Nothing: see the module docstring (the removed characters are not put back)."""
