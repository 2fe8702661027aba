"""Whom a queued message goes to, as the command line shows it: one rule for ``question show`` and ``queued list``.

A question staff may not see the asker of (private, anonymous, or asked in a private channel: ``is_shareable``)
keeps its asker and where it was asked unnamed in every listing: a message to its asker reads "the asker", a reply
in its (private) channel "its thread", as in the triage channel.
"""

from __future__ import annotations

from bot.i18n import t
from bot.routing.payloads import is_shareable
from storage.models import OutboxMessage, Question


def shown_recipient(message: OutboxMessage, question: Question | None, lang: str) -> str:
    """Whom ``message`` goes to; for a message of ``question`` that staff may not see the asker of, unnamed."""
    if question is None:  # not about a question (a digest, a recruiting DM): nobody to hide
        return message.recipient_slack_id or message.channel_id or "-"
    if message.recipient_slack_id and message.recipient_slack_id == question.asker_slack_id:
        return message.recipient_slack_id if is_shareable(question) else t("cli.to_asker", lang)
    if message.channel_id and message.channel_id == question.channel_id and not is_shareable(question):
        return t("cli.to_thread", lang)  # where it was asked: not named, as the question's thread is not
    return message.recipient_slack_id or message.channel_id or t("cli.to_staff", lang)
