"""``wieweet question``: one question settled by hand — shown, closed, or handed to an expert — as staff do it from
the triage channel, with the same service functions (``RoutingService.staff_close``/``staff_assign``) and so the
same rules. What they tell people is queued in the outbox: it works with Slack unreachable or the bot stopped, and
goes out when the bot runs. For a restore, an outage or a question stuck without anyone to move it on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliContext, cli_actor, operator_language, pass_cli
from bot.cli.business_days import business_calendar
from bot.cli.options import parse_now
from bot.cli.output import echo
from bot.cli.recipients import shown_recipient
from bot.cli.wording import local_time
from bot.directory import known_name
from bot.error_texts import error_text
from bot.errors import NotFoundError, WieweetError
from bot.i18n import format_number, t
from bot.inbox import record_with_change
from bot.knowledge import KnowledgeBase
from bot.privacy.audit import record_counts
from bot.routing import RoutingInputError, RoutingPolicy, RoutingService, StaleActionError
from bot.routing.overview import question_overview
from bot.routing.payloads import is_shareable
from bot.routing.staff import STAFF_ASSIGNED, STAFF_CLOSED, STAFF_POSTS_KIND
from bot.text import is_slack_user_id
from handlers.blocks.routing import status_label
from storage import outbox_repo, question_repo, register_repo
from storage.models import Question

QUESTION_ENTITY = "question"
NOW_OPTION = click.option(
    "--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays)."
)
DRY_RUN_OPTION = click.option("--dry-run", is_flag=True, help="Print what would happen and be queued; change nothing.")


class NotAssignable(RoutingInputError):
    """The command line hands a question only to someone in the expert register with a Slack account: whether anyone
    else is inside the network is Slack's to say (the triage channel's "assign" asks it)."""

    code = "not_assignable"


class UnknownExpert(NotFoundError):
    """``--expert`` names nobody in the expert register, or is neither an e-mail address nor a Slack id (exit 2)."""

    code = "not_assignable"


@contextmanager
def _service(cli: CliContext) -> Iterator[RoutingService]:
    """The routing service as ``wieweet run`` builds it. Closing and assigning never search, but a close lets the
    asker's next held question go to the experts, which loads the knowledge base: closed at the end."""
    settings = cli.settings
    policy = RoutingPolicy(
        triage_channel_id=settings.triage_channel_id,
        require_confirmed_consent=settings.require_consent,
        max_open_per_asker=settings.max_open_per_asker,
        max_questions_per_hour=settings.max_questions_per_hour,
        default_language=settings.default_language,
    )
    with KnowledgeBase(cli.db, timezone=settings.timezone, semantic=False) as knowledge:
        yield RoutingService(knowledge=knowledge, policy=policy, calendar=business_calendar(settings))


