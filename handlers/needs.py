"""Knowledge needs in Slack (staff): ``/wieweet behoeften [periode]``, ``/wieweet rapport [periode]``, the proposed
work session's buttons in the triage channel (invite / dismiss / done) and the recruiting DM's button.

Thin listeners: ack, parse, call ``bot.needs.NeedsService`` with the clicking user as the ``Actor`` (only staff may
see needs and act on proposals: the service checks, and a refusal is logged by the global error handler), render
with ``handlers.blocks.needs``, send. Button values and modal metadata carry proposal or topic ids only; every one
is checked against the database by the service. The proposal message updated after an action is the one the
database says was posted (``NeedsService.proposal_message_refs``), never the clicked container.

The invite modal's submission is ``handlers.needs_invite`` (recorded, then run from the inbox in steps, with no
transaction open while Slack is called).
"""

from __future__ import annotations

import logging
import re

from bot.error_texts import error_text, field_error_text
from bot.i18n import t
from bot.needs import NeedsService, Period, TopicLabelGone, parse_period
from bot.needs.periods import current_quarter
from bot.needs.report import collect_report_to_share, render_chart_png, render_xlsx
from bot.privacy import record_report
from bot.register.profiles import InvalidRecord
from bot.register.validation import ANY_THEME, validate_practice
from handlers import ids
from handlers.blocks.needs import (
    OVERVIEW_TOPICS,
    build_done_modal,
    build_expertise_request,
    build_invite_modal,
    build_needs_overview,
)
from handlers.forms import Draft, NeedsDoneForm
from handlers.kit import escape_truncate
from handlers.needs_refresh import ProposalRefresher
from handlers.turn import Turn

log = logging.getLogger(__name__)

NEEDS_WORDS = frozenset({"behoeften", "kennisbehoeften", "needs"})
REPORT_WORDS = frozenset({"rapport", "report"})
# what could be a period (else the text is a question to search); ASCII digits only
_PERIODISH = re.compile(r"^\d{4}[-\d.WwQq]*$", re.ASCII)
_SCOPE_BLOCK = ids.BLOCK_NEEDS_CHANNEL_NAME


def _service(turn: Turn) -> NeedsService:
    return turn.services.needs_service()


def _period(turn: Turn, text: str) -> Period:
    """The period typed after ``behoeften``/``rapport`` (untrusted text; ``parse_period`` refuses what is not one,
    also at the calendar's ends, as ``InvalidPeriod``: the usage), or the current quarter."""
    zone = turn.services.settings.timezone
    return parse_period(text, timezone=zone) if text.strip() else current_quarter(turn.now, timezone=zone)


# --- /wieweet behoeften, /wieweet rapport --------------------------------------------------------------------------


def is_needs_command(text: str) -> bool:
    """Whether ``text`` is ``behoeften [periode]`` or ``rapport [periode]`` (from the text alone)."""
    first, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    return first.casefold() in NEEDS_WORDS | REPORT_WORDS and (not rest or _PERIODISH.match(rest) is not None)


def route_needs_command(turn: Turn, text: str) -> bool:
    """``behoeften [periode]`` or ``rapport [periode]``; False for anything else (e.g. "needs of elderly people?",
    a question to search)."""
    if turn.services.needs is None or not is_needs_command(text):
        return False
    first, _, rest = text.strip().partition(" ")
    word, rest = first.casefold(), rest.strip()
    if word in NEEDS_WORDS:
        show_needs(turn, rest)
    else:
        send_report(turn, rest)
    return True


def show_needs(turn: Turn, period_text: str) -> None:
    """The period's topics, the most asked first, to the staff member who asked (ephemeral)."""
    turn.actor.require_staff("see knowledge needs")
    overview = _service(turn).overview_after_grouping(  # placed first, committed on its own (the lock's length)
        turn.session, actor=turn.actor, period=_period(turn, period_text), now=turn.now, limit=OVERVIEW_TOPICS
    )
    assert turn.respond is not None
    blocks = build_needs_overview(overview, turn.lang)
    turn.respond(text=t("needs.overview_title", turn.lang, period=overview.period), blocks=blocks)
    turn.outcome = f"needs {overview.period} topics={len(overview.topics)}"


def send_report(turn: Turn, period_text: str) -> None:
    """The period's report: the chart image and the workbook, uploaded to the staff channel when asked there,
    else to the person's DM (only staff see reports). Never into a triage channel that people of another
    organisation read (Slack Connect; unknown counts as shared), which gets nothing for staff: the DM then."""
    turn.actor.require_staff("make a knowledge-needs report")
    period = _period(turn, period_text)
    data = collect_report_to_share(  # read again just before it is uploaded: an erasure or a "stop" since
        turn.session,
        database=turn.services.db,
        service=_service(turn),
        actor=turn.actor,
        period=period,
        now=turn.now,
        lang=turn.lang,
    )
    png = render_chart_png(data, lang=turn.lang, chart="themes")
    workbook = render_xlsx(data, lang=turn.lang)  # uploaded from memory: no file on the bot's disk
    triage = turn.services.settings.triage_channel_id
    channel = triage if triage and turn.channel_id == triage and not _shared_outside(turn, triage) else None
    if channel is None:
        channel = str(turn.client.conversations_open(users=turn.user_id)["channel"]["id"])
    title = t("needs.report_title", turn.lang, period=period.label)
    turn.client.files_upload_v2(
        channel=channel,
        initial_comment=t("needs.report_comment", turn.lang, period=escape_truncate(period.label, 40)),
        file_uploads=[
            {"content": png, "filename": f"kennisbehoeften-{period.label}.png", "title": title},
            {"content": workbook, "filename": f"kennisbehoeften-{period.label}.xlsx", "title": title},
        ],
    )
    record_report(turn.session, actor=turn.actor, report=data, now=turn.now)
    if turn.respond is not None:
        where = f"<#{channel}>" if channel == triage else t("needs.report_dm", turn.lang)
        turn.respond(text=t("needs.report_sent", turn.lang, where=where), response_type="ephemeral")
    turn.outcome = f"report {period.label}"


