"""Every callback, block and action id, shared by the Block Kit builders and the listeners (no literal id elsewhere).

A block id that carries a record id is ``"<prefix>:<id>"`` (``block_id(prefix, id)``); ``handlers.claims`` reads it
back. The ids are plain constants rather than enums: they are a contract with Slack (``manifest.yml``, stored
messages' buttons) and with the tests, and Bolt matches them as strings.
"""

from __future__ import annotations

from typing import Final

from bot.register.validation import EXPERT_COLUMNS, PRACTICE_COLUMNS

COMMAND: Final = "/wieweet"

# shortcuts (callback ids, also in manifest.yml)
SHORTCUT_WHO_KNOWS: Final = "wieweet_who_knows"

# actions on a "who knows" answer
ACTION_SHARE: Final = "answer_share"
ACTION_MORE: Final = "answer_more"
ACTION_FEEDBACK_UP: Final = "answer_feedback_up"
ACTION_FEEDBACK_DOWN: Final = "answer_feedback_down"
ACTION_OPEN_PRACTICE: Final = "answer_open_practice"  # link buttons still send an action; acked and ignored

BLOCK_ANSWER_ACTIONS: Final = "answer_actions"
BLOCK_FEEDBACK: Final = "answer_feedback"

# --- question routing ------------------------------------------------------------------------------------------
SHORTCUT_ASK_EXPERT: Final = "wieweet_ask_expert"  # message shortcut "Vraag een expert" (also in manifest.yml)
ACTION_ASK_EXPERTS: Final = "answer_ask_experts"  # on a "who knows" answer: value = search log id

# the "ask a question" modal
VIEW_ASK: Final = "routing_ask"
BLOCK_ASK_TEXT: Final = "ask_text"
BLOCK_ASK_CONTEXT: Final = "ask_context"
BLOCK_ASK_THEME: Final = "ask_theme"
BLOCK_ASK_DATE: Final = "ask_date"
BLOCK_ASK_VISIBILITY: Final = "ask_visibility"
INPUT_ASK_TEXT: Final = "ask_text_input"
INPUT_ASK_CONTEXT: Final = "ask_context_input"
INPUT_ASK_THEME: Final = "ask_theme_select"
INPUT_ASK_DATE: Final = "ask_date_picker"
INPUT_ASK_VISIBILITY: Final = "ask_visibility_radio"

# the DM asking an expert (block id: BLOCK_ROUTING_ACTIONS + ":" + routing id)
BLOCK_ROUTING_ACTIONS: Final = "routing_actions"
ACTION_CLAIM: Final = "routing_claim"
ACTION_DECLINE: Final = "routing_decline"
ACTION_FORWARD: Final = "routing_forward"  # users_select
ACTION_SNOOZE: Final = "routing_snooze"
ACTION_ANSWER: Final = "routing_answer"
VIEW_DECLINE: Final = "routing_decline_view"
VIEW_ANSWER: Final = "routing_answer_view"
BLOCK_DECLINE_REASON: Final = "decline_reason"
INPUT_DECLINE_REASON: Final = "decline_reason_input"
BLOCK_ANSWER_TEXT: Final = "answer_text"
INPUT_ANSWER_TEXT: Final = "answer_text_input"

# the asker's own questions (values: question id)
ACTION_CANCEL_QUESTION: Final = "question_cancel"
ACTION_RESOLVE_QUESTION: Final = "question_resolve"
ACTION_ADD_INFO: Final = "question_add_info"
VIEW_ADD_INFO: Final = "question_add_info_view"
BLOCK_ADD_INFO: Final = "question_add_info_block"
INPUT_ADD_INFO: Final = "question_add_info_input"
ACTION_RATE_PREFIX: Final = "question_rate_"  # + 1..5; value: question id
ACTION_RATE_PATTERN: Final = r"^question_rate_[1-5]$"
BLOCK_RATE: Final = "rate"  # + ":" + question id: the stars under an answer
BLOCK_RESOLVE: Final = "resolve"  # + ":" + question id
BLOCK_MY_QUESTION: Final = "my"  # + ":" + question id: the buttons of one of "my questions"
ASKER_BLOCKS: Final = (BLOCK_RATE, BLOCK_RESOLVE, BLOCK_MY_QUESTION)


def rate_action(stars: int) -> str:
    return f"{ACTION_RATE_PREFIX}{stars}"


