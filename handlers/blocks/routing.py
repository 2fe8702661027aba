"""Pure Block Kit builders for question routing: expert DMs, asker updates, the asker's list, triage.

Every builder takes the typed outbox payload of its kind (``bot.outbox``; ``render_outbox`` reads a stored one) or
plain values, and a language, and returns typed blocks. Texts from users are escaped (``handlers.kit``) and cut to
Slack's limits. An anonymous question's payload carries no asker, and the builders never look one up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    UserSelectElement,
)

from bot.i18n import DEFAULT_LANGUAGE, N_, format_date, format_list, format_number, format_stored_date, t
from bot.outbox import (
    AnswerToAsker,
    AskerUpdate,
    AskerUpdateKind,
    CloseReason,
    DeliveryFailed,
    ExpertReminder,
    ExpertRequest,
    Person,
    QuestionAnswered,
    QuestionUpdated,
    RoutingClosed,
    ShowsAsker,
    Triage,
    read_payload,
)
from bot.register.marked import DEACTIVATED
from bot.routing.stopped import STOPPED_ERROR
from handlers import ids
from handlers.kit import (
    FALLBACK_LIMIT,
    MAX_BLOCKS,
    OPTION_TEXT_LIMIT,
    TEXT_FIELD_LIMIT,
    Payload,
    Rendered,
    button,
    context,
    escape_truncate,
    fallback,
    header,
    plain,
    quote,
    quoted_sections,
    section,
    user_mention,
)
from storage.models import EscalationReason, OutboxKind, QuestionStatus, RoutingStatus


class DmState(StrEnum):
    """What the expert's DM about a routing offers (its buttons)."""

    ASKED = "asked"
    SNOOZED = "snoozed"
    CLAIMED = "claimed"
    DONE = "done"  # declined, forwarded, answered, closed: no buttons


class Themed(Protocol):
    """A payload naming themes, with their labels per language."""

    @property
    def themes(self) -> Sequence[str]: ...
    @property
    def theme_labels(self) -> Mapping[str, Mapping[str, str]]: ...


def person_label(person: Person | None, lang: str) -> str:
    """A mention when the Slack id is known, else the (escaped) name and organisation."""
    if not person:
        return t("routing.someone", lang)
    mention = user_mention(person.slack_user_id)
    name = escape_truncate(person.name or "", 150)
    org = escape_truncate(person.organisation or "", 150)
    who = mention or (f"*{name}*" if name else t("routing.someone", lang))
    return f"{who} ({org})" if org else who


def theme_names(payload: Themed, lang: str) -> str:
    labels = payload.theme_labels
    names = []
    for key in payload.themes:
        label = labels.get(key) or {}
        names.append(str(label.get(lang) or label.get(DEFAULT_LANGUAGE) or key))
    return ", ".join(escape_truncate(n, 80) for n in names)


def _question_blocks(payload: ShowsAsker, lang: str, *, show_asker: bool, additions: Sequence[str] = ()) -> list[Block]:
    blocks: list[Block] = [*quoted_sections(payload.text, f"*{t('routing.question', lang)}*")]
    if payload.context:
        blocks.extend(quoted_sections(payload.context, f"*{t('routing.context', lang)}*", limit=TEXT_FIELD_LIMIT))
    for addition in additions[:5]:
        blocks.extend(quoted_sections(addition, f"*{t('routing.addition', lang)}*", limit=TEXT_FIELD_LIMIT))
    meta: list[str] = []
    if show_asker:
        if payload.anonymous or not (payload.asker_slack_id or payload.asker_name):
            meta.append(t("routing.asker_anonymous", lang))
        else:
            asker = user_mention(payload.asker_slack_id) or escape_truncate(str(payload.asker_name), 150)
            meta.append(t("routing.asked_by", lang, name=asker))
    themes = theme_names(payload, lang)
    if themes:
        meta.append(t("routing.themes", lang, themes=themes))
    if payload.desired_by:
        desired = escape_truncate(format_stored_date(payload.desired_by, lang), 40)
        meta.append(t("routing.desired_by", lang, date=desired))
    if meta:
        blocks.append(context(" · ".join(meta)))
    return blocks


# --- the expert's DM ---------------------------------------------------------------------------------------------


