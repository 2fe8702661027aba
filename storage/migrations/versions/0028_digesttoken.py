"""digest_runs: a refusal of the app's token recorded as the channel refusing its digest is forgotten

A release before this one kept ``refused_at`` on a week's digest run for every refusal that keeps the digest due,
the token's own among them (``invalid_auth``, ``token_revoked``, a missing scope…). Such a refusal is the
operator's to fix, the same for every channel: yet the run's ``refused_at`` made its channel count as one that
refuses the app, asked after the others for up to four weeks (``digests.refusals.REFUSALS_REMEMBERED_WEEKS``). Since
then only Slack's ``no_permission`` on the post (perhaps the channel's own) is kept there. Here ``refused_at`` is
cleared on every run whose recorded error is such a refusal of the app (``OperatorRefusalError: <Slack's error>``,
with ``: needs scope …`` after a missing scope). A run whose error was overwritten since by another one keeps its
``refused_at``: what refused it cannot be told any more.

The refusals are a frozen copy of the application's (``handlers.digest_sources.CONFIGURATION_REFUSALS``), not an
import: a migration must do the same on every database it runs on, and must not import the Slack layer
(``tests/test_migrations_digesttoken.py`` checks the copy against the application's list).

Downgrade changes nothing: the refusals cleared were never the channels' (going down and up again is safe).

Revision ID: 0028_digesttoken
Revises: 0027_digestrefused
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_digesttoken"
down_revision: str | None = "0027_digestrefused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Slack's refusals of the app itself (its token, a scope the method needs), frozen: ``CONFIGURATION_REFUSALS``
APP_REFUSALS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
    }
)
PREFIX = "OperatorRefusalError: "  # how the sender recorded such a refusal (``digests.sender._error_text``)


def refused_the_app(error: str | None) -> bool:
    """Whether a run's recorded ``error`` is a refusal of the app (``APP_REFUSALS``), not of its channel."""
    if not error or not error.startswith(PREFIX):
        return False
    return error[len(PREFIX) :].split(":", 1)[0].strip() in APP_REFUSALS


def upgrade() -> None:
    runs = sa.table(
        "digest_runs", sa.column("id", sa.Integer), sa.column("error", sa.Text), sa.column("refused_at", sa.DateTime)
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(runs.c.id, runs.c.error).where(runs.c.refused_at.is_not(None))).all()
    ids = [row.id for row in rows if refused_the_app(row.error)]
    for start in range(0, len(ids), 500):
        bind.execute(sa.update(runs).where(runs.c.id.in_(ids[start : start + 500])).values(refused_at=None))


def downgrade() -> None:
    pass
