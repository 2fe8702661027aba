"""Pure Block Kit builders for question routing: the ask modal, expert DMs, asker updates, triage, and modals.

Every builder takes the typed outbox payload of its kind (``bot.outbox``; ``render_outbox`` reads a stored one) or
plain values, and a language, and returns typed blocks. Texts from users are escaped (``bot.mrkdwn``) and cut to
Slack's limits. An anonymous question's payload carries no asker, and the builders never look one up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import DEFAULT_LANGUAGE, N_, format_list, t
from bot.mrkdwn import cut, escape_truncate, truncate, user_mention
from bot.outbox import (
    AnswerToAsker,
    AskerUpdate,
    AskerUpdateKind,
    CloseReason,
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
from handlers import ids
from storage.models import EscalationReason, OutboxKind, QuestionStatus, RoutingStatus

SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
FALLBACK_LIMIT = 3000
MAX_BLOCKS = 50
MAX_OPTIONS = 100
MODAL_TITLE_LIMIT = 24

# expert DM states (what the buttons offer)
STATE_ASKED = "asked"
STATE_SNOOZED = "snoozed"
STATE_CLAIMED = "claimed"
STATE_DONE = "done"  # declined, forwarded, answered, closed: no buttons

Payload = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    key: str
    label: str


class Themed(Protocol):
    """A payload naming themes, with their labels per language."""

    @property
    def themes(self) -> Sequence[str]: ...
    @property
    def theme_labels(self) -> Mapping[str, Mapping[str, str]]: ...


class ThemeLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def label_nl(self) -> str: ...
    @property
    def label_en(self) -> str: ...


def theme_choices(themes: Iterable[ThemeLike], lang: str) -> list[ThemeChoice]:
    """Menu options for the vocabulary's themes, labelled in ``lang``."""
    return [ThemeChoice(key=th.key, label=th.label_en if lang == "en" else th.label_nl) for th in themes]


def _section(text: str) -> SectionBlock:
    """A mrkdwn section (``text`` already safe: see ``bot.mrkdwn``), cut to Slack's limit."""
    return SectionBlock(text=MarkdownTextObject(text=cut(text, SECTION_LIMIT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=cut(text, CONTEXT_LIMIT))])


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=truncate(text, HEADER_LIMIT)))


def _plain(text: str, limit: int = BUTTON_TEXT_LIMIT) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=_plain(label), action_id=action_id, value=value, style=style)


def _danger_button(
    label: str, action_id: str, value: str, *, title: str, text: str, deny: str, confirm: str | None = None
) -> ButtonElement:
    """A red button behind Slack's "are you sure?" dialog (``title``, ``text``; ``confirm`` defaults to ``label``)."""
    dialog = ConfirmObject(
        title=_plain(title, 100),
        text=text,
        confirm=_plain(confirm or label, 30),
        deny=_plain(deny, 30),
        style="danger",
    )
    return ButtonElement(text=_plain(label), action_id=action_id, value=value, style="danger", confirm=dialog)


def _quote(text: str | None, limit: int = 2500) -> str:
    return "> " + escape_truncate(text or "", limit).replace("\n", "\n> ")


def _fallback(mrkdwn: str) -> str:
    """A message's notification ``text``: the same mrkdwn as its blocks (escaped once already), cut. Never escaped
    again — that showed users ``&lt;@U…&gt;`` — so a mention in it is a mention in the notification too."""
    return cut(mrkdwn, FALLBACK_LIMIT)


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


def _question_blocks(
    payload: ShowsAsker, lang: str, *, show_asker: bool, additions: Sequence[str] = ()
) -> list[Block]:
    blocks: list[Block] = [_section(f"*{t('routing.question', lang)}*\n{_quote(payload.text)}")]
    if payload.context:
        blocks.append(_section(f"*{t('routing.context', lang)}*\n{_quote(payload.context, 2000)}"))
    for addition in additions[:5]:
        blocks.append(_section(f"*{t('routing.addition', lang)}*\n{_quote(addition, 1000)}"))
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
        meta.append(t("routing.desired_by", lang, date=escape_truncate(payload.desired_by, 20)))
    if meta:
        blocks.append(_context(" · ".join(meta)))
    return blocks


# --- the expert's DM ---------------------------------------------------------------------------------------------


def routing_actions_block_id(routing_id: int) -> str:
    return f"{ids.BLOCK_ROUTING_ACTIONS}:{routing_id}"