def _expert_actions(routing_id: int, lang: str, state: DmState) -> ActionsBlock | None:
    value = str(routing_id)
    forward = UserSelectElement(
        action_id=ids.ACTION_FORWARD, placeholder=plain(t("routing.btn_forward", lang), OPTION_TEXT_LIMIT)
    )
    elements: list[Any]
    if state == DmState.ASKED:
        elements = [
            button(t("routing.btn_claim", lang), ids.ACTION_CLAIM, value, style="primary"),
            button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            button(t("routing.btn_later", lang), ids.ACTION_SNOOZE, value),
            forward,
        ]
    elif state == DmState.SNOOZED:
        elements = [
            button(t("routing.btn_claim", lang), ids.ACTION_CLAIM, value, style="primary"),
            button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            forward,
        ]
    elif state == DmState.CLAIMED:
        elements = [
            button(t("routing.btn_answer", lang), ids.ACTION_ANSWER, value, style="primary"),
            button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            forward,
        ]
    else:
        return None
    return ActionsBlock(block_id=ids.block_id(ids.BLOCK_ROUTING_ACTIONS, routing_id), elements=elements)


def _handed_on(payload: ExpertRequest, lang: str) -> list[Block]:
    """Who forwarded the question or that staff assigned it, with their note."""
    blocks: list[Block] = []
    if payload.forwarded_by is not None:
        blocks.append(context(t("routing.forwarded_by", lang, name=person_label(payload.forwarded_by, lang))))
        if payload.forward_note:
            blocks.append(context(quote(payload.forward_note, 500)))
    if payload.assigned_by_staff:
        blocks.append(context(t("routing.assigned_by_staff", lang)))
        if payload.staff_note:
            blocks.append(context(quote(payload.staff_note, 500)))
    return blocks


def build_expert_request(
    payload: ExpertRequest | ExpertReminder,
    lang: str,
    *,
    state: DmState = DmState.ASKED,
    status: str | None = None,
    reminder: bool = False,
) -> Rendered:
    """The DM asking an expert to answer, with buttons for ``state`` and an optional status line."""
    title = t("routing.reminder_title" if reminder else "routing.request_title", lang)
    blocks: list[Block] = [header(title)]
    blocks.extend(_question_blocks(payload, lang, show_asker=True, additions=payload.additions))
    reasons = [escape_truncate(r, 200) for r in payload.reasons[:6]]
    if reasons:
        blocks.append(context(f"_{t('routing.why_you', lang)}: {'; '.join(reasons)}_"))
    if isinstance(payload, ExpertRequest):
        blocks.extend(_handed_on(payload, lang))
    if status:
        blocks.append(section(status))
    actions = _expert_actions(payload.routing_id, lang, state)
    if actions is not None:
        blocks.append(actions)
    text = f"{title} {escape_truncate(payload.text or '', FALLBACK_LIMIT)}"
    return Rendered(text=fallback(text), blocks=blocks[:MAX_BLOCKS])


CLOSED_KEYS = {
    CloseReason.ANSWERED: N_("routing.closed_answered"),
    CloseReason.CANCELLED: N_("routing.closed_cancelled"),
    CloseReason.RESOLVED: N_("routing.closed_resolved"),
    CloseReason.CLOSED: N_("routing.closed_closed"),
    CloseReason.ASKER_GONE: N_("routing.closed"),  # no more: an anonymous asker's account is nobody's business
}


def build_routing_closed(payload: RoutingClosed, lang: str) -> Rendered:
    key = CLOSED_KEYS[payload.reason] if payload.reason is not None else N_("routing.closed")
    head = t(key, lang, name=person_label(payload.answered_by, lang))
    blocks: list[Block] = [section(f":white_check_mark: {head}")]
    blocks.append(context(quote(payload.text, 500)))
    if payload.answer_text:
        blocks.extend(quoted_sections(payload.answer_text, f"*{t('routing.the_answer', lang)}*"))
    return Rendered(text=fallback(head), blocks=blocks)


def build_question_updated(payload: QuestionUpdated, lang: str) -> Rendered:
    head = t("routing.updated", lang)
    blocks: list[Block] = [*quoted_sections(payload.addition, f":information_source: *{head}*", limit=TEXT_FIELD_LIMIT)]
    blocks.append(context(quote(payload.text, 500)))
    return Rendered(text=fallback(head), blocks=blocks)


# --- the asker ---------------------------------------------------------------------------------------------------


