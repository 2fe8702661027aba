"""``/wieweet mijn gegevens`` (a file with everything stored about you, in a DM) and ``/wieweet vergeet mij``.

Thin listeners over ``bot.privacy``. Who the data is about is always the Slack user the request was signed for:
the "forget me" button carries the user's own id (recorded in the inbox before its ack, like every click that
changes something), and the service refuses (``NotAuthorized``, logged by the
global error handler) when that value names someone else than the person clicking.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot.i18n import local_day, t
from bot.privacy import (
    ERASED_HOMES_KIND,
    erase_person,
    export_json,
    export_personal_data,
    finish_erasure,
    mark_channel_private,
)
from bot.text import is_slack_channel_id, is_slack_user_id
from handlers import inbox, inbox_job
from handlers.blocks.privacy import build_forget_prompt, build_forgotten
from handlers.home import publish_after_erasure
from handlers.inbox_job import ERASURE
from handlers.needs_refresh import record_refresh
from handlers.turn import Turn

log = logging.getLogger(__name__)

EXPORT_WORDS = frozenset({"mijn gegevens", "my data", "mes données"})
FORGET_WORDS = frozenset({"vergeet mij", "vergeet me", "forget me"})


def _words(text: str) -> str:
    return " ".join(text.casefold().split())


def is_privacy_command(text: str) -> bool:
    """Whether ``text`` is ``mijn gegevens`` or ``vergeet mij`` (from the text alone)."""
    return _words(text) in EXPORT_WORDS | FORGET_WORDS


def route_privacy_command(turn: Turn, text: str) -> bool:
    """Handle ``mijn gegevens`` and ``vergeet mij``; False when ``text`` is neither."""
    words = _words(text)
    if words in EXPORT_WORDS:
        command_export(turn)
        return True
    if words in FORGET_WORDS:
        command_forget(turn)
        return True
    return False


def command_export(turn: Turn) -> None:
    user = turn.user_id or ""
    lang = turn.lang  # first: it may refresh the cached Slack profile, which then is part of the export
    data = export_personal_data(session=turn.session, actor=turn.actor, slack_user_id=user, now=turn.now)
    channel = turn.client.conversations_open(users=user)["channel"]["id"]
    turn.client.files_upload_v2(
        channel=channel,
        content=export_json(data),
        filename=f"wieweet-{local_day(turn.now, ZoneInfo(turn.services.settings.timezone)).isoformat()}.json",
        title=t("privacy.export_title", lang),
        initial_comment=t("privacy.export_comment", lang),
    )
    turn.outcome = "exported"
    assert turn.respond is not None
    turn.respond(text=t("privacy.export_sent", lang), response_type="ephemeral")


def command_forget(turn: Turn) -> None:
    prompt = build_forget_prompt(turn.lang, slack_user_id=turn.user_id or "")
    assert turn.respond is not None
    turn.respond(text=prompt.text, blocks=prompt.blocks, response_type="ephemeral")


def handle_forget_button(turn: Turn, target: str) -> None:
    """The "forget me" button, run from its inbox record (``handlers.recorded``) in one transaction that claims its
    delivery: the erasure, then — saved as its confirmations, sent once it committed, also after a crash — the erasure's
    after-commit part (``finish_erasure``: the person's other inbox rows, compaction; their Home tab and the staff's,
    ``publish_after_erasure``) and "you are forgotten". Its own row forgets the person when it is done
    (``InboxWorker._finish``)."""
    lang = turn.lang  # before erasing: a refreshed Slack profile cache row is then erased too
    # ``target`` is only a claim: the service checks it against the clicking user (turn.actor) and refuses otherwise.
    report = erase_person(
        session=turn.session, actor=turn.actor, slack_user_id=target, now=turn.now, db=turn.services.db
    )
    turn.outcome = f"erased {sum(report.counts.values())} items"
    done = build_forgotten(lang)
    if turn.job is not None:
        turn.effects.append({"kind": ERASURE, "lang": lang})
        if turn.respond is not None:  # recorded: sent through the response_url once committed
            turn.respond(text=done.text, blocks=done.blocks, response_type="ephemeral", replace_original=True)
        else:
            turn.dm(done.text, done.blocks)
        return

    def confirm() -> None:  # not from the inbox: once the erasure is committed
        finish_erasure(turn.services.db, slack_user_id=target)
        publish_after_erasure(turn.services, turn.client, slack_user_id=target, lang=lang)
        if turn.respond is not None:
            turn.respond(text=done.text, blocks=done.blocks, response_type="ephemeral", replace_original=True)
        elif turn.user_id:
            channel = turn.client.conversations_open(users=turn.user_id)["channel"]["id"]
            turn.client.chat_postMessage(channel=channel, text=done.text, blocks=done.blocks)

    turn.after_commit(confirm)


def _tell_nobody(job: inbox_job.InboxJob, text: str) -> None:
    log.warning("the Home tabs after an erasure from the command line were not published (%s)", job.key)


@inbox.kind(ERASED_HOMES_KIND, tell=_tell_nobody)
def publish_homes_after_cli_erasure(job: inbox_job.InboxJob) -> None:
    """An erasure on the command line (``wieweet privacy erase``) queues this request: the running bot publishes the
    erased person's Home tab ("you were forgotten") and the staff's (``publish_after_erasure``). Its payload — the
    erased Slack id — is emptied once it is done, like every request's."""
    erased = job.payload.get("erased")
    lang = str(job.payload.get("lang") or job.services.settings.default_language)
    target = erased if is_slack_user_id(erased) else None
    publish_after_erasure(job.services, job.client, slack_user_id=target, lang=lang)


def handle_channel_private(turn: Turn) -> None:
    """Slack says a channel turned private (``channel_converted_to_private``) or is shared with another
    organisation (``channel_shared``): what was asked there leaves the search and the digests. Slack is asked
    again about it next time (the cached answer is dropped); a share within the organisation changes nothing."""
    event = turn.body.get("event") or {}
    channel_id = event.get("channel")
    if not isinstance(channel_id, str) or not is_slack_channel_id(channel_id):  # a claim: malformed changes nothing
        return
    turn.services.channels.forget(channel_id)
    if event.get("type") == "channel_shared" and not turn.services.channels.is_private(
        client=turn.client, channel_id=channel_id, now=turn.now
    ):
        return
    marked = mark_channel_private(turn.session, channel_id=channel_id)
    # proposals: counted, no longer quoted (rendered by the job runner)
    record_refresh(turn, question_ids=marked.question_ids, gap_ids=marked.gap_ids)
