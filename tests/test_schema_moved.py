"""An upgrade with several replicas: a replica still running the old code notices that another one (or
``wieweet db upgrade``) moved the database to a revision it does not run, and stops its jobs and fails its health
check, rather than keep working on a schema it does not know. Two engines share one database here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast
from unittest import mock

import pytest
from alembic.script import ScriptDirectory
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from bot import directory
from bot import inbox as core_inbox
from bot.config import Settings
from bot.i18n import t
from bot.jobs import BatchResult, JobRunner
from bot.knowledge import KnowledgeBase
from bot.needs.jobs import NeedsPass
from bot.routing import RoutingService
from handlers import inbox as handlers_inbox
from handlers import privacy
from handlers.app import wsgi_app
from handlers.inbox import InboxWorker, Kind
from handlers.listener import listener
from handlers.requestspec import Kind as RequestKind
from handlers.services import Services
from handlers.turn import Turn
from storage import inbox_repo
from storage.db import Database, SchemaVerdict, alembic_config, head_revision
from storage.models import Question
from tests.edge.hostile import call_wsgi, environ_for
from tests.factories import add_question, seed_themes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NEWER = "0099_fromthefuture"


class CountingSender:
    batch_size = 10

    def __init__(self) -> None:
        self.passes = 0

    def send_pending(self, *, worker_id: str) -> BatchResult:
        self.passes += 1
        return BatchResult()


@pytest.fixture
def replica(database: Database) -> Iterator[Database]:
    """A second process on the same database (its own engine), started while the schema was at this code's head."""
    other = Database(database.url)
    yield other
    other.dispose()
    with database.engine.begin() as conn:  # the PostgreSQL test database is shared by the next tests
        conn.execute(text("DELETE FROM alembic_version"))  # at another revision, or none
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head_revision()})


def _upgrade_elsewhere(database: Database, revision: str) -> None:
    """What a newer wieweet's ``db upgrade`` leaves behind, as seen by this code: another revision."""
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})


def _runner(db: Database, sender: CountingSender) -> JobRunner:
    kb = KnowledgeBase(db)
    services = Services(settings=Settings(), db=db, knowledge=kb, clock=lambda: NOW)
    return JobRunner(services, routing=RoutingService(knowledge=kb), sender=sender, worker_id="old")


def test_an_old_replica_stops_its_jobs_once_the_schema_is_newer(database: Database, replica: Database) -> None:
    sender = CountingSender()
    jobs = _runner(replica, sender)
    jobs.run_pass()
    assert sender.passes == 1 and jobs.stopped is None
    _upgrade_elsewhere(database, NEWER)
    jobs.run_pass()
    assert sender.passes == 1  # nothing more was sent by the old code
    assert jobs.stopped is not None and NEWER in jobs.stopped
    _upgrade_elsewhere(database, head_revision() or "")
    jobs.run_pass()  # stopped for good: the process must be replaced by one running the new code
    assert sender.passes == 1


def test_an_old_replica_fails_its_health_check_once_the_schema_is_newer(database: Database, replica: Database) -> None:
    assert replica.serving()
    _upgrade_elsewhere(database, NEWER)
    assert replica.ping()  # the database answers ...
    assert not replica.serving()  # ... but not with the schema this code runs
    assert replica.schema_moved() is not None and NEWER in (replica.schema_moved() or "")


@pytest.mark.parametrize("revision", [NEWER, "0023_reactivated"])
def test_the_digest_job_checks_the_schema_itself(database: Database, replica: Database, revision: str) -> None:
    """The digests run in a job of their own: before the main pass noticed, a schema ahead stops them for good and
    one behind (halfway through a restore) skips the pass, as the main pass does."""
    passes: list[datetime] = []

    def digests(now: datetime, worker_id: str) -> list[object]:
        passes.append(now)
        return []

    kb = KnowledgeBase(replica)
    services = Services(settings=Settings(), db=replica, knowledge=kb, clock=lambda: NOW)
    jobs = JobRunner(
        services, routing=RoutingService(knowledge=kb), sender=CountingSender(), digests=digests, worker_id="old"
    )
    jobs.send_digests()
    assert len(passes) == 1
    _upgrade_elsewhere(database, revision)
    assert jobs.send_digests() == 0 and len(passes) == 1  # no digest posted by code on another schema
    assert (jobs.stopped is not None) is (revision == NEWER)
    _upgrade_elsewhere(database, head_revision() or "")
    jobs.send_digests()
    assert len(passes) == (1 if revision == NEWER else 2)  # ahead: stopped for good; behind: back at the head