# staff triage (block id: BLOCK_TRIAGE_ACTIONS + ":" + question id)
BLOCK_TRIAGE_ACTIONS: Final = "triage_actions"
ACTION_TRIAGE_ASSIGN: Final = "triage_assign"  # users_select
ACTION_TRIAGE_ASSIGN_AWAY: Final = "triage_assign_away"  # "assign anyway" to someone away; "<question id>:<user>"
ACTION_TRIAGE_CLOSE: Final = "triage_close"
VIEW_TRIAGE_CLOSE: Final = "triage_close_view"
BLOCK_TRIAGE_NOTE: Final = "triage_note"
INPUT_TRIAGE_NOTE: Final = "triage_note_input"

# the digest's messages: "Ik kan helpen" on an open question; value: the question id
ACTION_CAN_HELP: Final = "digest_can_help"

# the digest subscription modal (/wieweet digest)
VIEW_DIGEST: Final = "digest_subscribe"
BLOCK_DIGEST_THEMES: Final = "digest_themes"
INPUT_DIGEST_THEMES: Final = "digest_themes_input"
BLOCK_DIGEST_DAY: Final = "digest_day"
INPUT_DIGEST_DAY: Final = "digest_day_input"
BLOCK_DIGEST_TIME: Final = "digest_time"
INPUT_DIGEST_TIME: Final = "digest_time_input"
BLOCK_DIGEST_LANG: Final = "digest_lang"
INPUT_DIGEST_LANG: Final = "digest_lang_input"
BLOCK_DIGEST_EMPTY: Final = "digest_empty"
INPUT_DIGEST_EMPTY: Final = "digest_empty_input"

# --- self-service (issue 7): one section per feature --------------------------------------------------------------

# expert profile, App Home, consent, staff management of experts
VIEW_PROFILE: Final = "profile_edit"  # the profile modal (join or edit); private_metadata: {"expert_id": id|null}
# the register's columns (one list, shared with the file import), minus the Slack id, which is the signed-in user's
PROFILE_FIELDS: Final = tuple(c for c in EXPERT_COLUMNS if c != "slack_user_id")
PROFILE_BLOCK_PREFIX: Final = "profile_"  # block id "profile_<field>", input action id "profile_<field>_input"
ACTION_PROFILE_EDIT: Final = "profile_edit_open"  # value: expert id (own profile, or any for staff)
ACTION_PROFILE_JOIN: Final = "profile_join"  # App Home: become an expert
ACTION_HOME_AWAY: Final = "home_away_until"  # datepicker on the Home tab
ACTION_HOME_AVAILABLE: Final = "home_available"
ACTION_HOME_OPT_OUT: Final = "home_opt_out"  # stop being asked questions
ACTION_HOME_REFRESH: Final = "home_refresh"
BLOCK_HOME_PROFILE_ACTIONS: Final = "home_profile_actions"
ACTION_CONSENT_CONFIRM: Final = "consent_confirm"  # value: expert id; only the person themselves
ACTION_CONSENT_WITHDRAW: Final = "consent_withdraw"  # value: expert id; the person or staff
ACTION_PROFILE_APPROVE: Final = "profile_approve"  # staff; value: expert id and version (``versioned_value``)
ACTION_PROFILE_REJECT: Final = "profile_reject"  # staff; value: as Approve -> reason modal
VIEW_PROFILE_REJECT: Final = "profile_reject_view"
BLOCK_PROFILE_REJECT_REASON: Final = "profile_reject_reason"
INPUT_PROFILE_REJECT_REASON: Final = "profile_reject_reason_input"
# expertise kept as stored (too long for the form): topics typed here are appended to it on save
BLOCK_PROFILE_ADD_EXPERTISE: Final = "profile_add_expertise"
INPUT_PROFILE_ADD_EXPERTISE: Final = "profile_add_expertise_input"
ACTION_EXPERT_REMOVE: Final = "expert_remove"  # staff; value: expert id (with a confirm dialog)
BLOCK_HOME_FOOTER: Final = "home_footer"
BLOCK_CONSENT: Final = "consent"  # + ":" + expert id: the confirm-your-listing DM's buttons
BLOCK_PROFILE_REVIEW: Final = "profile_review"  # + ":" + expert id: the staff review's buttons
BLOCK_EXPERT_CARD: Final = "expert"  # + ":" + expert id: a card's buttons (staff overview)


def profile_block(field: str) -> str:
    return f"{PROFILE_BLOCK_PREFIX}{field}"


