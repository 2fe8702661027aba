"""Why ``needs recruit`` suggests someone: the reason stored with each candidate (``PersonRef.reason``), in a
recruiting DM's payload and in ``--json``, is English text that starts with its code ("answered: <question>",
"contact for the practice: <title>", "answered a question on this topic"). The builders here write it; ``parse``
reads a stored one back as (code, detail), so a surface can say it in its reader's words (``REASON_KEYS``) with the
code beside it (``REASON_KEYS``: the command line, for scripts), or as one sentence of its kind (``SENTENCE_KEYS``: the
recruiting DM). A reason in another form (stored by an older release) has no code: shown as stored."""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import N_

ANSWERED = "answered"  # + ": " and the (public) question they answered
ANSWERED_PRIVATE = "answered a question on this topic"  # the question is not quoted (private or anonymous)
PRACTICE_CONTACT = "contact for the practice"  # + ": " and the practice's title

REASON_KEYS: Mapping[str, str] = {
    ANSWERED: N_("needs.why_answered"),
    ANSWERED_PRIVATE: N_("needs.why_answered_private"),
    PRACTICE_CONTACT: N_("needs.why_practice_contact"),
}
# The same reasons as the person asked reads them in a recruiting DM: one short sentence per kind, ``{detail}`` what
# the reason names (a public question, a practice's title); a private or anonymous question is never quoted (stored
# as ``ANSWERED_PRIVATE``, without it)
SENTENCE_KEYS: Mapping[str, str] = {
    ANSWERED: N_("needs.why_sentence_answered"),
    ANSWERED_PRIVATE: N_("needs.why_sentence_answered_private"),
    PRACTICE_CONTACT: N_("needs.why_sentence_practice_contact"),
}


def answered(question: str) -> str:
    return f"{ANSWERED}: {question.strip()[:80]}"


def practice_contact(title: str) -> str:
    return f"{PRACTICE_CONTACT}: {title[:80]}"


def parse(reason: str) -> tuple[str, str]:
    """A stored reason as (code, detail): ``("answered", "<question>")``, ``("answered a question on this topic",
    "")``; ``("", reason)`` for one without a known code."""
    if reason == ANSWERED_PRIVATE:
        return ANSWERED_PRIVATE, ""
    code, sep, detail = reason.partition(": ")
    if sep and code in REASON_KEYS and code != ANSWERED_PRIVATE:
        return code, detail
    return "", reason