def build_answer_to_asker(payload: AnswerToAsker, lang: str, *, rated: int | None = None) -> Rendered:
    """The answer with the rating, by DM; for an answer posted in the question's thread (``in_thread``) only the
    rating, shown to the asker alone under the answer (the answer is not repeated)."""
    if payload.in_thread:
        head = t("routing.answered_in_thread", lang, name=person_label(payload.answered_by, lang))
        blocks: list[Block] = [section(f":speech_balloon: {head}")]
    else:
        head = t("routing.answer_for_you", lang, name=person_label(payload.answered_by, lang))
        blocks = [
            section(f":speech_balloon: {head}"),
            context(quote(payload.text, 500)),
            *quoted_sections(payload.answer_text),
        ]
    question_id = str(payload.question_id)
    if rated is None:
        blocks.append(context(t("routing.rate_prompt", lang)))
        stars = [button("⭐" * n, ids.rate_action(n), question_id) for n in range(1, 6)]
        blocks.append(ActionsBlock(block_id=ids.block_id(ids.BLOCK_RATE, int(question_id)), elements=stars))
        blocks.append(
            ActionsBlock(
                block_id=ids.block_id(ids.BLOCK_RESOLVE, int(question_id)),
                elements=[button(t("routing.btn_resolve", lang), ids.ACTION_RESOLVE_QUESTION, question_id)],
            )
        )
        if payload.in_thread:  # an ephemeral message is gone after a reload: say where the rating stays
            blocks.append(context(t("routing.rate_later", lang)))
    else:
        blocks.append(context(t("routing.rated", lang, stars="⭐" * rated)))
    return Rendered(text=fallback(head), blocks=blocks)


def build_question_answered(payload: QuestionAnswered, lang: str) -> Rendered:
    """In the question's channel thread (public questions only); the asker is mentioned: this is where they get it."""
    asker = "" if payload.anonymous else user_mention(payload.asker_slack_id)
    name = person_label(payload.answered_by, lang)
    if payload.earlier:  # given before the thread existed: the asker had it by DM then
        head = (
            t("routing.answer_in_thread_earlier_for", lang, asker=asker, name=name)
            if asker
            else t("routing.answer_in_thread_earlier", lang, name=name)
        )
    else:
        head = (
            t("routing.answer_in_thread_for", lang, asker=asker, name=name)
            if asker
            else t("routing.answer_in_thread", lang, name=name)
        )
    blocks: list[Block] = [*quoted_sections(payload.answer_text, f":speech_balloon: {head}")]
    return Rendered(text=fallback(head), blocks=blocks)


def build_asker_update(payload: AskerUpdate, lang: str) -> Rendered:
    update = payload.update
    if update is AskerUpdateKind.ROUTED:
        names = format_list([person_label(p, lang) for p in payload.experts], lang)
        head = t("routing.update_routed", lang, names=names or t("routing.someone", lang))
    elif update is AskerUpdateKind.ADDED:
        names = format_list([person_label(p, lang) for p in payload.experts], lang)
        head = t("routing.update_added", lang, names=names or t("routing.someone", lang))
    elif update is AskerUpdateKind.CLAIMED:
        head = t("routing.update_claimed", lang, name=person_label(payload.expert, lang))
    elif update is AskerUpdateKind.ESCALATED:
        key = ESCALATED_KEYS[payload.reason] if payload.reason is not None else N_("routing.update_escalated")
        head = t(key, lang)
    elif update is AskerUpdateKind.HELD:
        head = t("routing.update_held", lang)
    elif update is AskerUpdateKind.CLOSED:
        head = t("routing.update_closed", lang)
        if payload.note:
            head += "\n" + quote(payload.note, 1000)
    else:  # a kind of update this version does not know
        head = t("routing.update_other", lang, update="")
    blocks: list[Block] = [section(head), context(quote(payload.text, 500))]
    return Rendered(text=fallback(head), blocks=blocks)


def build_ask_confirmation(names: Sequence[str], lang: str, *, escalated: bool) -> str:
    if escalated or not names:
        return t("routing.confirm_escalated", lang)
    return t("routing.confirm_routed", lang, names=format_list(names, lang))


STATUS_KEYS = {
    QuestionStatus.OPEN: N_("routing.status_open"),
    QuestionStatus.ROUTED: N_("routing.status_routed"),
    QuestionStatus.CLAIMED: N_("routing.status_claimed"),
    QuestionStatus.ANSWERED: N_("routing.status_answered"),
    QuestionStatus.RESOLVED: N_("routing.status_resolved"),
    QuestionStatus.CLOSED: N_("routing.status_closed"),
    QuestionStatus.CANCELLED: N_("routing.status_cancelled"),
    QuestionStatus.ESCALATED: N_("routing.status_escalated"),
}