def profile_input(field: str) -> str:
    return f"{PROFILE_BLOCK_PREFIX}{field}_input"


# practice submissions and moderation
SHORTCUT_SAVE_PRACTICE: Final = "wieweet_save_practice"  # message shortcut "Bewaar als praktijk" (manifest.yml)
VIEW_PRACTICE: Final = "practice_edit"  # the practice modal; private_metadata: {"practice_id": id|null, ...}
PRACTICE_FIELDS: Final = PRACTICE_COLUMNS  # the practice register's columns, as in the file import
PRACTICE_BLOCK_PREFIX: Final = "practice_"  # block id "practice_<field>", input action id "practice_<field>_input"
ACTION_PRACTICE_APPROVE: Final = "practice_approve"  # staff; value: practice id and version (``versioned_value``)
ACTION_PRACTICE_REJECT: Final = "practice_reject"  # staff; value: as Approve -> reason modal
ACTION_PRACTICE_EDIT: Final = "practice_edit_open"  # value: practice id (own waiting submission, or any for staff)
ACTION_PRACTICE_REMOVE: Final = "practice_remove"  # staff; value: practice id (with a confirm dialog)
VIEW_PRACTICE_REJECT: Final = "practice_reject_view"
BLOCK_PRACTICE_REJECT_REASON: Final = "practice_reject_reason"
INPUT_PRACTICE_REJECT_REASON: Final = "practice_reject_reason_input"
BLOCK_PRACTICE_REVIEW: Final = "practice_review"  # + ":" + practice id: the triage message's buttons
BLOCK_PRACTICE_CARD: Final = "practice_card"  # + ":" + practice id: a card's buttons (staff overview)
PRACTICE_BLOCKS: Final = (BLOCK_PRACTICE_REVIEW, BLOCK_PRACTICE_CARD)


def practice_block(field: str) -> str:
    return f"{PRACTICE_BLOCK_PREFIX}{field}"


def practice_input(field: str) -> str:
    return f"{PRACTICE_BLOCK_PREFIX}{field}_input"


# privacy: data export and erasure
BLOCK_PRIVACY_FORGET: Final = "privacy_forget"
ACTION_PRIVACY_FORGET: Final = "privacy_forget_me"  # value: the user's own Slack id (checked, never trusted)


def block_id(prefix: str, record_id: int) -> str:
    """``"<prefix>:<id>"``: the block id of buttons about one record."""
    return f"{prefix}:{record_id}"


def versioned_value(record_id: int, version: str) -> str:
    """``"<id>:<version>"``: the value of a staff decision button about the version of a record they were shown
    (read back by ``handlers.claims.Subject.version_in``)."""
    return f"{record_id}:{version}" if version else str(record_id)


# knowledge needs (issue 15): the proposed work session in the triage channel, its modals, the recruiting DM
BLOCK_NEEDS_PROPOSAL: Final = "needs_proposal"  # + ":" + proposal id: the proposal's buttons
ACTION_NEEDS_INVITE: Final = "needs_invite"  # staff; value: proposal id -> the invite modal
ACTION_NEEDS_DISMISS: Final = "needs_dismiss"  # staff; value: proposal id (with a confirm dialog)
ACTION_NEEDS_DONE: Final = "needs_done"  # staff; value: proposal id -> the notes modal
VIEW_NEEDS_INVITE: Final = "needs_invite_view"  # private_metadata: {"proposal_id": id}
BLOCK_NEEDS_CHANNEL: Final = "needs_channel"
INPUT_NEEDS_CHANNEL: Final = "needs_channel_input"  # conversations_select: an existing channel (optional)
BLOCK_NEEDS_CHANNEL_NAME: Final = "needs_channel_name"
INPUT_NEEDS_CHANNEL_NAME: Final = "needs_channel_name_input"  # a new channel's name
VIEW_NEEDS_DONE: Final = "needs_done_view"  # private_metadata: {"proposal_id": id}
BLOCK_NEEDS_NOTES: Final = "needs_notes"
INPUT_NEEDS_NOTES: Final = "needs_notes_input"
BLOCK_NEEDS_SUMMARY: Final = "needs_summary"
INPUT_NEEDS_SUMMARY: Final = "needs_summary_input"
BLOCK_EXPERTISE_REQUEST: Final = "expertise_request"  # + ":" + topic id: the recruiting DM's button
ACTION_ADD_TOPIC: Final = "expertise_add_topic"  # only the person asked; value: topic id