def _refuse(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _unknown(question_id: int, lang: str) -> NoReturn:
    _refuse(t("cli.no_question", lang, question=question_id), EXIT_BAD_INPUT)


def _why(session: Session, error: WieweetError, question: Question | None, lang: str) -> str:
    """The refusal in the words staff read in Slack, in the operator's language (``lang``), with the person's name
    where Slack shows a mention (``bot.directory.known_name``), and the question's state when that explains it."""
    text = error_text(error, lang, person=lambda user_id: known_name(session, user_id=user_id)) or error.message
    if isinstance(error, StaleActionError) and question is not None:
        text += " " + t("cli.question_is", lang, question=question.id, status=status_label(question.status, lang))
    if error.code == "not_escalated":  # a question still with experts reaches staff through its escalation timer
        text += " " + t("cli.assign_escalated_only", lang)
    return text


@contextmanager
def _settling(cli: CliContext, question_id: int, *, dry_run: bool) -> Iterator[tuple[Session, set[int]]]:
    """One transaction for a close or an assignment: the question checked first (unknown: exit 2) and locked, what
    was queued for it before noted (to print what this adds; a running process queues for it only after this
    transaction), rolled back on a refusal (exit 1; an expert not in the register: exit 2) and on ``dry_run``. A
    refusal whose record stands (``keep_changes``: a refused pick, audited and counted towards ``too_many_picks``)
    commits it, as in Slack."""
    with cli.db.session() as session:
        try:
            question_overview(session, question_id=question_id)
        except NotFoundError:
            _unknown(question_id, operator_language(cli))
        question_repo.get_question(session, question_id=question_id, lock=True)
        before = {m.id for m in outbox_repo.list_outbox_messages(session, question_id=question_id)}
        try:
            yield session, before
        except WieweetError as error:
            kept = error.keep_changes and not dry_run
            if kept:
                session.commit()
            else:
                session.rollback()
            shown = question_overview(session, question_id=question_id).question
            code = EXIT_BAD_INPUT if isinstance(error, NotFoundError) else EXIT_REFUSED  # staff's refusals: 1
            lang = operator_language(cli)
            said = t("cli.pick_recorded", lang) if kept else t("cli.nothing_changed", lang)
            _refuse(f"{_why(session, error, shown, lang)} {said}", code)
        if dry_run:
            session.rollback()


def _queued_since(session: Session, question: Question, before: set[int], lang: str) -> list[str]:
    """What this transaction queued for the question ("asker_update aan U0…": the kind a code, as `question show`
    lists it), read before a dry run rolls back."""
    added = [m for m in outbox_repo.list_outbox_messages(session, question_id=question.id) if m.id not in before]
    return [f"{m.kind.value} " + t("cli.to", lang, to=shown_recipient(m, question, lang)) for m in added]


def _thread(question: Question, lang: str) -> str:
    """Where the question was asked; not shown for one staff may not see (``is_shareable``): a private channel's
    id would tell where it was asked, as its text and asker would."""
    if not (question.channel_id and question.thread_ts):
        return t("cli.thread_dms", lang)
    if not is_shareable(question):
        return t("cli.thread_hidden", lang)
    return f"{question.channel_id} {question.thread_ts}"


def _print_queued(queued: list[str], *, dry_run: bool, lang: str) -> None:
    for line in queued:
        echo("  " + t("cli.settle_would_queue" if dry_run else "cli.settle_queued", lang, message=line))
    if dry_run:
        echo(t("cli.settle_dry_run", lang))


@click.group(name="question")
def question_group() -> None:
    """One question by hand: show it, close it, or hand it to an expert — as staff do from the triage channel, with
    the same checks. Messages are queued: with Slack down or the bot stopped they go out when the bot runs.

    \b
    Examples:
      wieweet question show 42
      wieweet --by anna question close 42 --reason "Answered at the network day"
      wieweet --by anna question assign 42 --expert nathalie.rombaut@ocmwgent.be --dry-run
    """


@question_group.command(name="show")
@click.argument("question_id", type=int)
@pass_cli
def question_show(cli: CliContext, question_id: int) -> None:
    """A question's status, asker, the people asked, its pending timers, thread and what is queued for it. A
    private or anonymous question (or one from a private channel) is shown without its text, its asker and where it
    was asked, as in the triage channel.

    \b
    Examples:
      wieweet question show 42
    """
    tz, lang = ZoneInfo(cli.settings.timezone), operator_language(cli)
    with cli.db.session() as session:
        try:
            view = question_overview(session, question_id=question_id)
        except NotFoundError:
            _unknown(question_id, operator_language(cli))
        q = view.question
        status = q.status.value + (f" ({q.escalation_reason})" if q.escalation_reason else "")  # a code, as kinds
        asked = local_time(q.created_at, tz)
        echo(t("cli.show_question", lang, id=q.id, status=status, visibility=q.visibility.value, asked=asked))
        if q.escalated_at is not None:
            echo("  " + t("cli.show_escalated", lang, when=local_time(q.escalated_at, tz)))
        if q.closed_at is not None:
            note = f" — {q.staff_note}" if q.staff_note else ""
            echo("  " + t("cli.show_closed", lang, when=local_time(q.closed_at, tz)) + note)
        hidden = t("cli.show_hidden", lang)
        echo("  " + t("cli.show_asker", lang, asker=view.asker or hidden))
        echo("  " + t("cli.show_text", lang, text=(view.text or hidden).replace(chr(10), " ")[:200]))
        echo("  " + t("cli.show_thread", lang, thread=_thread(q, lang)))
        echo(t("cli.show_requests", lang, count=format_number(len(view.requests), lang)))
        for r in view.requests:
            who = f"{r.slack_id or '-'}" + (f" {r.name}" if r.name else "")
            echo(f"  {r.routing_id:>6}  {r.status:<10} {local_time(r.asked_at, tz):<16}  {who}")
        echo(t("cli.list_timers", lang, count=format_number(len(view.timers), lang)))
        for timer in view.timers:
            echo(f"  {timer.id:>6}  {timer.kind.value:<22} " + t("cli.due", lang, when=local_time(timer.due_at, tz)))
        echo(t("cli.show_queued", lang, count=format_number(len(view.queued), lang)))
        for m in view.queued:
            to = t("cli.to", lang, to=shown_recipient(m, q, lang))
            echo(
                f"  {m.id:>6}  {m.kind.value:<22} {to:<15} "
                + t("cli.due", lang, when=local_time(m.next_attempt_at, tz))
            )


@question_group.command(name="close")
@click.argument("question_id", type=int)
@click.option("--reason", required=True, metavar="TEXT", help="The note the asker gets (as staff's close note).")
@DRY_RUN_OPTION
@NOW_OPTION
@pass_cli
def question_close(cli: CliContext, question_id: int, reason: str, dry_run: bool, now_text: str | None) -> None:
    """Close a question as staff do: one waiting for staff (escalated, or answered) or one still with experts
    (routed, claimed, held back) that is stuck. The asker is told with the reason, everyone still asked that they
    are no longer needed, its timers end. Audited (with --by). A question closed, resolved or withdrawn already is
    refused (exit 1).

    \b
    Examples:
      wieweet question close 42 --reason "Answered by phone" --dry-run
      wieweet --by anna question close 42 --reason "Answered by phone"
    """
    if not reason.strip():
        raise click.BadParameter(t("cli.close_reason", operator_language(cli)), param_hint="--reason")
    now, actor, lang = parse_now(now_text), cli_actor(), operator_language(cli)
    with _service(cli) as service, _settling(cli, question_id, dry_run=dry_run) as (session, before):
        question = service.staff_close(session, question_id=question_id, actor=actor, note=reason, now=now)
        queued = _queued_since(session, question, before, lang)
        if not dry_run:
            _audit(session, actor, "close", question, now, queued=len(queued))
            # the triage post and staff's copies follow, as after the triage channel's Close
            queued.append(_queue_staff_posts(cli, session, question_id, STAFF_CLOSED, lang=lang))
    echo(t("cli.settle_would_close" if dry_run else "cli.settle_closed", lang, question=question_id))
    _print_queued(queued, dry_run=dry_run, lang=lang)


@question_group.command(name="assign")
@click.argument("question_id", type=int)
@click.option("--expert", "expert_ref", required=True, metavar="EMAIL|SLACK_ID", help="Who is asked (in the register).")
@click.option("--even-if-away", is_flag=True, help="Ask them though they are away (staff's 'assign anyway').")
@DRY_RUN_OPTION
@NOW_OPTION
@pass_cli
def question_assign(
    cli: CliContext, question_id: int, expert_ref: str, even_if_away: bool, dry_run: bool, now_text: str | None
) -> None:
    """Hand a question waiting for staff to an expert of the register, as staff do from the triage channel: the
    same checks (not the asker, consent not withdrawn and not opted out, listing confirmed when
    WIEWEET_REQUIRE_CONSENT is on, not away unless --even-if-away) and the same request by DM. A refused pick says
    why (exit 1; someone not in the register, or an unknown question: exit 2); one refused for consent, opt-out or
    absence is audited, as in Slack. Audited (with --by).

    Only people in the expert register with a Slack account can be chosen here: whether anyone else belongs to the
    network is Slack's to say, and the triage channel's "assign" asks it.

    \b
    Examples:
      wieweet question assign 42 --expert U0DEMO020 --dry-run
      wieweet --by anna question assign 42 --expert nathalie.rombaut@ocmwgent.be
    """
    now, actor, lang = parse_now(now_text), cli_actor(), operator_language(cli)
    with _service(cli) as service, _settling(cli, question_id, dry_run=dry_run) as (session, before):
        slack_id = _expert_slack_id(session, expert_ref)
        routing = service.staff_assign(
            session, question_id=question_id, to_slack_id=slack_id, actor=actor, now=now, assign_away=even_if_away
        )
        queued = _queued_since(session, routing.question, before, lang)
        if not dry_run:
            _audit(session, actor, "assign", routing.question, now, queued=len(queued), slack_user_id=slack_id)
            # the triage post and staff's copies follow, as after the triage channel's Assign
            queued.append(_queue_staff_posts(cli, session, question_id, STAFF_ASSIGNED, assignee=slack_id, lang=lang))
    echo(t("cli.settle_would_ask" if dry_run else "cli.settle_asked", lang, expert=slack_id, question=question_id))
    _print_queued(queued, dry_run=dry_run, lang=lang)


def _queue_staff_posts(
    cli: CliContext, session: Session, question_id: int, action: str, *, assignee: str | None = None, lang: str
) -> str:
    """With the change, in its transaction (the last thing before its commit): an inbox request for the running
    bot (``STAFF_POSTS_KIND``) that stands once the change is committed (``record_with_change``), even when the
    command dies right after the commit. The bot updates the question's triage post and staff's DM copies of it —
    the outcome shown, the buttons gone — as the triage channel's buttons do, whenever it runs (Slack unreachable
    or the bot stopped now). Queued at the real time, not ``--now``: it is due at once, also when the change is
    made at a moment ahead. Returns the line printed."""
    payload: dict[str, object] = {"question_id": question_id, "action": action, "by": cli.operator}
    if assignee is not None:
        payload["assignee"] = assignee
    record_with_change(
        session,
        cli.db,
        request_key=f"{STAFF_POSTS_KIND}:{uuid.uuid4().hex}",
        kind=STAFF_POSTS_KIND,
        payload=payload,
        now=datetime.now(UTC),
    )
    return t("cli.settle_staff_posts", lang)


def _expert_slack_id(session: Session, ref: str) -> str:
    """The Slack id of the register's expert named by e-mail address or Slack id (``UnknownExpert``; one without a
    Slack account: ``NotAssignable``)."""
    ref = ref.strip()
    if "@" in ref:
        expert = register_repo.get_expert_by_email(session, email=ref)
    elif is_slack_user_id(ref):
        expert = register_repo.get_expert_by_slack_id(session, slack_user_id=ref)
    else:
        raise UnknownExpert(
            "expert_ref_bad", f"{ref!r} is neither an e-mail address nor a Slack user id", values={"expert": ref}
        )
    if expert is None:
        raise UnknownExpert(
            "expert_not_listed",
            f"{ref} is not in the expert register: assign people outside it from the triage channel",
            values={"expert": ref},
        )
    if not expert.slack_user_id:
        raise NotAssignable(
            "expert_no_slack",
            f"{ref} has no Slack account in the register: nobody could ask them",
            values={"expert": ref},
        )
    return expert.slack_user_id


def _audit(session: Session, actor: Actor, action: str, question: Question, now: datetime, **after: object) -> None:
    """The operator's full name in the audit log (the question's own event log keeps a shortened one)."""
    record_counts(
        session,
        actor=actor,
        action=action,
        entity_type=QUESTION_ENTITY,
        key=str(question.id),
        after={"status": question.status.value, **after},
        now=now,
    )


def register(group: click.Group) -> None:
    group.add_command(question_group)