def _shared_outside(turn: Turn, channel_id: str) -> bool:
    """Whether people of another organisation read ``channel_id`` (asked of Slack, cached; unknown: yes)."""
    return turn.services.channels.is_shared_outside(client=turn.client, channel_id=channel_id, now=turn.now)


# --- the proposal's buttons ----------------------------------------------------------------------------------------


def _draw_proposal(turn: Turn, proposal_id: int) -> None:
    """Staff closed the proposal: once committed, its staff posts (the triage post and staff's DM copies, from the
    database, never the clicked container) are drawn from the stored state — closed, by whom, without buttons; in a
    channel shared with another organisation by then, its number and that staff acted on it alone — once: under the
    refresh the close recorded (``ProposalRefresher.refresh_now``), which the job runner makes instead when Slack
    fails or a redraw was already waiting or under way (that one draws the closed state)."""
    refs = _service(turn).proposal_message_refs(turn.session, proposal_id=proposal_id)
    turn.known_refs(refs, about=f"need_proposal:{proposal_id}")  # a clicked container not among them is logged
    client, services = turn.client, turn.services
    turn.proposal_drawn(proposal_id, lambda: ProposalRefresher(services, client).refresh_now(proposal_id))


def handle_invite_button(turn: Turn, proposal_id: int) -> None:
    """Staff: the invite modal (whom, and to which channel). Refused for others and for closed proposals."""
    plan = _service(turn).plan_invite(turn.session, actor=turn.actor, proposal_id=proposal_id, now=turn.now)
    view = build_invite_modal(
        turn.lang,
        proposal_id=proposal_id,
        label=plan.intro,
        invite=plan.invite,
        without_slack=[p.name for p in plan.without_slack],
        channel_name=plan.channel_name,
    )
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_dismiss(turn: Turn, proposal_id: int) -> None:
    _service(turn).dismiss_proposal(turn.session, actor=turn.actor, proposal_id=proposal_id, now=turn.now)
    _draw_proposal(turn, proposal_id)
    turn.outcome = f"dismissed proposal={proposal_id}"


def handle_done_button(turn: Turn, proposal_id: int) -> None:
    """Staff: the modal asking for the link to the session's notes."""
    view = _service(turn).proposal(turn.session, actor=turn.actor, proposal_id=proposal_id, now=turn.now)
    if view.status not in {"open", "invited"}:
        turn.tell(t("error.proposal_closed", turn.lang))
        return
    turn.client.views_open(
        trigger_id=turn.trigger_id, view=build_done_modal(turn.lang, proposal_id=proposal_id, label=view.label)
    )


def check_done_form(form: NeedsDoneForm, draft: Draft) -> dict[str, str]:
    """Before the ack: the notes' link must be a web address, by the rule of the practice it becomes."""
    values = {"title": "-", "summary": "-", "url": form.notes_url}
    _, errors = validate_practice(values, themes=ANY_THEME, today=draft.today)
    texts = [field_error_text(e, draft.lang) for e in errors if e.column == "url"]
    return {ids.BLOCK_NEEDS_NOTES: " ".join(texts)} if texts else {}


def handle_done_submission(turn: Turn, form: NeedsDoneForm) -> None:
    try:
        view = _service(turn).complete_proposal(
            turn.session,
            actor=turn.actor,
            proposal_id=form.proposal_id,
            notes_url=form.notes_url,
            summary=form.summary,
            now=turn.now,
        )
    except InvalidRecord as invalid:  # e.g. not a web address: said under the field
        turn.form_errors({ids.BLOCK_NEEDS_NOTES: " ".join(field_error_text(e, turn.lang) for e in invalid.errors)})
        return
    turn.queued_messages()  # the practice submission's review for staff
    _draw_proposal(turn, form.proposal_id)
    turn.outcome = f"done proposal={form.proposal_id} practice={view.practice_id}"


# --- recruiting: the DM's button ----------------------------------------------------------------------------------


def handle_add_topic(turn: Turn, topic_id: int) -> None:
    """The person asked adds the topic to their profile (only them, only the topic they were asked about). When it
    may no longer be added as asked (``TopicLabelGone``) they are told, and the DM is drawn again without the label
    and its button."""
    service = _service(turn)
    try:
        label = service.add_topic_to_profile(turn.session, actor=turn.actor, topic_id=topic_id, now=turn.now)
    except TopicLabelGone as gone:
        refs = service.expertise_request_refs(turn.session, actor=turn.actor, topic_id=topic_id)
        rendered = build_expertise_request({"topic_id": topic_id, "gone": True}, turn.lang)
        turn.update_messages(refs, rendered.text, rendered.blocks, about=f"need_topic:{topic_id}")
        turn.tell(error_text(gone, turn.lang) or gone.message)
        turn.outcome = f"refused {gone.code} topic={topic_id}"
        return
    refs = service.expertise_request_refs(turn.session, actor=turn.actor, topic_id=topic_id)
    rendered = build_expertise_request({"label": label, "topic_id": topic_id, "added": True}, turn.lang)
    turn.update_messages(refs, rendered.text, rendered.blocks, about=f"need_topic:{topic_id}")
    turn.home_changed(turn.user_id)
    turn.outcome = f"topic added topic={topic_id}"