class Lookup:
    """The channel-privacy look-up (``bot.privacy.ChannelLookup``): every channel public, each call kept."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, channel_id: str) -> bool:
        self.asked.append(channel_id)
        return False


@pytest.mark.parametrize("revision", [NEWER, "0023_reactivated"])
def test_the_jobs_that_run_on_their_own_check_the_schema_themselves(
    database: Database, replica: Database, revision: str
) -> None:
    """The daily channel-privacy check, the knowledge-needs pass and the embeddings run in jobs of their own too:
    before the main pass noticed, a schema ahead stops them for good and one behind skips the run."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_question(s, "Wie kent leegstand?", created_at=NOW, asker="U0ASKER01", channel_id="C0PUBLIC1")
        s.commit()
    needs: list[datetime] = []

    class Needs:
        def run(self, now: datetime) -> SimpleNamespace:
            needs.append(now)
            return SimpleNamespace(proposals=[])

    lookup = Lookup()
    kb = KnowledgeBase(replica)
    services = Services(settings=Settings(), db=replica, knowledge=kb, clock=lambda: NOW)
    jobs = JobRunner(
        services,
        routing=RoutingService(knowledge=kb),
        sender=CountingSender(),
        worker_id="old",
        channel_privacy=lookup,
        needs=cast(NeedsPass, Needs()),
    )
    _upgrade_elsewhere(database, revision)
    with mock.patch.object(kb, "embed_pending") as embed:
        assert jobs.reconcile_channel_privacy() is None
        assert jobs.run_needs_pass() is None
        jobs.embed_documents()
    assert lookup.asked == [] and needs == [] and embed.call_count == 0  # nothing run by code on another schema
    assert (jobs.stopped is not None) is (revision == NEWER)
    _upgrade_elsewhere(database, head_revision() or "")
    with mock.patch.object(kb, "embed_pending") as embed:
        result = jobs.reconcile_channel_privacy()
        jobs.run_needs_pass()
        jobs.embed_documents()
    if revision == NEWER:  # ahead: stopped for good
        assert result is None and lookup.asked == [] and needs == [] and embed.call_count == 0
    else:  # behind: back at the head, they run
        assert result is not None and lookup.asked == ["C0PUBLIC1"] and needs == [NOW] and embed.call_count == 1


def test_a_replica_at_the_head_keeps_working(database: Database, replica: Database) -> None:
    sender = CountingSender()
    jobs = _runner(replica, sender)
    for _ in range(2):
        jobs.run_pass()
    assert sender.passes == 2 and jobs.stopped is None and replica.serving()


# --- the Slack side of an old replica: its inbox worker claims nothing, its listeners run no old code ---


def _services(db: Database) -> Services:
    return Services(settings=Settings(), db=db, knowledge=KnowledgeBase(db), clock=lambda: NOW)


def _test_kind(handled: list[str]) -> dict[str, Kind]:
    return {"schema_test": Kind(handle=lambda job: handled.append(job.key), tell=lambda job, text: None)}


def _record(db: Database, key: str) -> None:
    assert core_inbox.record_request(db, request_key=key, kind="schema_test", payload={}, user_id="U0OLD001", now=NOW)


def test_an_old_replicas_inbox_worker_leaves_the_requests_to_the_new_one(database: Database, replica: Database) -> None:
    handled: list[str] = []
    with mock.patch.dict(handlers_inbox.KINDS, _test_kind(handled)):
        old = InboxWorker(_services(replica), WebClient(token="xoxb-test"), threads=1, worker_id="old:1:a")
        _record(database, "schema:1")
        assert old.drain() == 1  # at the head: it works
        old.pool.shutdown(wait=True)
        assert handled == ["schema:1"] and old.stopped is None

        _upgrade_elsewhere(database, NEWER)
        replica._moved_read = None  # the next check reads the revision (not the reading of up to 10 s ago)
        _record(database, "schema:2")
        assert old.drain() == 0  # claims nothing: stopped for good
        assert old.stopped is not None and NEWER in old.stopped
        with database.inbox_session() as session:
            row = inbox_repo.get_inbox_request(session, request_key="schema:2")
            assert row is not None and row.claimed_by is None and row.done_at is None and row.attempts == 0

        _upgrade_elsewhere(database, head_revision() or "")  # the new code, as seen by a new replica
        new = InboxWorker(_services(database), WebClient(token="xoxb-test"), threads=1, worker_id="new:1:b")
        assert new.drain() == 1
        new.pool.shutdown(wait=True)
        old.pool.shutdown(wait=True)
    assert handled == ["schema:1", "schema:2"]  # once each, the second by the new replica