def triage_actions_block_id(question_id: int) -> str:
    return f"{ids.BLOCK_TRIAGE_ACTIONS}:{question_id}"


def _expert_actions(routing_id: int, lang: str, state: str) -> ActionsBlock | None:
    value = str(routing_id)
    forward = UserSelectElement(
        action_id=ids.ACTION_FORWARD, placeholder=_plain(t("routing.btn_forward", lang), OPTION_TEXT_LIMIT)
    )
    elements: list[Any]
    if state == STATE_ASKED:
        elements = [
            _button(t("routing.btn_claim", lang), ids.ACTION_CLAIM, value, style="primary"),
            _button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            _button(t("routing.btn_later", lang), ids.ACTION_SNOOZE, value),
            forward,
        ]
    elif state == STATE_SNOOZED:
        elements = [
            _button(t("routing.btn_claim", lang), ids.ACTION_CLAIM, value, style="primary"),
            _button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            forward,
        ]
    elif state == STATE_CLAIMED:
        elements = [
            _button(t("routing.btn_answer", lang), ids.ACTION_ANSWER, value, style="primary"),
            _button(t("routing.btn_decline", lang), ids.ACTION_DECLINE, value),
            forward,
        ]
    else:
        return None
    return ActionsBlock(block_id=routing_actions_block_id(routing_id), elements=elements)


def _handed_on(payload: ExpertRequest, lang: str) -> list[Block]:
    """Who forwarded the question or that staff assigned it, with their note."""
    blocks: list[Block] = []
    if payload.forwarded_by is not None:
        blocks.append(_context(t("routing.forwarded_by", lang, name=person_label(payload.forwarded_by, lang))))
        if payload.forward_note:
            blocks.append(_context(_quote(payload.forward_note, 500)))
    if payload.assigned_by_staff:
        blocks.append(_context(t("routing.assigned_by_staff", lang)))
        if payload.staff_note:
            blocks.append(_context(_quote(payload.staff_note, 500)))
    return blocks


def build_expert_request(
    payload: ExpertRequest | ExpertReminder,
    lang: str,
    *,
    state: str = STATE_ASKED,
    status: str | None = None,
    reminder: bool = False,
) -> Rendered:
    """The DM asking an expert to answer, with buttons for ``state`` and an optional status line."""
    title = t("routing.reminder_title" if reminder else "routing.request_title", lang)
    blocks: list[Block] = [_header(title)]
    blocks.extend(_question_blocks(payload, lang, show_asker=True, additions=payload.additions))
    reasons = [escape_truncate(r, 200) for r in payload.reasons[:6]]
    if reasons:
        blocks.append(_context(f"_{t('routing.why_you', lang)}: {'; '.join(reasons)}_"))
    if isinstance(payload, ExpertRequest):
        blocks.extend(_handed_on(payload, lang))
    if status:
        blocks.append(_section(status))
    actions = _expert_actions(payload.routing_id, lang, state)
    if actions is not None:
        blocks.append(actions)
    text = f"{title} {escape_truncate(payload.text or '', FALLBACK_LIMIT)}"
    return Rendered(text=_fallback(text), blocks=blocks[:MAX_BLOCKS])


CLOSED_KEYS = {
    CloseReason.ANSWERED: N_("routing.closed_answered"),
    CloseReason.CANCELLED: N_("routing.closed_cancelled"),
    CloseReason.RESOLVED: N_("routing.closed_resolved"),
    CloseReason.CLOSED: N_("routing.closed_closed"),
}


def build_routing_closed(payload: RoutingClosed, lang: str) -> Rendered:
    key = CLOSED_KEYS[payload.reason] if payload.reason is not None else N_("routing.closed")
    head = t(key, lang, name=person_label(payload.answered_by, lang))
    blocks: list[Block] = [_section(f":white_check_mark: {head}")]
    blocks.append(_context(_quote(payload.text, 500)))
    if payload.answer_text:
        blocks.append(_section(f"*{t('routing.the_answer', lang)}*\n{_quote(payload.answer_text)}"))
    return Rendered(text=_fallback(head), blocks=blocks)


def build_question_updated(payload: QuestionUpdated, lang: str) -> Rendered:
    head = t("routing.updated", lang)
    blocks: list[Block] = [_section(f":information_source: *{head}*\n{_quote(payload.addition, 2000)}")]
    blocks.append(_context(_quote(payload.text, 500)))
    return Rendered(text=_fallback(head), blocks=blocks)


