"""Subscribing channels: validation, upsert by channel, unsubscribe, audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from digests.errors import InvalidChannel, InvalidSchedule, UnknownTheme
from digests.subscriptions import (
    get_subscription,
    list_subscriptions,
    parse_time,
    parse_weekday,
    resolve_themes,
    subscribe,
    unsubscribe,
)
from storage.db import Database
from storage.models import AuditLog
from tests.digests.conftest import NOW, seed_themes


def _subscribe(database: Database, channel: str = "C0WONEN02", **kw: object) -> None:
    values: dict[str, object] = {
        "channel_is_private": False,
        "themes": [],
        "weekday": 0,
        "hour": 9,
        "minute": 0,
        "language": "nl",
        "post_empty": False,
        "created_by": "U0STAFF",
        "now": NOW,
    }
    values.update(kw)
    with database.session() as s:
        subscribe(s, channel_id=channel, **values)  # type: ignore[arg-type]


def test_parse_weekday_and_time() -> None:
    assert [parse_weekday(d) for d in ("mon", "Tue", "woensdag", "do", "friday", "za.", "ZO")] == [0, 1, 2, 3, 4, 5, 6]
    assert parse_time("09:00") == (9, 0)
    assert parse_time("9.30") == (9, 30)
    assert parse_time("16u45") == (16, 45)
    assert parse_time("7") == (7, 0)
    for bad in ("", "1", "monday1", "lundi"):
        with pytest.raises(InvalidSchedule):
            parse_weekday(bad)
    for bad in ("24:00", "9:60", "nine", "", "09:0", "-1:00"):
        with pytest.raises(InvalidSchedule):
            parse_time(bad)


def test_subscribe_is_an_upsert_by_channel(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
    _subscribe(database, themes=["wonen", "Europa en EU-financiering", "EFRO", "wonen"])
    with database.session() as s:
        subscription = get_subscription(s, channel_id="C0WONEN02")
        assert subscription is not None
        assert subscription.themes == ["wonen", "europa"]
        assert (subscription.weekday, subscription.hour, subscription.language) == (0, 9, "nl")
    _subscribe(
        database, themes=[], weekday=4, hour=16, minute=30, language="en", post_empty=True, now=NOW + timedelta(1)
    )
    with database.session() as s:
        subscriptions = list_subscriptions(s)
        assert len(subscriptions) == 1
        changed = subscriptions[0]
        assert (changed.themes, changed.weekday, changed.hour, changed.minute) == ([], 4, 16, 30)
        assert changed.language == "en" and changed.post_empty and changed.created_by == "U0STAFF"
        assert changed.updated_at == NOW + timedelta(1)
        assert [a.action for a in s.query(AuditLog).order_by(AuditLog.id)] == ["subscribe", "subscribe"]


def test_unsubscribe_and_resubscribe(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
    _subscribe(database, "C0EU00001", themes=["europa"])
    with database.session() as s:
        assert unsubscribe(s, channel_id="C0EU00001", now=NOW)
        assert not unsubscribe(s, channel_id="C0EU00001", now=NOW)
        assert not unsubscribe(s, channel_id="C0NEVER01", now=NOW)
        assert list_subscriptions(s, active_only=True) == []
        assert len(list_subscriptions(s)) == 1
    _subscribe(database, "C0EU00001", themes=["wonen"])
    with database.session() as s:
        again = get_subscription(s, channel_id="C0EU00001")
        assert again is not None and again.active and again.themes == ["wonen"]


def test_private_channel_may_subscribe(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
    _subscribe(database, "G0PRIVATE", channel_is_private=True)
    with database.session() as s:
        subscription = get_subscription(s, channel_id="G0PRIVATE")
        assert subscription is not None and subscription.channel_is_private


def test_invalid_input_is_refused_with_a_clear_error(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        with pytest.raises(UnknownTheme, match=r"'wonnen' \(did you mean 'wonen'\?\)"):
            resolve_themes(s, ["wonnen"])
        with pytest.raises(UnknownTheme, match="'sport'"):
            resolve_themes(s, ["wonen", "sport"])
    with pytest.raises(InvalidChannel):
        _subscribe(database, "#wonen")
    with pytest.raises(InvalidSchedule):
        _subscribe(database, weekday=7)
    with pytest.raises(InvalidSchedule):
        _subscribe(database, hour=24)
    with pytest.raises(InvalidSchedule):
        _subscribe(database, language="fr")
    with database.session() as s:
        assert list_subscriptions(s) == []