class Told(Respond):
    """Bolt's ``respond`` for the request's response_url, keeping what it was asked to say."""

    def __init__(self) -> None:
        super().__init__(response_url="https://hooks.slack.test/1")
        self.told: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:  # type: ignore[override]
        self.told.append(kwargs)


def test_an_old_replicas_listeners_say_it_is_being_upgraded_and_record_what_outlives_them(
    database: Database, replica: Database
) -> None:
    services = _services(replica)
    ran: list[str] = []
    respond = Told()
    told = respond.told
    _upgrade_elsewhere(database, NEWER)

    def read_only(turn: Turn) -> None:
        ran.append("old code")

    context = BoltContext(user_id="U0OLD001", channel_id="C0OLD001", response_url="https://hooks.slack.test/1")
    body = {"response_url": "https://hooks.slack.test/1", "trigger_id": "1.2.3"}
    ack = Ack()
    bolt = listener(services, RequestKind.COMMAND, read_only, ack_first=True)
    bolt(ack=ack, body=body, client=WebClient(token="xoxb-test"), context=context, respond=respond)
    assert ack.response is not None and ack.response.status == 200
    assert ran == []  # no old code on the new schema
    assert told == [{"text": t("error.upgrading", "nl"), "response_type": "ephemeral", "replace_original": False}]

    def record_it(turn: Turn) -> None:  # what a recorded-first listener does (``handlers.answers.handle_share``)
        handlers_inbox.record(
            turn.services, request_key="share:9:1.2.3", kind_name="schema_test", payload={}, user_id=turn.user_id
        )
        turn.ack()

    # a second request: Bolt gives each its own context and body (one shared by two listeners is one request,
    # left to the listener that took it first: ``handlers.listener._taken``)
    click_context = BoltContext(user_id="U0OLD001", channel_id="C0OLD001", response_url="https://hooks.slack.test/1")
    click_body = {"response_url": "https://hooks.slack.test/1", "trigger_id": "1.2.4"}
    with mock.patch.dict(handlers_inbox.KINDS, _test_kind([])):
        bolt = listener(services, RequestKind.ACTION, record_it, inbox=True)
        bolt(ack=Ack(), body=click_body, client=WebClient(token="xoxb-test"), context=click_context, respond=respond)
    with database.inbox_session() as session:  # recorded for the new replica: nothing is lost
        row = inbox_repo.get_inbox_request(session, request_key="share:9:1.2.3")
        assert row is not None and row.done_at is None
    assert len(told) == 1


def test_an_old_replica_says_it_is_being_upgraded_in_the_users_stored_language(
    database: Database, replica: Database
) -> None:
    """The old replica still reads the people's cached profiles: a person whose locale is stored is told in their
    language; someone it never looked up, in the network's default."""
    with database.session() as session:
        directory.cache_user(session, user_id="U0ENGLISH1", locale="en-GB", name="Pat", now=NOW)
    services = _services(replica)
    _upgrade_elsewhere(database, NEWER)
    said: dict[str, list[dict[str, Any]]] = {}
    for user in ("U0ENGLISH1", "U0UNKNOWN1"):
        respond = Told()
        context = BoltContext(user_id=user, channel_id="C0OLD001", response_url="https://hooks.slack.test/1")
        body = {"response_url": "https://hooks.slack.test/1", "trigger_id": f"1.2.{user}"}
        bolt = listener(services, RequestKind.COMMAND, lambda turn: None, ack_first=True)
        bolt(ack=Ack(), body=body, client=WebClient(token="xoxb-test"), context=context, respond=respond)
        said[user] = respond.told
    assert t("error.upgrading", "en") != t("error.upgrading", "nl")
    assert [told["text"] for told in said["U0ENGLISH1"]] == [t("error.upgrading", "en")]
    assert [told["text"] for told in said["U0UNKNOWN1"]] == [t("error.upgrading", "nl")]


def test_an_event_on_an_old_replica_is_left_alone(database: Database, replica: Database) -> None:
    ran: list[str] = []
    _upgrade_elsewhere(database, NEWER)
    client = mock.Mock(spec=WebClient)
    bolt = listener(_services(replica), RequestKind.EVENT, lambda turn: ran.append("home"), ack_first=True)
    bolt(ack=Ack(), body={}, client=client, context=BoltContext(user_id="U0OLD001"), respond=None)
    assert ran == [] and client.method_calls == []