# --- the asker ---------------------------------------------------------------------------------------------------


def build_answer_to_asker(payload: AnswerToAsker, lang: str, *, rated: int | None = None) -> Rendered:
    head = t("routing.answer_for_you", lang, name=person_label(payload.answered_by, lang))
    blocks: list[Block] = [
        _section(f":speech_balloon: {head}"),
        _context(_quote(payload.text, 500)),
        _section(_quote(payload.answer_text, 2800)),
    ]
    question_id = str(payload.question_id)
    if rated is None:
        blocks.append(_context(t("routing.rate_prompt", lang)))
        stars = [_button("⭐" * n, f"{ids.ACTION_RATE_PREFIX}{n}", question_id) for n in range(1, 6)]
        blocks.append(ActionsBlock(block_id=f"rate:{question_id}", elements=stars))
        blocks.append(
            ActionsBlock(
                block_id=f"resolve:{question_id}",
                elements=[_button(t("routing.btn_resolve", lang), ids.ACTION_RESOLVE_QUESTION, question_id)],
            )
        )
    else:
        blocks.append(_context(t("routing.rated", lang, stars="⭐" * rated)))
    return Rendered(text=_fallback(head), blocks=blocks)


def build_question_answered(payload: QuestionAnswered, lang: str) -> Rendered:
    """In the question's channel thread (public questions only)."""
    head = t("routing.answer_in_thread", lang, name=person_label(payload.answered_by, lang))
    blocks: list[Block] = [_section(f":speech_balloon: {head}\n{_quote(payload.answer_text, 2800)}")]
    return Rendered(text=_fallback(head), blocks=blocks)


def build_asker_update(payload: AskerUpdate, lang: str) -> Rendered:
    update = payload.update
    if update is AskerUpdateKind.ROUTED:
        names = format_list([person_label(p, lang) for p in payload.experts], lang)
        head = t("routing.update_routed", lang, names=names or t("routing.someone", lang))
    elif update is AskerUpdateKind.CLAIMED:
        head = t("routing.update_claimed", lang, name=person_label(payload.expert, lang))
    elif update is AskerUpdateKind.ESCALATED:
        head = t("routing.update_escalated", lang)
    elif update is AskerUpdateKind.CLOSED:
        head = t("routing.update_closed", lang)
        if payload.note:
            head += "\n" + _quote(payload.note, 1000)
    else:  # a kind of update this version does not know
        head = t("routing.update_other", lang, update="")
    blocks: list[Block] = [_section(head), _context(_quote(payload.text, 500))]
    return Rendered(text=_fallback(head), blocks=blocks)


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
    created: str
    answered: bool
    rating: int | None


ACTIVE = frozenset({QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.CLAIMED, QuestionStatus.ESCALATED})


def build_my_questions(questions: Sequence[MyQuestion], lang: str) -> list[Block]:
    blocks: list[Block] = [_header(t("routing.my_title", lang))]
    if not questions:
        blocks.append(_section(t("routing.my_none", lang)))
        return blocks
    for q in questions[:15]:
        line = f"*{escape_truncate(q.text, 300)}*\n{status_label(q.status, lang)} · {escape_truncate(q.created, 20)}"
        if q.rating:
            line += f" · {'⭐' * q.rating}"
        blocks.append(_section(line))
        value = str(q.id)
        buttons: list[ButtonElement] = []
        if q.status in ACTIVE:
            buttons.append(_button(t("routing.btn_add_info", lang), ids.ACTION_ADD_INFO, value))
            buttons.append(_button(t("routing.btn_cancel", lang), ids.ACTION_CANCEL_QUESTION, value, style="danger"))
        if q.status in ACTIVE or q.status is QuestionStatus.ANSWERED:
            buttons.append(_button(t("routing.btn_resolve", lang), ids.ACTION_RESOLVE_QUESTION, value))
        if q.answered and not q.rating and q.status in (QuestionStatus.ANSWERED, QuestionStatus.RESOLVED):
            buttons.extend(_button("⭐" * n, f"{ids.ACTION_RATE_PREFIX}{n}", value) for n in range(1, 6))
        if buttons:
            blocks.append(ActionsBlock(block_id=f"my:{q.id}", elements=buttons))
    return blocks[:MAX_BLOCKS]


