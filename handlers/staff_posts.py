"""Every post for staff about an escalated question shows what became of it, its buttons gone: the question's posts
in the triage channel and each staff member's DM copy of them (``bot.staffdm``), whoever acted and from where —
staff assigning or closing it, the asker withdrawing it or marking it resolved, an expert taking or answering it.

In the default language, as the triage channel is; which messages are updated is the database's record, never the
clicked message. A channel post is updated with the outcome only while its channel is the network's alone: in a
channel shared with another organisation by then (asked when the update is made; Slack not saying counts as shared)
it shows the question's number and that it no longer waits for staff — no text, asker, themes or names
(``build_triage_done_shared``).

A close or an assignment from the command line (``wieweet question close|assign``) queues an inbox request
(``STAFF_POSTS_KIND``) with the change, standing once the change is committed (``bot.inbox.record_with_change``):
the running bot updates the same posts the same way (``update_after_cli``), so it works with Slack unreachable,
the bot stopped when the command ran, or the command killed right after its commit. A question withdrawn because a
DM Slack refused showed its asker's account deactivated (``handlers.deactivated.person_gone_after_send``, from the
outbox sender) queues the same request with its withdrawal: a crash right after that commit still gets its posts
updated, by the next pass of whichever replica claims the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient

from bot.errors import NotFoundError
from bot.i18n import N_, t
from bot.inbox import change_committed
from bot.routing.overview import QuestionOverview, question_overview
from bot.routing.staff import ASKER_DEACTIVATED, STAFF_ASSIGNED, STAFF_CLOSED, STAFF_POSTS_KIND
from bot.text import is_slack_user_id
from handlers import inbox, inbox_job
from handlers.blocks.routing import build_triage, build_triage_done_shared
from handlers.kit import escape, user_mention
from handlers.services import Services
from handlers.turn import PostUpdates, update_post
from storage.models import QuestionStatus, RoutingStatus
from storage.session import Session

log = logging.getLogger(__name__)

ASSIGNED = N_("routing.triage_assigned")  # {staff} asked {name}
CLOSED = N_("routing.triage_closed")  # {staff} closed it
WITHDRAWN = N_("routing.triage_withdrawn")  # the asker withdrew it
RESOLVED = N_("routing.triage_resolved")  # the asker marked it resolved
CLAIMED = N_("routing.triage_claimed")  # {name} took it
ANSWERED = N_("routing.triage_answered")  # {name} answered it
ASKER_GONE = N_("routing.triage_asker_gone")  # withdrawn: the asker's Slack account was deactivated


def update_staff_posts(turn: PostUpdates, question_id: int, status_key: str, **values: str) -> None:
    """Once committed, every post for staff about question ``question_id`` shows ``status_key`` (with the acting
    user as ``staff`` unless ``values`` name them, and ``values``) and no buttons: nobody acts on it again from a
    stale post or copy."""
    routing = turn.services.routing_service()
    lang = turn.services.settings.default_language
    status = t(status_key, lang, **({"staff": user_mention(turn.user_id) or "?"} | values))
    copies = routing.triage_copies(turn.session, question_id=question_id)
    if copies is not None:  # DMs, to staff alone
        rendered = build_triage(copies.question, lang, status=status, open_actions=False)
        for ref in copies.refs:
            turn.update_message(ref, rendered.text, rendered.blocks)
    posts = routing.triage_posts(turn.session, question_id=question_id)
    if posts is not None:
        rendered = build_triage(posts.question, lang, status=status, open_actions=False)
        bare = build_triage_done_shared(question_id, lang)
        for ref in posts.refs:
            turn.update_message(ref, rendered.text, rendered.blocks, if_shared=(bare.text, bare.blocks))


# --- a question settled outside Slack ------------------------------------------------------------------------------


class AfterCommit:
    """``PostUpdates`` for work outside a request (an inbox job of its own kind): the updates gathered while its
    transaction is open are made by ``run`` once it is closed (no Slack call inside a transaction)."""

    user_id: str | None = None  # nobody in Slack acted: the system or an operator did

    def __init__(self, services: Services, client: WebClient, session: Session) -> None:
        self.services, self.client, self.session = services, client, session
        self._pending: list[tuple[str, str, tuple[str, Sequence[Any]], tuple[str, Sequence[Any]] | None]] = []

    def update_message(
        self,
        ref: Mapping[str, Any],
        text: str,
        blocks: Sequence[Any],
        *,
        if_shared: tuple[str, Sequence[Any]] | None = None,
    ) -> None:
        channel, ts = str(ref.get("channel_id") or ""), str(ref.get("message_ts") or "")
        if channel and ts:
            self._pending.append((channel, ts, (text, blocks), if_shared))

    def run(self, *, failed: str | None = None) -> int:
        """Make the updates; returns how many. ``failed``: a log line for an update that fails (it is logged and
        the rest go on); without it a failure raises (an inbox job is run again: updating a post twice shows the
        same)."""
        pending, self._pending = self._pending, []
        for channel, ts, shown, if_shared in pending:
            try:
                update_post(self.services, self.client, channel=channel, ts=ts, shown=shown, if_shared=if_shared)
            except Exception:
                if failed is None:
                    raise
                log.warning(failed, exc_info=True)
        return len(pending)


def _tell_nobody(job: inbox_job.InboxJob, text: str) -> None:
    log.warning("the posts for staff about a question settled outside Slack were not updated (%s)", job.key)


# a question still with its experts; an assignment shown on a later state (closed, answered, withdrawn, handed on)
# would overwrite what that state's own update showed
_WITH_EXPERTS = frozenset({QuestionStatus.ROUTED, QuestionStatus.CLAIMED})
_OPEN_REQUESTS = frozenset({RoutingStatus.ASKED.value, RoutingStatus.CLAIMED.value})


def _open_requests(question: QuestionOverview) -> set[str]:
    """The Slack ids of the people the question is still with (asked or claimed, not declined or expired)."""
    return {r.slack_id for r in question.requests if r.slack_id and r.status in _OPEN_REQUESTS}


@inbox.kind(STAFF_POSTS_KIND, tell=_tell_nobody)
def update_after_cli(job: inbox_job.InboxJob) -> None:
    """``wieweet question close|assign`` queues this request with its change: the running bot updates the
    question's posts for staff as the triage channel's Close and Assign do — the outcome shown, the buttons gone — in
    the default language. So does a withdrawal after a DM refused to a deactivated asker (``ASKER_DEACTIVATED``):
    the posts say the asker's account was deactivated. Nothing changes when the change did not commit
    (``change_committed``: it died or was refused before its commit; a change still committing is waited for). What
    is shown is the database's record: nothing changes either when the question is no longer settled as the request
    says (the request waited while the bot was stopped, and the question was closed, answered or handed on since:
    that change updated the posts itself)."""
    payload = job.payload
    question_id, action = payload.get("question_id"), payload.get("action")
    by, assignee = str(payload.get("by") or ""), payload.get("assignee")
    if not isinstance(question_id, int) or action not in (STAFF_CLOSED, STAFF_ASSIGNED, ASKER_DEACTIVATED):
        log.error("staff posts request %s: malformed payload", job.key)
        return
    lang = job.services.settings.default_language
    staff = escape(by) if by.strip() else t("routing.triage_staff_cli", lang)
    with job.services.db.session() as session:
        if not change_committed(session, request_key=job.key, now=inbox_job.wall_clock()):
            log.info("staff posts request %s: the command's change was not committed: nothing to show", job.key)
            return
        try:
            question = question_overview(session, question_id=question_id)
        except NotFoundError:
            log.info("staff posts request %s: question %s is gone", job.key, question_id)
            return
        later = AfterCommit(job.services, job.client, session)
        status = question.question.status
        if action == STAFF_CLOSED and status is QuestionStatus.CLOSED:
            update_staff_posts(later, question_id, CLOSED, staff=staff)
        elif action == ASKER_DEACTIVATED and status is QuestionStatus.CANCELLED:
            update_staff_posts(later, question_id, ASKER_GONE)
        elif (
            action == STAFF_ASSIGNED
            and is_slack_user_id(assignee)
            and status in _WITH_EXPERTS
            and assignee in _open_requests(question)
        ):
            update_staff_posts(later, question_id, ASSIGNED, staff=staff, name=user_mention(assignee) or "?")
        else:
            log.info("staff posts request %s: question %s is %s: nothing to show", job.key, question_id, status.value)
    updated = later.run()
    log.info("staff posts of question %s updated after its %s outside Slack: %s", question_id, action, updated)
