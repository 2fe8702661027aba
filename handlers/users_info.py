"""One memory of what ``users.info`` answered in an outbox batch (``handlers.outbox.OutboxSender``).

A DM whose payload names no language (a recruiting DM) looks the recipient's language up (``LocaleCache.language``);
when Slack then refuses the DM, what the account is now (deleted, unknown, active: ``handlers.outbox_refused``)
is read from that same answer. Each person is asked about once per batch, whatever Slack refuses and however many
DMs of theirs the batch holds; a failed call is not repeated either (a rate limit holds the sender up once). A new
batch asks again: the answer says what Slack says now, not what it said an hour ago. Within a batch (minutes, with
rate limits) an account may be deactivated after its language was asked: an answer of an active account taken before
any refusal is asked once more when Slack's refusal contradicts it (``account_inactive``, ``user_not_found``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

GONE = frozenset({"user_not_found"})  # Slack no longer knows the account
# refusals of a DM that say the account is no longer active: an earlier answer that it is, is asked again
CONTRADICT_ACTIVE = frozenset({"account_inactive", *GONE})


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``users.info`` answered of one person: the account (``include_locale``), or Slack's ``error`` (an error
    code, or what failed when no answer came)."""

    account: dict[str, Any] | None
    error: str = ""
    after_refusal: bool = False  # asked to read Slack's refusal of a DM (not before any, as for the language)

    def contradicted_by(self, refusal: str) -> bool:
        """Whether Slack's ``refusal`` says otherwise than this answer, taken before any refusal, of an active
        account (it may have been deactivated since)."""
        active = self.account is not None and self.account.get("deleted") is not True
        return active and not self.after_refusal and refusal in CONTRADICT_ACTIVE

    @property
    def unknown(self) -> bool:
        """Slack answered that it does not know the account."""
        return self.account is None and self.error in GONE


class BatchAnswers:
    """``users.info`` asked once per person while this memory lives (one outbox batch)."""

    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}
        self._lock = threading.Lock()

    def ask(self, client: WebClient, user_id: str, *, refusal: str | None = None) -> Answer:
        """What Slack answered of ``user_id`` in this batch, asked now when it was not yet, or when ``refusal``
        (Slack's refusal of a DM to them, which the answer is to read) contradicts what it answered before."""
        with self._lock:
            known = self._answers.get(user_id)
        if known is not None and (refusal is None or not known.contradicted_by(refusal)):
            return known
        try:
            user = client.users_info(user=user_id, include_locale=True).get("user")
            answer = Answer(user if isinstance(user, dict) else {}, after_refusal=refusal is not None)
        except SlackApiError as exc:
            answer = Answer(None, str(exc.response.get("error") or exc.response.status_code), refusal is not None)
        except OSError as exc:  # no answer at all (a timeout, a network error)
            answer = Answer(None, repr(exc), refusal is not None)
        with self._lock:
            if known is not None:  # asked once more: the newer answer is the batch's from now on
                self._answers[user_id] = answer
                return answer
            return self._answers.setdefault(user_id, answer)

    def clear(self) -> None:
        """A new batch: Slack is asked again."""
        with self._lock:
            self._answers.clear()