# --- staff -------------------------------------------------------------------------------------------------------


def build_triage(payload: Triage, lang: str, *, status: str | None = None, open_actions: bool = True) -> Rendered:
    reason_text = t(REASON_KEYS[payload.reason], lang) if payload.reason else ""
    head = t("routing.triage_title", lang)
    blocks: list[Block] = [_header(head), _context(t("routing.triage_reason", lang, reason=reason_text))]
    if payload.redacted:
        blocks.append(_section(t("routing.triage_redacted", lang)))
        themes = theme_names(payload, lang)
        if themes:
            blocks.append(_context(t("routing.themes", lang, themes=themes)))
    else:
        blocks.extend(_question_blocks(payload, lang, show_asker=True))
    counts = payload.routing_counts
    if counts:
        summary = ", ".join(f"{escape_truncate(str(k), 20)}: {int(v)}" for k, v in sorted(counts.items()))
        blocks.append(_context(t("routing.triage_counts", lang, counts=summary)))
    if status:
        blocks.append(_section(status))
    question_id = payload.question_id
    if open_actions:
        blocks.append(
            ActionsBlock(
                block_id=triage_actions_block_id(question_id),
                elements=[
                    UserSelectElement(
                        action_id=ids.ACTION_TRIAGE_ASSIGN,
                        placeholder=_plain(t("routing.btn_assign", lang), OPTION_TEXT_LIMIT),
                    ),
                    _button(t("routing.btn_close", lang), ids.ACTION_TRIAGE_CLOSE, str(question_id)),
                ],
            )
        )
    return Rendered(text=_fallback(f"{head}: {reason_text}"), blocks=blocks[:MAX_BLOCKS])


REASON_KEYS = {  # why a question went to staff (Question.escalation_reason)
    EscalationReason.NO_MATCH: N_("routing.reason_no_match"),
    EscalationReason.NOBODY_AVAILABLE: N_("routing.reason_nobody_available"),
    EscalationReason.ALL_DECLINED: N_("routing.reason_all_declined"),
    EscalationReason.DEADLINE: N_("routing.reason_deadline"),
    EscalationReason.DESIRED_DATE: N_("routing.reason_desired_date"),
}


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
            return build_expert_request(payload, lang, state=STATE_ASKED)
        case ExpertReminder():
            state = STATE_CLAIMED if payload.routing_status is RoutingStatus.CLAIMED else STATE_ASKED
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
        case Triage():
            return build_triage(payload, lang)


# --- modals ------------------------------------------------------------------------------------------------------


def _modal(callback_id: str, title: str, submit: str, lang: str, blocks: list[Block], metadata: str) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=_plain(title, MODAL_TITLE_LIMIT),
        submit=_plain(submit, MODAL_TITLE_LIMIT),
        close=_plain(t("routing.modal_close", lang), MODAL_TITLE_LIMIT),
        blocks=blocks,
        private_metadata=metadata,
    )


def build_ask_modal(
    lang: str,
    *,
    text: str,
    themes: Sequence[ThemeChoice],
    theme_key: str | None,
    metadata: Mapping[str, Any],
    desired_by: str | None = None,
) -> View:
    """The "ask an expert" modal: question, context, theme, desired date, visibility."""
    options = [Option(value=c.key, text=_plain(c.label, OPTION_TEXT_LIMIT)) for c in themes[:MAX_OPTIONS]]
    initial = next((o for o in options if o.value == theme_key), None)
    visibilities = [
        Option(value=v, text=_plain(t(key, lang), OPTION_TEXT_LIMIT))
        for v, key in (
            ("public", N_("routing.visibility_public")),
            ("private", N_("routing.visibility_private")),
            ("anonymous", N_("routing.visibility_anonymous")),
        )
    ]
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.BLOCK_ASK_TEXT,
            label=_plain(t("routing.field_question", lang), 2000),
            element=PlainTextInputElement(
                action_id=ids.INPUT_ASK_TEXT, multiline=True, initial_value=text[:3000] or None, max_length=3000
            ),
        ),
        InputBlock(
            block_id=ids.BLOCK_ASK_CONTEXT,
            label=_plain(t("routing.field_context", lang), 2000),
            element=PlainTextInputElement(action_id=ids.INPUT_ASK_CONTEXT, multiline=True, max_length=3000),
            optional=True,
        ),
    ]
    if options:
        blocks.append(
            InputBlock(
                block_id=ids.BLOCK_ASK_THEME,
                label=_plain(t("routing.field_theme", lang), 2000),
                element=StaticSelectElement(action_id=ids.INPUT_ASK_THEME, options=options, initial_option=initial),
                optional=True,
            )
        )
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_ASK_DATE,
            label=_plain(t("routing.field_date", lang), 2000),
            element=DatePickerElement(action_id=ids.INPUT_ASK_DATE, initial_date=desired_by),
            optional=True,
        )
    )
    blocks.append(
        InputBlock(
            block_id=ids.BLOCK_ASK_VISIBILITY,
            label=_plain(t("routing.field_visibility", lang), 2000),
            element=RadioButtonsElement(
                action_id=ids.INPUT_ASK_VISIBILITY, options=visibilities, initial_option=visibilities[0]
            ),
        )
    )
    return _modal(
        ids.VIEW_ASK, t("routing.ask_title", lang), t("routing.ask_submit", lang), lang, blocks, json.dumps(metadata)
    )