def test_a_channel_made_private_on_an_old_replica_is_recorded_for_the_new_one(
    database: Database, replica: Database
) -> None:
    """What was asked in a channel made private leaves search and digests once the new replica runs the recorded
    event, not a day later at the daily reconcile."""
    with database.session() as s:
        seed_themes(s, [("wonen", "Wonen", "Housing", [])])
        add_question(s, "Wie kent leegstand?", created_at=NOW, asker="U0ASKER01", channel_id="C0GOINGPR")
        s.commit()
    _upgrade_elsewhere(database, NEWER)
    bolt = listener(_services(replica), RequestKind.EVENT, privacy.handle_channel_private, deferred=True)
    body = {"event_id": "Ev0PRIVATE1", "event": {"type": "channel_converted_to_private", "channel": "C0GOINGPR"}}
    client = mock.Mock(spec=WebClient)
    for _ in range(2):  # and Slack's retry: one record
        bolt(ack=Ack(), body=body, client=client, context=BoltContext(), respond=None)
    assert client.method_calls == []
    with database.inbox_session() as session:
        row = inbox_repo.get_inbox_request(session, request_key="event:Ev0PRIVATE1")
        assert row is not None and row.done_at is None
        assert len(inbox_repo.list_inbox_requests(session)) == 1

    _upgrade_elsewhere(database, head_revision() or "")
    new = InboxWorker(_services(database), client, threads=1, worker_id="new:1:b")
    assert new.drain() == 1
    new.pool.shutdown(wait=True)
    with database.session() as s:
        assert s.scalars(select(Question.channel_is_private)).all() == [True]


def _older_revision() -> str:
    down = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def _no_revision(database: Database) -> None:
    """What a restore (``pg_restore --clean`` without ``--single-transaction``) leaves for a moment."""
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))


@pytest.mark.parametrize("reading", ["none", "older"])
def test_a_missing_or_older_revision_pauses_the_inbox_worker_and_the_jobs_not_for_good(
    database: Database, replica: Database, reading: str
) -> None:
    handled: list[str] = []
    sender = CountingSender()
    jobs = _runner(replica, sender)
    with mock.patch.dict(handlers_inbox.KINDS, _test_kind(handled)):
        worker = InboxWorker(_services(replica), WebClient(token="xoxb-test"), threads=1, worker_id="old:1:a")
        if reading == "none":
            _no_revision(database)
        else:
            _upgrade_elsewhere(database, _older_revision())
        _record(database, "schema:1")
        assert worker.drain() == 0  # claims nothing meanwhile ...
        jobs.run_pass()
        assert sender.passes == 0
        assert worker.stopped is None and jobs.stopped is None  # ... but does not stop
        if reading == "none":
            with database.engine.begin() as conn:
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:h)"), {"h": head_revision()})
        else:
            _upgrade_elsewhere(database, head_revision() or "")
        replica._moved_read = None  # the next check reads the revision (not the reading of up to 10 s ago)
        assert worker.drain() == 1  # the schema is back: it works again
        worker.pool.shutdown(wait=True)
        jobs.run_pass()
    assert handled == ["schema:1"] and sender.passes == 1


def test_healthz_fails_while_the_inbox_worker_or_the_jobs_are_stopped(database: Database) -> None:
    """A worker stopped for a newer schema never claims again: ``/healthz`` stays red even when the revision reads
    as this code's again, so the orchestrator replaces the replica."""
    services = Services(settings=Settings(slack_signing_secret="s"), db=database, knowledge=KnowledgeBase(database))
    app = App(token="xoxb-test", signing_secret="s", token_verification_enabled=False)
    stopped: list[str] = []
    edge = wsgi_app(app, services, stopped=lambda: stopped[0] if stopped else None)
    assert call_wsgi(edge, environ_for("GET", "/healthz", [], None)).status == 200
    stopped.append("the database schema is at revision 0099_fromthefuture now")
    edge = wsgi_app(app, services, stopped=lambda: stopped[0] if stopped else None)  # no cached probe
    assert call_wsgi(edge, environ_for("GET", "/healthz", [], None)).status == 503


# --- the one verdict both the inbox worker and the jobs act on (``Database.schema_verdict``) ---


def _move(database: Database, reading: str) -> None:
    if reading == "none":
        _no_revision(database)
    elif reading == "older":
        _upgrade_elsewhere(database, _older_revision())
    elif reading == "newer":
        _upgrade_elsewhere(database, NEWER)


@pytest.mark.parametrize(
    ("reading", "verdict", "said"),
    [
        ("head", SchemaVerdict.CURRENT, None),
        ("older", SchemaVerdict.OLDER, "is at revision"),
        ("none", SchemaVerdict.OLDER, "has no schema revision"),
        ("newer", SchemaVerdict.NEWER, NEWER),
    ],
)
def test_the_schema_verdict_of_each_revision(
    database: Database, replica: Database, reading: str, verdict: SchemaVerdict, said: str | None
) -> None:
    _move(database, reading)
    check = replica.schema_verdict()
    assert check.verdict is verdict and check.error is None
    assert check.verdict.works is (verdict is SchemaVerdict.CURRENT)
    if said is None:
        assert check.moved is None
    else:
        assert check.moved is not None and said in check.moved


