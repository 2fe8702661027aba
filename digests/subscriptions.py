"""Digest subscriptions: which channel gets which themes, when, in which language.

A private channel may subscribe (its own members then see the digest), but the content rule does not change:
a digest only ever shows public content.

From chat, only the channel's members (by Slack's data) and knowledge-centre staff may change a channel's
subscription (``require_may_manage``); the command line is staff.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.errors import Count, Problem
from bot.i18n import LANGUAGES
from bot.staff_notices import DigestStopped
from bot.text import is_slack_channel_id, shown_value
from digests.errors import InvalidChannel, InvalidSchedule, UnknownTheme
from digests.schedule import DAY_NAMES
from storage import digest_repo, outbox_repo, register_repo
from storage.models import DigestSubscription, OutboxKind

SHOWN_THEMES = 5  # how many refused themes a refusal names; the rest it counts
SHOWN_CHANNELS = 5  # how many refused digest channels staff's notice names; the rest it counts
_TIME = re.compile(r"^(\d{1,2})(?:[:.hu](\d{2}))?$", re.ASCII)
_DAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday", "ma", "maandag"),
        ("tue", "tuesday", "di", "dinsdag"),
        ("wed", "wednesday", "wo", "woensdag"),
        ("thu", "thursday", "do", "donderdag"),
        ("fri", "friday", "vr", "vrijdag"),
        ("sat", "saturday", "za", "zaterdag"),
        ("sun", "sunday", "zo", "zondag"),
    )
):
    for _name in _names:
        _DAYS[_name] = _index


def require_may_manage(actor: Actor, *, channel_id: str, action: str, member_of: Callable[[str], bool]) -> None:
    """Only a member of the channel (``member_of``: Slack's answer for the actor) or staff may ``action`` its digest;
    anyone else is refused before anything is read or written."""
    if actor.is_staff or (actor.slack_id and member_of(channel_id)):
        return
    raise NotAuthorized(action, target=f"channel:{channel_id}", code="not_channel_member")


# The input refused below is an English line (logs, Slack's form) that the command line says in its operator's
# language (``bot.operator_texts``: a ``Problem`` code, the value quoted by ``shown_value``).


def validate_channel(channel_id: str) -> str:
    """A Slack conversation id as Slack writes it (``C0123ABCD``). Not upper-cased: that made the name ``cultuur``
    the id ``CULTUUR``, a subscription that can never post."""
    value = (channel_id or "").strip()
    if not is_slack_channel_id(value):
        english = (
            f"invalid Slack channel id {channel_id!r}: give the channel id, not its name (an id is C, G or D "
            "and at least 8 capitals and digits, such as C0123ABCD; the channel's details show it at the bottom)"
        )
        raise InvalidChannel(message=Problem(english, "input_channel_id", {"value": shown_value(channel_id or "")}))
    return value


def parse_weekday(value: str) -> int:
    """``mon`` … ``sun`` (also Dutch ``ma`` … ``zo`` and full names) → 0 = Monday … 6 = Sunday."""
    day = _DAYS.get((value or "").strip().lower().rstrip("."))
    if day is None:
        english = f"invalid day {value!r}: use one of {', '.join(DAY_NAMES)}"
        raise InvalidSchedule(message=Problem(english, "input_day", {"value": shown_value(value or "")}))
    return day


def parse_time(value: str) -> tuple[int, int]:
    """``09:00`` (also ``9:00``, ``9.30``, ``9u30``, ``9``) → (hour, minute), in the network's time zone."""
    match = _TIME.match((value or "").strip().lower())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return hour, minute
    english = f"invalid time {value!r}: use HH:MM (24-hour, local time), e.g. 09:00"
    raise InvalidSchedule(message=Problem(english, "input_time", {"value": shown_value(value or "")}))


def validate_schedule(*, weekday: int, hour: int, minute: int, language: str) -> None:
    if not 0 <= weekday <= 6:
        english = f"invalid weekday {weekday}: 0 (Monday) … 6 (Sunday)"
        raise InvalidSchedule(message=Problem(english, "input_weekday", {"value": str(weekday)}))
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        clock = f"{hour:02d}:{minute:02d}"
        raise InvalidSchedule(message=Problem(f"invalid time {clock}", "input_clock", {"value": clock}))
    if language not in LANGUAGES:
        english = f"invalid language {language!r}: use {' or '.join(LANGUAGES)}"
        raise InvalidSchedule(message=Problem(english, "input_language", {"value": shown_value(language)}))


def _theme_names(themes: Sequence[Any]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Each theme's key and labels (folded) -> its key; each synonym (folded) -> the keys it may mean."""
    lookup: dict[str, str] = {}
    synonyms: dict[str, set[str]] = {}
    for theme in themes:
        for name in (theme.key, theme.label_nl, theme.label_en):
            if name.strip():
                lookup.setdefault(name.strip().casefold(), theme.key)
        for synonym in theme.synonyms or []:
            synonyms.setdefault(str(synonym).strip().casefold(), set()).add(theme.key)
    return lookup, synonyms


def resolve_themes(session: Session, values: Sequence[str]) -> list[str]:
    """Theme keys for what was typed (a key, a Dutch or English label, or a synonym of exactly one theme).

    Raises ``UnknownTheme`` naming every value that matches nothing (with a suggestion when there is one).
    """
    themes = register_repo.list_themes(session)
    lookup, synonyms = _theme_names(themes)
    keys: list[str] = []
    problems: list[Problem] = []  # each value refused, said in the operator's language (``bot.operator_texts``)
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        folded = value.casefold()
        key = lookup.get(folded)
        if key is None and len(synonyms.get(folded, ())) == 1:
            key = next(iter(synonyms[folded]))
        if key is None:
            close = difflib.get_close_matches(folded, list(lookup), n=1, cutoff=0.75)
            english = f"{value!r}" + (f" (did you mean {lookup[close[0]]!r}?)" if close else "")
            said = {"value": shown_value(value), **({"close": repr(lookup[close[0]])} if close else {})}
            problems.append(Problem(english, "input_theme_close" if close else "input_theme", said))
        elif key not in keys:
            keys.append(key)
    if problems:
        known = ", ".join(t.key for t in themes) or Problem("none — run `wieweet themes list`", "input_no_themes")
        # the first few named, the rest counted ("and 1,995 more"): a pasted list must not become a page-long line
        shown, more = tuple(problems[:SHOWN_THEMES]), len(problems) - SHOWN_THEMES
        refused: dict[str, object] = {"themes": shown, "count": len(problems), "more": Count(max(more, 0))}
        refused["known"] = known
        named = "; ".join(shown) + (f" and {more} more" if more > 0 else "")
        raise UnknownTheme(message=Problem(f"unknown theme {named}. Themes: {known}", "input_themes", refused))
    return keys


def _snapshot(subscription: DigestSubscription) -> dict[str, Any]:
    return {
        "channel_id": subscription.channel_id,
        "channel_is_private": subscription.channel_is_private,
        "themes": list(subscription.themes),
        "weekday": subscription.weekday,
        "hour": subscription.hour,
        "minute": subscription.minute,
        "language": subscription.language,
        "post_empty": subscription.post_empty,
        "active": subscription.active,
    }


def subscribe(
    session: Session,
    *,
    channel_id: str,
    channel_is_private: bool,
    themes: Sequence[str],
    weekday: int,
    hour: int,
    minute: int,
    language: str,
    post_empty: bool,
    created_by: str | None,
    now: datetime,
) -> DigestSubscription:
    """Create or replace (and reactivate) the channel's subscription. ``themes`` empty: all themes."""
    channel = validate_channel(channel_id)
    validate_schedule(weekday=weekday, hour=hour, minute=minute, language=language)
    keys = resolve_themes(session, themes)
    values: dict[str, Any] = {
        "channel_is_private": channel_is_private,
        "themes": keys,
        "weekday": weekday,
        "hour": hour,
        "minute": minute,
        "language": language,
        "post_empty": post_empty,
        "active": True,
    }
    subscription = digest_repo.get_subscription(session, channel_id=channel)
    before = _snapshot(subscription) if subscription is not None else None
    if subscription is None:
        subscription = digest_repo.create_subscription(
            session,
            subscription=DigestSubscription(
                channel_id=channel, created_by=created_by, created_at=now, updated_at=now, **values
            ),
        )
    else:
        for name, value in values.items():
            setattr(subscription, name, value)
        subscription.updated_at = now
    session.flush()
    register_repo.create_audit_log(
        session,
        actor=created_by or "system",
        action="subscribe",
        entity_type="digest_subscription",
        entity_key=channel,
        before=before,
        after=_snapshot(subscription),
        now=now,
    )
    return subscription


def unsubscribe(session: Session, *, channel_id: str, now: datetime, actor: str | None = None) -> bool:
    """Stop the channel's digest (the row stays, inactive). False when it had no active subscription."""
    subscription = digest_repo.get_subscription(session, channel_id=validate_channel(channel_id))
    if subscription is None or not subscription.active:
        return False
    before = _snapshot(subscription)
    subscription.active = False
    subscription.updated_at = now
    session.flush()
    register_repo.create_audit_log(
        session,
        actor=actor or "system",
        action="unsubscribe",
        entity_type="digest_subscription",
        entity_key=subscription.channel_id,
        before=before,
        after=_snapshot(subscription),
        now=now,
    )
    return True


# Slack's answers (and the events) that say the bot cannot post in a channel any more until a person acts: archived,
# deleted, or the bot removed from it. Retrying next week cannot help.
CHANNEL_GONE = frozenset({"is_archived", "not_in_channel", "channel_not_found"})


def stop_gone_channel(session: Session, *, channel_id: str, reason: str, now: datetime) -> bool:
    """The channel is gone for the bot (``reason``: one of ``CHANNEL_GONE``, or the event that said so): its
    subscription is turned off (audited, actor ``system``, with the reason) and staff are told once (a
    ``DigestStopped`` for the triage channel, by DM to each staff member when that channel cannot take it). Nothing
    turns it on again by itself — an unarchived channel or the bot invited back included: staff (or the channel's
    members) subscribe it again. False, and nothing written, when it had no active subscription (told before)."""
    subscription = digest_repo.get_subscription(session, channel_id=channel_id)
    if subscription is None or not subscription.active:
        return False
    version = subscription.updated_at.isoformat(timespec="seconds")  # two replicas stopping it at once: one notice
    before = _snapshot(subscription)
    subscription.active = False
    subscription.updated_at = now
    session.flush()
    register_repo.create_audit_log(
        session,
        actor=Actor.system().audit_label,
        action="unsubscribe",
        entity_type="digest_subscription",
        entity_key=subscription.channel_id,
        before=before,
        after={**_snapshot(subscription), "reason": reason[:200]},
        now=now,
    )
    notice = DigestStopped(channel_id=subscription.channel_id, reason=reason[:200])
    outbox.enqueue(session, notice, dedupe_key=f"digest_stopped:{subscription.channel_id}:{version}", now=now)
    return True


def tell_digests_refused(
    session: Session, *, error: str, needed: str, channel_id: str, period: str, now: datetime, method: str = ""
) -> None:
    """Tell staff that the digests of ``period`` wait because Slack refuses them for a reason only the operator can
    fix (``error``, e.g. ``missing_scope``; ``needed``: the scope Slack says is needed; ``method``: the call refused,
    the post or the look-up before it): once per week per cause and call refused, however many passes, replicas
    and channels meet it (``refused_key``; a post refused after a look-up refused the same week is told too). The
    notice names the first channel refused (``channel_id``): the week's first pass's; a later pass, which meets
    another channel first, finds the week's notice queued under the key and queues nothing (never another content
    under that key). Two replicas telling it at the same moment queue it once (``concurrent``): the later one's pass
    goes on. The subscriptions stay on and the runs due."""
    key = refused_key(period=period, method=method, error=error, needed=needed)
    if outbox_repo.get_outbox_message_keyed(session, dedupe_key=key) is not None:
        return  # told this week, naming the channel its first pass met
    if _told_under_legacy_key(session, period=period, method=method, error=error, needed=needed):
        return  # told this week by the release before, under its key
    notice = DigestStopped(
        channel_id=channel_id, reason=error[:200], held=True, needed=needed[:200], method=method[:60]
    )
    outbox.enqueue(session, notice, dedupe_key=key, now=now, concurrent=True)


def tell_sources_refused(
    session: Session, *, refused: Mapping[str, int], error: str, method: str, period: str, now: datetime
) -> None:
    """Tell staff that Slack refused to tell about the channels of ``refused`` (channel -> how many of its questions
    were left out of ``period``'s digests; in the order met), channels questions were asked in (``error``, on
    ``method``): in one notice, however many channels, naming the first ``SHOWN_CHANNELS`` and counting the rest,
    with the questions left out of all the channels told. Each channel is told once a week per error, however many
    passes, processes and replicas meet it (its own outbox key, the key its notice had when each channel was told on
    its own: a channel told so is left out); a channel refused only in a later pass of the week is told then. The
    notice names the channels by their ids (a mention, which Slack shows only to a private channel's members).

    As ``tell_channels_refused`` does: the grouped notice is queued under its first channel's key, and each other
    channel's copy under its own key, due ``GROUPED_WAIT`` later, for a replica of a release before grouped notices
    (which reads only the first channel); this release ends the copies unsent once it sent the grouped notice."""
    told = [
        channel_id
        for channel_id in dict.fromkeys(refused)
        if outbox_repo.get_outbox_message_keyed(session, dedupe_key=_source_key(period, channel_id, method, error))
        is None
    ]
    if not told:
        return
    first, others = told[0], tuple(told[1:SHOWN_CHANNELS])
    reason, call = error[:200], method[:60]
    notice = DigestStopped(
        channel_id=first,
        reason=reason,
        method=call,
        source=True,
        questions=sum(refused[channel_id] for channel_id in told),
        others=others,
        more=len(told) - 1 - len(others),
    )
    key = _source_key(period, first, method, error)
    if outbox.enqueue(session, notice, dedupe_key=key, now=now, concurrent=True):
        for channel_id in told[1:]:
            copy = DigestStopped(
                channel_id=channel_id,
                reason=reason,
                method=call,
                source=True,
                questions=refused[channel_id],
                told_with=first,
            )
            key = _source_key(period, channel_id, method, error)
            outbox.enqueue(session, copy, dedupe_key=key, now=now, concurrent=True, not_before=now + GROUPED_WAIT)


def _source_key(period: str, channel_id: str, method: str, error: str) -> str:
    """The outbox key of the notice of ``period``'s refused source channels that names ``channel_id`` first (the key
    of the notice that told of that channel alone, before they were grouped)."""
    return f"{_SOURCE_REFUSED}:{period}:{channel_id[:40]}:{method[:40]}:{error[:60]}"


_SOURCE_REFUSED = "digest_source_refused"


def tell_channels_refused(
    session: Session, *, channel_ids: Sequence[str], error: str, method: str, period: str, now: datetime
) -> None:
    """Tell staff that Slack refused the digests of ``period`` of ``channel_ids`` (``error``, on ``method``: the post,
    or the look-up before it; the channels one pass failed for the week so, in the order met), so they failed for
    the week: in one notice, however many channels (a refusal of the whole app that started after a digest of the
    week went out meets every channel: 20 subscriptions, one notice), naming the first ``SHOWN_CHANNELS`` and
    counting the rest. Each channel is told once a week, however many passes, processes and replicas meet it: its
    week fails once, in one pass, and the notice's key names its first channel (the key the notice of one channel
    had before: a channel told so, by this release or the one before, is left out). Whoever's refusal it is, the
    channels' or the whole app's, staff hear of it.

    Each channel after the first is also queued on its own, under its own key, due ``GROUPED_WAIT`` later
    (``DigestStopped.told_with``): a replica of a release before grouped notices (a rolling upgrade) reads only the
    first channel of the grouped one, and tells each other channel by that copy. This release ends the copies unsent
    once it sent the grouped notice (``end_told_with``)."""
    told = [
        channel_id
        for channel_id in dict.fromkeys(channel_ids)
        if outbox_repo.get_outbox_message_keyed(session, dedupe_key=_channel_refused_key(period, channel_id)) is None
    ]
    if not told:
        return
    first, others = told[0], tuple(told[1:SHOWN_CHANNELS])
    notice = DigestStopped(
        channel_id=first,
        reason=error[:200],
        method=method[:60],
        refused=True,
        others=others,
        more=len(told) - 1 - len(others),
    )
    if outbox.enqueue(session, notice, dedupe_key=_channel_refused_key(period, first), now=now, concurrent=True):
        for channel_id in told[1:]:
            copy = DigestStopped(
                channel_id=channel_id, reason=error[:200], method=method[:60], refused=True, told_with=first
            )
            key = _channel_refused_key(period, channel_id)
            outbox.enqueue(session, copy, dedupe_key=key, now=now, concurrent=True, not_before=now + GROUPED_WAIT)


# How long the copy of a grouped notice for each channel after the first waits (``tell_channels_refused``): the
# grouped notice is sent well before, and the replica sending it ends the copies (``end_told_with``); a release before
# grouped notices sends them
GROUPED_WAIT = timedelta(hours=1)
TOLD_WITH = "told_with"  # why such a copy ended unsent: its channel was told in the grouped notice


def end_told_with(session: Session, *, dedupe_key: str, now: datetime) -> list[int]:
    """Once the notice queued under ``dedupe_key`` was sent: when it is a grouped notice of refused digest channels
    (``tell_channels_refused``) or source channels (``tell_sources_refused``), end unsent the copies queued for each
    other channel it names or counts whose post has not started, also those claimed (in the same outbox batch as
    the grouped notice, when it went out late: their sender finds them ended, ``end_if_told_with``); one whose post
    started goes out: told twice rather than never. The ids ended."""
    if dedupe_key.startswith(f"{_SOURCE_REFUSED}:"):  # of refused source channels (``tell_sources_refused``)
        _, period, first, cause = dedupe_key.split(":", 3)
        copies = outbox_repo.list_queued_outbox_messages_keyed(session, prefix=f"{_SOURCE_REFUSED}:{period}:")
        ids = [
            m.id
            for m in copies
            if str(m.payload.get("told_with") or "")[:40] == first and (m.dedupe_key or "").endswith(f":{cause}")
        ]
        return outbox_repo.update_outbox_messages_ended_unstarted(session, ids=ids, now=now, reason=TOLD_WITH)
    prefix, _, first = dedupe_key.rpartition(":")
    if not prefix.startswith(f"{_CHANNEL_REFUSED}:"):
        return []
    copies = outbox_repo.list_queued_outbox_messages_keyed(session, prefix=f"{prefix}:")
    ids = [m.id for m in copies if str(m.payload.get("told_with") or "")[:40] == first]
    return outbox_repo.update_outbox_messages_ended_unstarted(session, ids=ids, now=now, reason=TOLD_WITH)


def end_if_told_with(session: Session, *, message_id: int, worker_id: str, now: datetime) -> bool:
    """Right before a notice is posted (by the sender holding its claim as ``worker_id``, in the transaction that
    marks the post started): a copy of a grouped notice of refused digest or source channels (``told_with``), queued
    for a replica of a release before grouped notices, ends unsent (True; reason ``TOLD_WITH``) when this release
    sends, or gave up, the grouped notice, whatever the copy's age: ended by ``end_told_with`` while it was claimed
    (the grouped notice went out in the same batch: Slack out of reach for longer than ``GROUPED_WAIT``, a
    backlog), or the grouped notice not sent yet (waiting, retried, given up: told by DM, grouped). A grouped
    notice sent with its copy still queued was sent by a release before (which names only its first channel): the
    copy goes out. False: post it."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.claimed_by != worker_id or message.kind is not OutboxKind.DIGEST_STOPPED:
        return False
    if message.sent_at is not None or message.failed_at is not None or message.post_started_at is not None:
        return False
    if message.ended_at is not None:  # ended while claimed (``end_told_with``): the claim is released here
        ended = message.ended_reason == TOLD_WITH
    else:
        first = str((message.payload or {}).get("told_with") or "")[:40]
        key = _grouped_key(message.dedupe_key or "", first) if first else None
        grouped = outbox_repo.get_outbox_message_keyed(session, dedupe_key=key) if key is not None else None
        ended = grouped is not None and grouped.sent_at is None
        if ended:
            message.ended_at, message.ended_reason = now, TOLD_WITH
    if ended:
        message.claimed_by = None
        message.claimed_at = None
    return ended


def _grouped_key(copy_key: str, first: str) -> str | None:
    """The outbox key of the grouped notice naming ``first`` first, of which ``copy_key`` is a copy's key."""
    if copy_key.startswith(f"{_SOURCE_REFUSED}:"):
        parts = copy_key.split(":", 3)
        return f"{_SOURCE_REFUSED}:{parts[1]}:{first}:{parts[3]}" if len(parts) == 4 else None
    prefix, _, _ = copy_key.rpartition(":")
    return f"{prefix}:{first}" if prefix.startswith(f"{_CHANNEL_REFUSED}:") else None


def _channel_refused_key(period: str, channel_id: str) -> str:
    """The outbox key of the notice of ``period``'s refused digests that names ``channel_id`` first."""
    return f"{_CHANNEL_REFUSED}:{period}:{channel_id[:40]}"


_CHANNEL_REFUSED = "digest_channel_refused"


def refused_key(*, period: str, method: str, error: str, needed: str) -> str:
    """The outbox key of the week's "digests held" notice for one cause (Slack's ``error`` and the scope ``needed``)
    met on one call (``method``), within the outbox's 200 characters."""
    return f"digest_refused:{period}:{method[:40]}:{error[:60]}:{needed[:70]}"


def _told_under_legacy_key(session: Session, *, period: str, method: str, error: str, needed: str) -> bool:
    """Whether the week's notice of this cause was queued by a release before the refused call was part of its key
    (``digest_refused:<week>:<error>:<needed>``, one notice per cause and week whatever call was refused): told then,
    unless its notice names another call (a notice of the look-up does not tell of the post refused). Without this,
    a notice queued under the old key in the week of the upgrade was told once more under the new one. A week's key
    is read that week only, so the old keys stop mattering a week after the upgrade."""
    old = outbox_repo.get_outbox_message_keyed(
        session, dedupe_key=f"digest_refused:{period}:{error[:80]}:{needed[:80]}"
    )
    if old is None:
        return False
    told = outbox.read_payload(old.kind, old.payload)
    return not isinstance(told, DigestStopped) or told.method in ("", method[:60])


def get_subscription(session: Session, *, channel_id: str) -> DigestSubscription | None:
    return digest_repo.get_subscription(session, channel_id=validate_channel(channel_id))


def list_subscriptions(session: Session, *, active_only: bool = False) -> list[DigestSubscription]:
    return digest_repo.list_subscriptions(session, active_only=active_only)
