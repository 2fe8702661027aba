"""Knowledge needs in Slack (staff): ``/wieweet behoeften [periode]``, ``/wieweet rapport [periode]``, the proposed
work session's buttons in the triage channel (invite / dismiss / done) and the recruiting DM's button.

Thin listeners: ack, parse, call ``bot.needs.NeedsService`` with the clicking user as the ``Actor`` (only staff may
see needs and act on proposals: the service checks, and a refusal is logged by the global error handler), render
with ``handlers.blocks.needs``, send. Button values and modal metadata carry proposal or topic ids only; every one
is checked against the database by the service. The proposal message updated after an action is the one the
database says was posted (``NeedsService.proposal_message_refs``), never the clicked container.

Inviting (a modal submission, run from the inbox after the ack): the service plans whom to invite and changes
nothing; the channel is created (``conversations.create``) or the picked one used (a claim: only a channel the staff
member is in, by Slack's data), the channel and the invitees are
saved as a step of the inbox job, the people are invited (``conversations.invite``), and only then is the invitation
recorded (audited). A retry (the record failed, a crash, a takeover) reuses the saved channel. A Slack refusal — a
missing scope, a taken name, a channel wieweet is not in — records nothing, and the staff member gets one DM with
what to do (the modal is closed by then); a passing Slack failure (a rate limit, an error on Slack's side) is
retried instead.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError

from bot.actors import NotAuthorized
from bot.error_texts import field_error_text
from bot.i18n import t
from bot.needs import InvitePlan, NeedsService, Period, parse_period
from bot.needs.periods import current_quarter
from bot.needs.report import collect_report, render_chart_png, render_xlsx
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
    build_needs_proposal,
    proposal_payload,
    status_dismissed,
    status_done,
    status_invited,
)
from handlers.forms import Draft, NeedsDoneForm, NeedsInviteForm
from handlers.kit import Rendered, build_shared_stand_in, escape_truncate
from handlers.services import SlackUnavailableError, slack_transient
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
    overview = _service(turn).overview(
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
    data = collect_report(
        turn.session, service=_service(turn), actor=turn.actor, period=period, now=turn.now, lang=turn.lang
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


def _update_proposal(turn: Turn, proposal_id: int, rendered: Rendered) -> None:
    """The proposal's staff posts show ``rendered``; in a channel shared with another organisation by then, its
    number, that staff acted on it and its buttons alone: no topic, questions, practices or names."""
    refs = _service(turn).proposal_message_refs(turn.session, proposal_id=proposal_id)  # with staff's DM copies
    line = t("needs.proposal_shared", turn.channel_lang, proposal_id=proposal_id)
    stand_in = build_shared_stand_in(line, rendered)
    turn.update_messages(
        refs,
        rendered.text,
        rendered.blocks,
        about=f"need_proposal:{proposal_id}",
        if_shared=(stand_in.text, stand_in.blocks),
    )


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


def _slack_problem(turn: Turn, exc: SlackApiError) -> str:
    """What staff read on the modal when Slack refused: which scope is missing, or what to do instead."""
    error = str(exc.response.get("error") or "")
    lang = turn.lang
    if error == "missing_scope":
        needed = escape_truncate(str(exc.response.get("needed") or "channels:manage"), 100)
        return t("needs.invite_missing_scope", lang, scope=needed)
    if error == "name_taken":
        return t("needs.invite_name_taken", lang)
    if error.startswith("invalid_name"):
        return t("needs.invite_invalid_name", lang)
    if error in {"not_in_channel", "channel_not_found"}:
        return t("needs.invite_not_in_channel", lang)
    if error == "is_archived":
        return t("needs.invite_archived", lang)
    return t("needs.invite_failed", lang, error=escape_truncate(error or "?", 60))


def handle_invite_submission(turn: Turn, form: NeedsInviteForm) -> None:
    service = _service(turn)
    plan = service.plan_invite(
        turn.session, actor=turn.actor, proposal_id=form.proposal_id, now=turn.now, channel_id=form.channel_id
    )
    if plan.channel_id is not None and not turn.is_channel_member(plan.channel_id):
        # the picked channel is a claim (the menu lists one's own channels): not a private channel wieweet is in
        # that they are not, nor someone else's DM. Refused before anyone is invited or anything is posted there.
        raise NotAuthorized("hold a work session in a channel one is not in", target=f"channel:{plan.channel_id}")
    # nor one shared with another organisation: the invitation names the network's people and their question
    turn.services.channels.require_not_shared_outside(client=turn.client, channel_id=plan.channel_id, now=turn.now)
    name = "-".join(form.channel_name.casefold().split()) or plan.channel_name
    try:
        channel, new = _invite(turn, plan, name)
    except SlackApiError as exc:
        if slack_transient(exc):  # Slack will likely take it later: the inbox worker retries, nothing is refused
            raise SlackUnavailableError(f"work session invite: {exc.response.get('error')}") from exc
        log.warning(
            "work session invite failed proposal=%s error=%s needed=%s ref=%s",
            form.proposal_id,
            exc.response.get("error"),
            exc.response.get("needed"),
            turn.correlation_id,
        )
        turn.form_errors({_SCOPE_BLOCK: _slack_problem(turn, exc)})
        turn.outcome = f"slack {exc.response.get('error')}"
        return
    view = service.record_invite(
        turn.session,
        actor=turn.actor,
        proposal_id=form.proposal_id,
        channel_id=channel,
        invited=new,
        created=plan.create,
        now=turn.now,
    )
    lang = turn.channel_lang
    label = escape_truncate(plan.intro or t("needs.private_topic", lang), 200)
    intro = t("needs.channel_intro", lang, label=label, staff=turn.staff_label)
    turn.post(channel=channel, text=intro)
    status = status_invited(lang, staff=turn.staff_label, channel_id=channel, invited=len(new))
    _update_proposal(
        turn, form.proposal_id, build_needs_proposal(proposal_payload(view.to_json(), status_line=status), lang)
    )
    turn.outcome = f"invited proposal={form.proposal_id} channel={channel} people={len(new)}"


def _invite(turn: Turn, plan: InvitePlan, name: str) -> tuple[str, list[str]]:
    """Create the channel (or take the picked one) and invite whom ``plan`` says; returns the channel and who was
    invited. Run from the inbox, the channel and the invitees are saved as a step as soon as they are known, so a
    retry (the transaction recording the invitation failed, the process died, another worker took the request over)
    invites into the same channel instead of meeting ``name_taken`` on a second create."""
    saved = turn.step("invite")
    if isinstance(saved, dict) and saved.get("channel"):
        channel, new = str(saved["channel"]), [str(u) for u in saved.get("invited") or []]
        present = _members(turn, channel)  # some may have been invited before the retry
        missing = [u for u in new if u not in present]
        if missing:
            turn.client.conversations_invite(channel=channel, users=",".join(missing))
        return channel, new
    if plan.create:
        channel, members = _create(turn, name)
    else:
        assert plan.channel_id is not None
        channel = plan.channel_id
        members = _members(turn, channel)
    new = [u for u in plan.invite if u not in members]
    turn.save_step("invite", {"channel": channel, "invited": new})
    if new:
        turn.client.conversations_invite(channel=channel, users=",".join(new))
    return channel, new


def _create(turn: Turn, name: str) -> tuple[str, set[str]]:
    """Create the work session's channel; returns it and its members. Run from the inbox, the name is saved as a
    step first: a retry that meets ``name_taken`` after an attempt that got as far as the create (Slack made the
    channel, then the process died or its answer was lost) adopts the channel of that name the bot created,
    instead of refusing and leaving it empty."""
    tried = turn.step("creating") == name
    if not tried:
        turn.save_step("creating", name)
    try:
        return str(turn.client.conversations_create(name=name)["channel"]["id"]), set()
    except SlackApiError as exc:
        if not tried or exc.response.get("error") != "name_taken":
            raise
        channel = _own_channel_named(turn, name)
        if channel is None:  # someone else's channel took the name meanwhile: a real refusal
            raise
        log.info(
            "work session channel %s (%s) made by an earlier attempt: adopted ref=%s",
            name,
            channel,
            turn.correlation_id,
        )
        return channel, _members(turn, channel)


def _own_channel_named(turn: Turn, name: str) -> str | None:
    """The id of the public channel called ``name`` that the bot created, or None."""
    bot = str(turn.client.auth_test().get("user_id") or "")
    cursor: str | None = None
    for _ in range(50):  # pages of 1000 channels
        listed = turn.client.conversations_list(
            types="public_channel", exclude_archived=True, limit=1000, cursor=cursor
        )
        for channel in listed.get("channels") or []:
            if channel.get("name") == name and bot and channel.get("creator") == bot:
                return str(channel["id"])
        cursor = str((listed.get("response_metadata") or {}).get("next_cursor") or "") or None
        if not cursor:
            break
    return None


def _members(turn: Turn, channel: str) -> set[str]:
    listed = turn.client.conversations_members(channel=channel, limit=1000)
    return {str(m) for m in listed.get("members") or []}


def handle_dismiss(turn: Turn, proposal_id: int) -> None:
    view = _service(turn).dismiss_proposal(turn.session, actor=turn.actor, proposal_id=proposal_id, now=turn.now)
    lang = turn.channel_lang
    status = status_dismissed(lang, staff=turn.staff_label)
    _update_proposal(
        turn, proposal_id, build_needs_proposal(proposal_payload(view.to_json(), status_line=status), lang)
    )
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
    lang = turn.channel_lang
    status = status_done(lang, staff=turn.staff_label, notes_url=form.notes_url)
    _update_proposal(
        turn, form.proposal_id, build_needs_proposal(proposal_payload(view.to_json(), status_line=status), lang)
    )
    turn.outcome = f"done proposal={form.proposal_id} practice={view.practice_id}"


# --- recruiting: the DM's button ----------------------------------------------------------------------------------


def handle_add_topic(turn: Turn, topic_id: int) -> None:
    """The person asked adds the topic to their profile (only them, only the topic they were asked about)."""
    service = _service(turn)
    label = service.add_topic_to_profile(turn.session, actor=turn.actor, topic_id=topic_id, now=turn.now)
    refs = service.expertise_request_refs(turn.session, actor=turn.actor, topic_id=topic_id)
    rendered = build_expertise_request({"label": label, "topic_id": topic_id, "added": True}, turn.lang)
    turn.update_messages(refs, rendered.text, rendered.blocks, about=f"need_topic:{topic_id}")
    turn.home_changed(turn.user_id)
    turn.outcome = f"topic added topic={topic_id}"
