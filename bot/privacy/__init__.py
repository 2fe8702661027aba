"""Privacy rights without Slack: what is stored about a person (export), forgetting them (erasure), retention.

* ``export_personal_data`` gathers everything wieweet stores about one person, across every table, as plain JSON
  values: their expert profile, the questions they asked, the answers they gave, the questions routed to them,
  what they searched and rated, the messages queued for them, the audit entries about them.
* ``erase_person`` forgets them: the profile goes, questions and answers that were public and answered stay as
  anonymous knowledge (no name, Slack id or e-mail), everything else of theirs is deleted (a knowledge gap recorded
  from their private or anonymous text too; a gap from public text stays without them), routings and logs lose
  the link to them, and a final sweep replaces any remaining occurrence of their name, e-mail address or Slack id
  in any text column of any table — then checks that none is left. The stored vectors of the question, gap,
  profile and practice texts it deleted or redacted go too (``bot.question_keys``, ``bot.matching.semantic``),
  unless a remaining record has the same text. One audit row (``ERASURE_ENTITY``) records the erasure, no data.
* ``mark_channel_private``: what was asked in a channel that turned private (or is shared with another
  organisation now) becomes private: out of the search index, the digests and the quoted gaps;
  ``reconcile_channel_privacy`` (daily) asks about every channel still holding public questions, for the events
  missed while the bot was down.
* ``export_erasures`` / ``reapply_erasures``: the erasure ledger (the key and the hashes of the erased), kept
  outside the database, so that erasures are applied again to a database restored from an older backup.
* ``purge_expired`` deletes (or de-personalises) what is older than the ``RetentionPolicy``, but the marks of the
  requests not finished yet (``list_pending_requests``).
* ``record_purge``, ``record_report``, ``record_escalated_list``: the audit rows of a purge and of reads that copy
  data about people out of wieweet (an export audits itself), with ids and counts only.

Authorization is checked here with the ``Actor``: a person may export and erase their own data, staff anyone's.
Nothing here commits: the caller's unit of work does (so a failed check leaves everything as it was).

The modules: ``person`` (who, and the sweep for their traces), ``export``, ``erasure``, ``ledger``, ``retention`` and
``audit``.
"""

from bot.privacy.audit import record_escalated_list, record_purge, record_report
from bot.privacy.channels import (
    NOT_FOUND,
    ChannelLookup,
    LookupRefused,
    MarkedHook,
    MarkedItems,
    ReconcileResult,
    get_stored_channel_privacy,
    mark_channel_private,
    mark_for_refresh,
    reconcile_channel_privacy,
    tell_marked,
)
from bot.privacy.erasure import ERASED_HOMES_KIND, ErasureIncomplete, ErasureReport, erase_person, finish_erasure
from bot.privacy.export import EXPORT_FORMAT, export_json, export_personal_data
from bot.privacy.ledger import LEDGER_FORMAT, LedgerError, ReapplyReport, export_erasures, reapply_erasures
from bot.privacy.person import REDACTED, Person, PrivacyInputError, find_person, require_known
from bot.privacy.retention import RetentionPolicy, list_pending_requests, purge_expired, purge_inbox

__all__ = [
    "ERASED_HOMES_KIND",
    "EXPORT_FORMAT",
    "LEDGER_FORMAT",
    "NOT_FOUND",
    "REDACTED",
    "ChannelLookup",
    "ErasureIncomplete",
    "ErasureReport",
    "LedgerError",
    "LookupRefused",
    "MarkedHook",
    "MarkedItems",
    "Person",
    "PrivacyInputError",
    "ReapplyReport",
    "ReconcileResult",
    "RetentionPolicy",
    "erase_person",
    "export_erasures",
    "export_json",
    "export_personal_data",
    "find_person",
    "finish_erasure",
    "get_stored_channel_privacy",
    "list_pending_requests",
    "mark_channel_private",
    "mark_for_refresh",
    "purge_expired",
    "purge_inbox",
    "reapply_erasures",
    "reconcile_channel_privacy",
    "record_escalated_list",
    "record_purge",
    "record_report",
    "require_known",
    "tell_marked",
]