def test_a_schema_verdict_read_lately_is_kept_for_a_while(database: Database, replica: Database) -> None:
    assert replica.schema_verdict(lately=True).verdict is SchemaVerdict.CURRENT
    _upgrade_elsewhere(database, NEWER)
    assert replica.schema_verdict(lately=True).verdict is SchemaVerdict.CURRENT  # the reading of a moment ago
    assert replica.schema_verdict().verdict is SchemaVerdict.NEWER  # read now
    replica._moved_read = None
    assert replica.schema_verdict(lately=True).verdict is SchemaVerdict.NEWER


def test_a_schema_verdict_that_cannot_be_read_stops_nothing(replica: Database) -> None:
    down = OperationalError("SELECT version_num FROM alembic_version", None, ConnectionError("the database is down"))
    with mock.patch.object(replica.engine, "connect", side_effect=down):
        check = replica.schema_verdict()
    assert check.verdict is SchemaVerdict.UNREADABLE and check.verdict.works
    assert check.error is down and check.moved is None


UNREADABLE_LINE = "could not read the database's schema revision"


@pytest.mark.parametrize(
    ("reading", "works", "level", "inbox_line", "jobs_line"),
    [
        ("head", True, None, "", ""),
        (
            "older",
            False,
            logging.WARNING,
            "inbox worker old:1:a waits: the database",
            "jobs wait, worker old: the database",
        ),
        (
            "newer",
            False,
            logging.ERROR,
            "inbox worker old:1:a stopped: the database",
            "jobs stopped, worker old: the database",
        ),
        ("down", True, logging.WARNING, UNREADABLE_LINE, UNREADABLE_LINE),
    ],
)
def test_the_inbox_worker_and_the_jobs_act_on_the_verdict_and_say_so_in_their_own_log(
    database: Database,
    replica: Database,
    caplog: pytest.LogCaptureFixture,
    reading: str,
    works: bool,
    level: int | None,
    inbox_line: str,
    jobs_line: str,
) -> None:
    worker = InboxWorker(_services(replica), WebClient(token="xoxb-test"), threads=1, worker_id="old:1:a")
    jobs = _runner(replica, CountingSender())
    _move(database, reading)
    replica._moved_read = None
    caplog.set_level(logging.INFO)
    down = OperationalError("SELECT 1", None, ConnectionError("the database is down"))
    with mock.patch.object(replica.engine, "connect", side_effect=down) if reading == "down" else nullcontext():
        assert worker.schema_current() is works and jobs._schema_current() is works
    assert (worker.stopped is not None) is (jobs.stopped is not None) is (reading == "newer")
    said = [record for record in caplog.records if record.levelno >= logging.WARNING]
    if level is None:
        assert said == []
        return
    assert [(r.name, r.levelno) for r in said] == [("wieweet.inbox", level), ("wieweet.jobs", level)]
    assert said[0].getMessage().startswith(inbox_line) and said[1].getMessage().startswith(jobs_line)
    assert all((r.exc_info is not None) is (reading == "down") for r in said)  # the failed reading's traceback


@pytest.mark.parametrize("revision", [NEWER, "0023_reactivated"])
def test_a_kicked_outbox_pass_checks_the_schema_itself(database: Database, replica: Database, revision: str) -> None:
    """A request that committed messages rings the doorbell, and the outbox pass it starts runs on its own: before
    the main pass noticed, a schema ahead stops it for good and one behind skips it, and a later kick is still
    scheduled."""
    sender = CountingSender()
    jobs = _runner(replica, sender)
    jobs.run_pass()
    assert sender.passes == 1
    _upgrade_elsewhere(database, revision)
    jobs.kick()
    [kicked] = jobs.scheduler.get_jobs()
    kicked.func()  # the scheduler's thread runs it
    assert sender.passes == 1  # nothing sent (or written) by code on another schema
    assert (jobs.stopped is not None) is (revision == NEWER)
    _upgrade_elsewhere(database, head_revision() or "")
    jobs.kick()  # the skipped pass did not leave a kick pending for good
    assert len(jobs.scheduler.get_jobs()) == 2
    jobs.scheduler.get_jobs()[-1].func()
    assert sender.passes == (1 if revision == NEWER else 2)  # ahead: stopped for good; behind: back at the head
