"""``wieweet run``: the Slack bot — and the composition root, the one place that knows every layer.

It builds the core services (knowledge base, routing), the Slack layer's ``Services`` around them, the Bolt app,
and the job runner with the Slack outbox sender and digest poster handed in; then serves until stopped.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import click

from bot.cli import CliContext, pass_cli
from bot.cli.business_days import business_calendar
from bot.config import settings_warnings
from bot.jobs import JobRunner, default_worker_id
from bot.knowledge import KnowledgeBase
from bot.needs import NeedsService
from bot.needs.jobs import NeedsPass
from bot.routing import RoutingPolicy, RoutingService
from handlers import txguard
from handlers.app import create_app, run_http, run_socket_mode
from handlers.channel_reconcile import SlackChannelLookup
from handlers.digest_post import due_digests_poster
from handlers.inbox import InboxWorker
from handlers.needs_refresh import ProposalRefresher
from handlers.outbox import OutboxSender, check_triage_channel
from handlers.reactivations import RecentMarksCheck
from handlers.services import LocaleCache, Services, make_clock
from handlers.slack_settings import check_tokens
from handlers.socketwatch import SOCKET_DOWN_EXIT, SocketModeDownError
from handlers.stopping import StopSignals

log = logging.getLogger("wieweet.run")


@click.command(name="run")
@click.option("--http", "http_mode", is_flag=True, help="Serve Slack's HTTP requests instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on (with --http).")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True, help="Port (with --http).")
@pass_cli
def run(cli: CliContext, http_mode: bool, host: str, port: int) -> None:
    """Run the Slack bot.

    Socket Mode (default) needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN and no public URL. HTTP mode needs
    SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; Slack's requests go to /slack/events, health checks to /healthz.
    SLACK_API_URL points the bot at another Slack Web API (tests use an emulator).

    \b
    Examples:
      SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… wieweet run
      SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… wieweet run --http --port 3000
    """
    # In place from start to exit: a stop while starting is acted on once the step under way (creating or upgrading
    # the schema, loading the register) has ended, not in the middle of it, and ``run`` exits 0 without serving; a
    # stop while serving is an orderly shutdown; a second signal at any time ends the process at once (exit 130 for
    # Ctrl-C), e.g. when the shutdown hangs on a Slack call or a job (see ``handlers.stopping``).
    with StopSignals() as stop:
        _run(cli, stop, http_mode=http_mode, host=host, port=port)


def _run(cli: CliContext, stop: StopSignals, *, http_mode: bool, host: str, port: int) -> None:
    settings = cli.settings
    check_tokens(settings, http=http_mode, problems=cli.problems)
    for warning in settings_warnings(settings):  # nobody is staff, no triage channel: it runs, but half of it idles
        log.warning("%s", warning)
    if settings.tx_guard_file:
        txguard.install(settings.tx_guard_file)
    knowledge = KnowledgeBase(
        cli.open_database(create_missing=True),
        timezone=settings.timezone,
        reconfirm_days=settings.reconfirm_days,
        semantic=settings.semantic,
        gap_levels=settings.gap_levels,
        theme_names_once=settings.theme_names_once,
    )
    knowledge.load()
    cli.closing.append(knowledge.close)  # when the command ends (``CliContext.close``)
    if stop.stopped_while_starting():
        return
    policy = RoutingPolicy(
        triage_channel_id=settings.triage_channel_id,
        require_confirmed_consent=settings.require_consent,
        max_open_per_asker=settings.max_open_per_asker,
        max_questions_per_hour=settings.max_questions_per_hour,
        default_language=settings.default_language,
    )
    routing = RoutingService(knowledge=knowledge, policy=policy, calendar=business_calendar(settings))
    needs = NeedsService.from_settings(knowledge, settings)
    services = Services(
        settings=settings,
        db=cli.db,
        knowledge=knowledge,
        clock=make_clock(settings),
        locales=LocaleCache(settings.default_language),
        routing=routing,
        needs=needs,
    )
    app = create_app(services, http=http_mode)
    check_triage_channel(services, app.client)  # shared with another organisation: a warning, and staff get DMs
    if stop.stopped_while_starting():
        return
    worker_id = default_worker_id()
    refresher = ProposalRefresher(services, app.client)
    jobs = JobRunner(
        services,
        worker_id=worker_id,
        needs=NeedsPass(cli.db, needs, worker_id=worker_id),
        routing=routing,
        sender=OutboxSender(services, app.client, policy=policy),
        digests=due_digests_poster(services.db, app.client, services.channels, tz=ZoneInfo(settings.timezone)),
        channel_privacy=SlackChannelLookup(app.client, services.channels),
        refresh_proposals=refresher.refresh_due,
        recheck_marks=RecentMarksCheck(services, app.client),
    ).start()
    inbox = InboxWorker(services, app.client).start()  # what earlier runs acknowledged and left unfinished, first
    gave_up = False
    try:
        if http_mode:
            run_http(app, services, host=host, port=port, stopping=stop, stopped=lambda: inbox.stopped or jobs.stopped)
        else:
            run_socket_mode(app, settings, stopping=stop)
    except SocketModeDownError:  # logged as an ERROR: a non-zero exit, so the supervisor restarts it visibly
        gave_up = True
    finally:
        log.info("wieweet stopping: finishing the requests and jobs in progress (a second Ctrl-C ends it at once)")
        inbox.shutdown()
        jobs.shutdown()
    if gave_up:
        raise click.exceptions.Exit(SOCKET_DOWN_EXIT)


def register(group: click.Group) -> None:
    group.add_command(run)