@dataclass(frozen=True, slots=True)
class TextModal:
    """A modal with one multi-line text field (a reason, a note, an answer): its ids and text keys."""

    callback_id: str
    block_id: str
    action_id: str
    title_key: str
    submit_key: str
    label_key: str
    optional: bool = False
    max_length: int = 2000


def build_text_modal(spec: TextModal, lang: str, *, metadata: Mapping[str, Any], question: str | None = None) -> View:
    """``spec``'s modal in ``lang``, quoting ``question`` above the field when given."""
    blocks: list[Block] = []
    if question is not None:
        blocks.append(_section(f"*{t('routing.question', lang)}*\n{_quote(question, 2500)}"))
    blocks.append(
        InputBlock(
            block_id=spec.block_id,
            label=_plain(t(spec.label_key, lang), 2000),
            element=PlainTextInputElement(action_id=spec.action_id, multiline=True, max_length=spec.max_length),
            optional=spec.optional,
        )
    )
    title, submit = t(spec.title_key, lang), t(spec.submit_key, lang)
    return _modal(spec.callback_id, title, submit, lang, blocks, json.dumps(dict(metadata)))


DECLINE_MODAL = TextModal(
    ids.VIEW_DECLINE,
    ids.BLOCK_DECLINE_REASON,
    ids.INPUT_DECLINE_REASON,
    N_("routing.decline_title"),
    N_("routing.btn_decline"),
    N_("routing.field_decline_reason"),
    optional=True,
)
ADD_INFO_MODAL = TextModal(
    ids.VIEW_ADD_INFO,
    ids.BLOCK_ADD_INFO,
    ids.INPUT_ADD_INFO,
    N_("routing.add_info_title"),
    N_("routing.btn_add_info"),
    N_("routing.field_add_info"),
    max_length=3000,
)
ANSWER_MODAL = TextModal(
    ids.VIEW_ANSWER,
    ids.BLOCK_ANSWER_TEXT,
    ids.INPUT_ANSWER_TEXT,
    N_("routing.answer_title"),
    N_("routing.answer_submit"),
    N_("routing.field_answer"),
    max_length=3000,
)
TRIAGE_CLOSE_MODAL = TextModal(
    ids.VIEW_TRIAGE_CLOSE,
    ids.BLOCK_TRIAGE_NOTE,
    ids.INPUT_TRIAGE_NOTE,
    N_("routing.close_title"),
    N_("routing.btn_close"),
    N_("routing.field_close_note"),
    optional=True,
)


def build_decline_modal(lang: str, *, routing_id: int, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(DECLINE_MODAL, lang, metadata={**metadata, "routing_id": routing_id})


def build_add_info_modal(lang: str, *, question_id: int, question: str) -> View:
    """The asker adds information to an open question; everyone still asked gets it."""
    return build_text_modal(ADD_INFO_MODAL, lang, metadata={"question_id": question_id}, question=question)


def build_answer_modal(lang: str, *, routing_id: int, question: str, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(ANSWER_MODAL, lang, metadata={**metadata, "routing_id": routing_id}, question=question)


def build_triage_close_modal(lang: str, *, question_id: int, metadata: Mapping[str, Any]) -> View:
    return build_text_modal(TRIAGE_CLOSE_MODAL, lang, metadata={**metadata, "question_id": question_id})