def status_label(status: QuestionStatus, lang: str) -> str:
    return t(STATUS_KEYS[status], lang)


@dataclass(frozen=True, slots=True)
class MyQuestion:
    id: int
    text: str
    status: QuestionStatus
    created: date
    answered: bool
    rating: int | None


ACTIVE = frozenset({QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.CLAIMED, QuestionStatus.ESCALATED})


def build_my_questions(questions: Sequence[MyQuestion], lang: str) -> list[Block]:
    blocks: list[Block] = [header(t("routing.my_title", lang))]
    if not questions:
        blocks.append(section(t("routing.my_none", lang)))
        return blocks
    for q in questions[:15]:
        asked_on = format_date(q.created, lang, year=True)
        line = f"*{escape_truncate(q.text, 300)}*\n{status_label(q.status, lang)} · {asked_on}"
        if q.rating:
            line += f" · {'⭐' * q.rating}"
        blocks.append(section(line))
        value = str(q.id)
        buttons: list[ButtonElement] = []
        if q.status in ACTIVE:
            buttons.append(button(t("routing.btn_add_info", lang), ids.ACTION_ADD_INFO, value))
            buttons.append(button(t("routing.btn_cancel", lang), ids.ACTION_CANCEL_QUESTION, value, style="danger"))
        if q.status in ACTIVE or q.status is QuestionStatus.ANSWERED:
            buttons.append(button(t("routing.btn_resolve", lang), ids.ACTION_RESOLVE_QUESTION, value))
        if q.answered and not q.rating and q.status in (QuestionStatus.ANSWERED, QuestionStatus.RESOLVED):
            buttons.extend(button("⭐" * n, ids.rate_action(n), value) for n in range(1, 6))
        if buttons:
            blocks.append(ActionsBlock(block_id=ids.block_id(ids.BLOCK_MY_QUESTION, q.id), elements=buttons))
    return blocks[:MAX_BLOCKS]


# --- staff -------------------------------------------------------------------------------------------------------


def build_triage(payload: Triage, lang: str, *, status: str | None = None, open_actions: bool = True) -> Rendered:
    reason_text = t(REASON_KEYS[payload.reason], lang) if payload.reason else ""
    head = t("routing.triage_title", lang)
    blocks: list[Block] = [header(head), context(t("routing.triage_reason", lang, reason=reason_text))]
    if payload.redacted:
        blocks.append(section(t("routing.triage_redacted", lang)))
        themes = theme_names(payload, lang)
        if themes:
            blocks.append(context(t("routing.themes", lang, themes=themes)))
    else:
        blocks.extend(_question_blocks(payload, lang, show_asker=True))
    counts = payload.routing_counts
    if counts:
        summary = ", ".join(
            f"{escape_truncate(str(k), 20)}: {format_number(int(v), lang)}" for k, v in sorted(counts.items())
        )
        blocks.append(context(t("routing.triage_counts", lang, counts=summary)))
    if status:
        blocks.append(section(status))
    question_id = payload.question_id
    if open_actions:
        blocks.append(
            ActionsBlock(
                block_id=ids.block_id(ids.BLOCK_TRIAGE_ACTIONS, question_id),
                elements=[
                    UserSelectElement(
                        action_id=ids.ACTION_TRIAGE_ASSIGN,
                        placeholder=plain(t("routing.btn_assign", lang), OPTION_TEXT_LIMIT),
                    ),
                    button(t("routing.btn_close", lang), ids.ACTION_TRIAGE_CLOSE, str(question_id)),
                ],
            )
        )
    return Rendered(text=fallback(f"{head}: {reason_text}"), blocks=blocks[:MAX_BLOCKS])


def build_assign_away(question_id: int, user_id: str, warning: str, lang: str) -> Rendered:
    """To the staff member who chose someone away (``warning`` says who and until when, already-safe mrkdwn): the
    same refusal anyone gets, and a button to assign the question to them all the same (recorded, audited)."""
    blocks: list[Block] = [
        section(f":palm_tree: {warning}"),
        context(t("routing.assign_away_hint", lang)),
        ActionsBlock(
            block_id=ids.block_id(ids.BLOCK_TRIAGE_ACTIONS, question_id),
            elements=[
                button(t("routing.btn_assign_anyway", lang), ids.ACTION_TRIAGE_ASSIGN_AWAY, f"{question_id}:{user_id}")
            ],
        ),
    ]
    return Rendered(text=fallback(warning), blocks=blocks)


