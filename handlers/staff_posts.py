"""Every post for staff about an escalated question shows what became of it, its buttons gone: the question's posts
in the triage channel and each staff member's DM copy of them (``bot.staffdm``), whoever acted and from where —
staff assigning or closing it, the asker withdrawing it or marking it resolved, an expert taking or answering it.

In the default language, as the triage channel is; which messages are updated is the database's record, never the
clicked message. A channel post is updated with the outcome only while its channel is the network's alone: in a
channel shared with another organisation by then (asked when the update is made; Slack not saying counts as shared)
it shows the question's number and that it no longer waits for staff — no text, asker, themes or names
(``build_triage_done_shared``).
"""

from __future__ import annotations

from bot.i18n import N_, t
from handlers.blocks.routing import build_triage, build_triage_done_shared
from handlers.kit import user_mention
from handlers.turn import PostUpdates

ASSIGNED = N_("routing.triage_assigned")  # {staff} asked {name}
CLOSED = N_("routing.triage_closed")  # {staff} closed it
WITHDRAWN = N_("routing.triage_withdrawn")  # the asker withdrew it
RESOLVED = N_("routing.triage_resolved")  # the asker marked it resolved
CLAIMED = N_("routing.triage_claimed")  # {name} took it
ANSWERED = N_("routing.triage_answered")  # {name} answered it
ASKER_GONE = N_("routing.triage_asker_gone")  # withdrawn: the asker's Slack account was deactivated


def update_staff_posts(turn: PostUpdates, question_id: int, status_key: str, **values: str) -> None:
    """Once committed, every post for staff about question ``question_id`` shows ``status_key`` (with the acting
    user as ``staff`` and ``values``) and no buttons: nobody acts on it again from a stale post or copy."""
    routing = turn.services.routing_service()
    lang = turn.services.settings.default_language
    status = t(status_key, lang, staff=user_mention(turn.user_id) or "?", **values)
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
