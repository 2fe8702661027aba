"""Revision 0028_digesttoken: a refusal of the app (its token, a scope) recorded as a channel's refusal of its
digest (``refused_at``, by a release before) is forgotten; a ``no_permission`` on the post is kept."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

from sqlalchemy import text

from handlers.digest_sources import CONFIGURATION_REFUSALS
from storage.db import Database, downgrade, upgrade
from tests.test_migrations import assert_schema_matches_models

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).replace(tzinfo=None)

RUNS = [  # channel, status, the recorded error, refused_at as stored, refused_at after the upgrade
    ("C1", "claimed", "OperatorRefusalError: invalid_auth", AT, None),
    ("C2", "claimed", "OperatorRefusalError: token_revoked", AT, None),
    ("C3", "claimed", "OperatorRefusalError: missing_scope: needs scope chat:write", AT, None),
    ("C4", "claimed", "OperatorRefusalError: account_inactive", AT, None),
    ("C5", "claimed", "OperatorRefusalError: no_permission", AT, AT),  # perhaps the channel's own: kept
    ("C6", "failed", "PermanentPostError: no_permission", AT, AT),
    ("C7", "claimed", "SlackApiError: internal_error", AT, AT),  # overwritten since: what refused it is unknown
    ("C8", "sent", "", None, None),
    ("C9", "claimed", "OperatorRefusalError: not_authed", None, None),
]


def _migration():  # type: ignore[no-untyped-def]
    return importlib.import_module("storage.migrations.versions.0028_digesttoken")


def test_0028_forgets_the_tokens_refusals_kept_as_a_channels_and_keeps_the_others(database: Database) -> None:
    downgrade(database.engine, "0027_digestrefused")
    with database.engine.begin() as conn:
        for channel, status, error, refused_at, _ in RUNS:
            conn.execute(
                text(
                    "INSERT INTO digest_runs (channel_id, period, status, claimed_by, claimed_at, sent_at, "
                    "parts_total, parts_sent, error, refused_at) VALUES (:channel, '2026-W49', :status, 'w1', :at, "
                    "NULL, 1, '[]', :error, :refused_at)"
                ),
                {"channel": channel, "status": status, "error": error, "refused_at": refused_at, "at": AT},
            )
    upgrade(database.engine)
    assert_schema_matches_models(database)

    def stored() -> list[tuple[str, str, str, datetime | None]]:
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT channel_id, status, error, refused_at FROM digest_runs ORDER BY id"))
            return [
                (c, s, e, r if r is None or isinstance(r, datetime) else datetime.fromisoformat(r))
                for c, s, e, r in rows
            ]

    after = stored()
    assert [(c, r.replace(tzinfo=None) if r else None) for c, _, _, r in after] == [
        (c, kept) for c, _, _, _, kept in RUNS
    ]
    assert [(c, s, e) for c, s, e, _ in after] == [(c, s, e) for c, s, e, _, _ in RUNS]  # nothing else changes
    downgrade(database.engine, "0027_digestrefused")  # changes nothing
    upgrade(database.engine)  # and finds nothing more to clear
    assert stored() == after
    assert_schema_matches_models(database)


def test_0028s_frozen_refusals_are_the_applications() -> None:
    """The migration holds a copy (it must not import the Slack layer): the same refusals the code keeps from a
    run's ``refused_at`` now."""
    assert _migration().APP_REFUSALS == CONFIGURATION_REFUSALS


def test_0028_reads_a_refusal_as_the_sender_records_it() -> None:
    from digests.errors import OperatorRefusalError  # noqa: PLC0415
    from digests.sender import _error_text  # noqa: PLC0415

    refused_the_app = _migration().refused_the_app
    assert refused_the_app(_error_text(OperatorRefusalError("token_revoked")))
    assert refused_the_app(_error_text(OperatorRefusalError("missing_scope", "channels:read,groups:read")))
    assert not refused_the_app(_error_text(OperatorRefusalError("no_permission", held=True)))
    assert not refused_the_app("") and not refused_the_app(None)