def build_triage_done_shared(question_id: int, lang: str) -> Rendered:
    """A triage post, once its question no longer waits for staff, in a channel shared with another organisation by
    then: its number and that it is done — not the question, its asker, themes or anyone's name."""
    head = t("routing.triage_title", lang)
    status = t("routing.triage_done_shared", lang, question_id=question_id)
    return Rendered(text=fallback(f"{head}: {status}"), blocks=[header(head), section(status)])


ESCALATED_KEYS = {  # what the asker is told when their question goes to staff, per reason (when it happens)
    EscalationReason.NO_MATCH: N_("routing.update_escalated_no_match"),
    EscalationReason.NOBODY_AVAILABLE: N_("routing.update_escalated_nobody_available"),
    EscalationReason.ALL_DECLINED: N_("routing.update_escalated_all_declined"),
    EscalationReason.DEADLINE: N_("routing.update_escalated_deadline"),
    EscalationReason.DESIRED_DATE: N_("routing.update_escalated_desired_date"),
}

REASON_KEYS = {  # why a question went to staff (Question.escalation_reason)
    EscalationReason.NO_MATCH: N_("routing.reason_no_match"),
    EscalationReason.NOBODY_AVAILABLE: N_("routing.reason_nobody_available"),
    EscalationReason.ALL_DECLINED: N_("routing.reason_all_declined"),
    EscalationReason.DEADLINE: N_("routing.reason_deadline"),
    EscalationReason.DESIRED_DATE: N_("routing.reason_desired_date"),
}


UNDELIVERED_WHY = {
    "user_disabled": N_("routing.undelivered_why_deactivated"),
    DEACTIVATED: N_("routing.undelivered_why_deactivated"),
    "user_not_found": N_("routing.undelivered_why_not_found"),
    "cannot_dm_bot": N_("routing.undelivered_why_bot"),
    STOPPED_ERROR: N_("routing.undelivered_why_stopped"),
}


def build_delivery_failed(payload: DeliveryFailed, lang: str) -> Rendered:
    """A request that did not reach the one asked: for whoever chose them by hand, or (marked away) for staff."""
    name = person_label(payload.recipient, lang)
    key = UNDELIVERED_WHY.get(payload.error)
    why = t(key, lang) if key else t("routing.undelivered_why_other", lang, error=escape_truncate(payload.error, 80))
    if payload.marked_away:
        head = t("routing.undelivered_marked_away", lang, name=name, why=why, id=payload.question_id)
    else:
        head = t("routing.undelivered", lang, name=name, why=why, id=payload.question_id)
        if payload.moved_on:
            head += "\n" + t("routing.undelivered_moved_on", lang)
        else:
            head += "\n" + t("routing.undelivered_choose_again", lang)
    return Rendered(text=fallback(head), blocks=[section(head)])


# --- rendering an outbox message ---------------------------------------------------------------------------------


RoutingPayload = (
    ExpertRequest
    | ExpertReminder
    | RoutingClosed
    | QuestionUpdated
    | AnswerToAsker
    | QuestionAnswered
    | AskerUpdate
    | Triage
    | DeliveryFailed
)


def render_outbox(kind: OutboxKind, payload: Payload, lang: str) -> Rendered:
    """What a stored outbox message of routing's ``kind`` looks like in ``lang``."""
    typed = read_payload(kind, payload)
    if not isinstance(typed, RoutingPayload):
        raise ValueError(f"not a routing outbox kind {kind!r}")
    return render_routing(typed, lang)


def render_routing(payload: RoutingPayload, lang: str) -> Rendered:
    """What a routing message looks like in ``lang``."""
    match payload:
        case ExpertRequest():
            return build_expert_request(payload, lang, state=DmState.ASKED)
        case ExpertReminder():
            state = DmState.CLAIMED if payload.routing_status is RoutingStatus.CLAIMED else DmState.ASKED
            return build_expert_request(payload, lang, state=state, reminder=True)
        case RoutingClosed():
            return build_routing_closed(payload, lang)
        case QuestionUpdated():
            return build_question_updated(payload, lang)
        case AnswerToAsker():
            return build_answer_to_asker(payload, lang)
        case QuestionAnswered():
            return build_question_answered(payload, lang)
        case AskerUpdate():
            return build_asker_update(payload, lang)
        case Triage() | DeliveryFailed():
            return _render_for_staff(payload, lang)


def _render_for_staff(payload: Triage | DeliveryFailed, lang: str) -> Rendered:
    if isinstance(payload, Triage):
        return build_triage(payload, lang)
    return build_delivery_failed(payload, lang)
