"""The network check: one global Bolt middleware that lets only people inside the network use wieweet.

In a Slack Connect channel people of another organisation can mention the bot, run ``/wieweet``, click its buttons
and open its modals. Whatever they send stops here, before any listener (and so before anything is recorded in
the inbox, stored, searched or routed): the request is acknowledged, the person then gets one friendly message (sent
only once Slack has the ack: ``handlers.after_ack``), and one refusal line is logged (``handlers.claims.log_refusal``;
Slack's ``user_change`` of such a person, sent for each status they set, at WARNING once per person and process, then
at DEBUG). Who is inside is ``bot.network.is_inside``,
on what Slack signed: the person's team in the payload (``user.team_id`` in interactions, ``user_team`` or ``team`` on
events) and, where the payload does not say (slash commands, the Home tab, another workspace of a Grid organisation),
``users.info`` (``LocaleCache.person``, cached). A user Slack does not know is outside. Slack's ``user_change``
(sent for every profile change of every member; nobody acts) names the person's team and, in a Grid organisation,
their organisation (``user.enterprise_user``): a sister workspace's member is inside without a look-up. Where even
that does not decide, the gate asks nothing: the listeners decide (``handlers.profile_change``: a deactivation is
recorded in the inbox and confirmed there with ``users.info``, retried while Slack rate-limits it).

Any other failure of that ``users.info`` (a 5xx, a rate limit, no answer in time) decides nothing: the request is
acknowledged at once all the same (asked with a short timeout and no retry, so the ack stays within Slack's 3 s
and Slack neither shows its own timeout nor retries), the person gets one message ("could not check who you are,
try again"), one ``network check failed ref=…`` line is logged, and nothing is recorded, searched or routed. A
redelivery of that same request (Slack's retry, by its event id or trigger id) is acknowledged and ignored: the
person was told once and tries again with a request of their own. This process remembers it, and every other
process sharing the database learns it (``handlers.told_once``): the key is written after the acknowledgement, on
the gate's own pool, and read only where the payload alone does not decide (where ``users.info`` had failed). When
the acknowledgement could not be sent (the Socket Mode connection went), nothing stays remembered: Slack's
redelivery is told. A message "could not check" that Slack does not take either is logged at ERROR with where the
question is (acknowledged, it is not delivered again: an operator answers it by hand).

The messages go to the gate's own ``BoundedPool`` (``handlers.after_ack``: ``POOL_WORKERS`` threads, at most
``WAITING_MAX`` waiting): a burst of refused requests during an outage never grows threads or memory without bound.
A person refused is told so once per ``TOLD_OUTSIDE_TTL`` (their other requests meanwhile are refused without a
word; the Home tab, which notifies nobody, counted apart; the bot's Messages tab opened is answered with nothing),
and a refusal's message takes a place only while ``REFUSAL_SPARE`` places stay free: beyond that it is dropped
(the request is refused either way), so that nobody outside can fill the pool. A request the check could not decide
on keeps its places (its message and the note of it) before the ack, so no other request takes them meanwhile; when
they do not fit it is not acknowledged (and not remembered as told): Slack delivers an event again (three times, over
some minutes; the last time not acknowledged is logged at ERROR with its channel and ts: that question is lost), and
shows the person that a click did not go through.

An event gets that one message (refused, or could not check) only when it is a question wieweet would have
answered (``handlers.addressed``: a mention, a person's direct message, with a file or without); any other event
(an edit, a join) is acknowledged without a word, as it would have been inside.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.error import URLError

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import PlainTextObject
from slack_sdk.models.views import View

from bot.i18n import locale_language, t
from bot.network import Network, guest_kept_out, is_inside
from bot.text import shown_text
from handlers.addressed import addressed_to_the_bot
from handlers.after_ack import AckThen, BoundedPool, Places, work_after
from handlers.claims import log_refusal
from handlers.errors import REF, tell_user
from handlers.kit import section
from handlers.services import Services, SlackUnavailableError
from handlers.told_once import SeenOnce, ToldOnce
from storage.db import Database

log = logging.getLogger(__name__)

REFUSED_ACTION = "use wieweet from outside the network"
# The network check's own users.info: answered within this many seconds or not at all (no retry, no rate-limit
# wait), so that a request is acknowledged within Slack's 3 s even when Slack cannot say who is acting.
CHECK_TIMEOUT = 2
# people outside the network whose profile changes (``user_change``: sent for every status of every member of a
# Slack Connect channel) were refused at WARNING once in this process; after that DEBUG
PROFILES_LOGGED_KEPT = 10_000
UNCHECKED_KIND = "network_unchecked"  # the deduplication key's kind: a request told "could not check"
POOL_WORKERS = 2  # the threads that send what the gate tells people (``BoundedPool``: a bounded queue too)
# places of the gate's pool a refusal's message never takes: kept for the requests the check could not decide on
REFUSAL_SPARE = 10
TOLD_OUTSIDE_TTL = 60.0  # seconds: a person refused is told so once in this time, later requests without a word
LAST_RETRY = 3  # Slack delivers an event that was not acknowledged again, at most this many times


class Unchecked(Exception):
    """Slack could not say now whom the acting person belongs to: no decision either way."""


def quick_client(client: WebClient) -> WebClient:
    """The same Slack app's client, for the network check: ``CHECK_TIMEOUT`` seconds and no retries."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=CHECK_TIMEOUT,
        retry_handlers=[],
        logger=client.logger,
    )


def delivery_id(body: Mapping[str, Any]) -> str | None:
    """What Slack keeps when it delivers a request again, and only then: an event's id, else the trigger id (new
    for every command, click and modal submission; None: neither)."""
    for name in ("event_id", "trigger_id"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return f"{name}:{value}"
    return None


def _event_user(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A ``user_change`` event's user: the person's own profile, as Slack signed it (None: another request)."""
    event = body.get("event") if body.get("type") == "event_callback" else None
    user = event.get("user") if isinstance(event, dict) else None
    return user if isinstance(user, dict) else None


def is_profile_change(body: Mapping[str, Any]) -> bool:
    """Whether the request is Slack's ``user_change``: nobody acts, Slack tells of a profile (for every member)."""
    event = body.get("event") if body.get("type") == "event_callback" else None
    return isinstance(event, dict) and event.get("type") == "user_change"


def claimed_enterprise(body: Mapping[str, Any]) -> str | None:
    """The Grid organisation of the person a ``user_change`` is about (``user.enterprise_user.enterprise_id``, as
    ``handlers.deactivated`` reads it), or None. Not the envelope's ``enterprise_id`` nor its ``authorizations``:
    those name the installation the event was delivered to, the same for a Slack Connect partner's profile."""
    user = _event_user(body)
    grid = user.get("enterprise_user") if user is not None else None
    value = grid.get("enterprise_id") if isinstance(grid, dict) else None
    return value if isinstance(value, str) and value else None


def claimed_team(body: Mapping[str, Any]) -> str | None:
    """The acting person's Slack team as the payload gives it (a ``T…`` team or, in ``user_team``, an ``E…`` Grid
    organisation), or None where it does not say: a slash command's ``team_id`` is the workspace it was typed in,
    a ``user_change`` carries the person's profile with its ``team_id``, and events such as ``app_home_opened`` name
    no team."""
    if body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict):
            return None
        team = event.get("user_team") or event.get("team")
        if team is None and isinstance(user := event.get("user"), dict):  # user_change: the person's own profile
            team = user.get("team_id")
        return str(team) if isinstance(team, str) and team else None
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("team_id"), str) and user["team_id"]:
        return str(user["team_id"])
    return None


def build_outside_home(lang: str) -> View:
    """The Home tab of a person outside the network: what wieweet is for, nothing of the register."""
    return build_notice_home(t("network.outside", lang))


def build_notice_home(text: str) -> View:
    """A Home tab that says ``text`` and nothing else (a person outside, or one the check could not decide on)."""
    return View(type="home", blocks=[section(text)])


def build_notice_modal(text: str) -> View:
    """A modal pushed over a submitted form that could not be taken now: ``text``; closing it shows the form."""
    return View(type="modal", title=PlainTextObject(text="wieweet"), blocks=[section(text)])


class NetworkGate:
    """The middleware (``__call__``) and what it tells a person it refuses (on a small bounded pool of its own, so
    the refusal is acknowledged at once)."""

    def __init__(
        self,
        services: Services,
        network: Network,
        *,
        client: WebClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        database: Database | None = None,
    ) -> None:
        """``database``: where the requests told "could not check" are noted for the other processes (None: in
        this process only)."""
        self.services = services
        self.network = network
        self.client = client  # ``quick_client``; None: the request's own client
        self._pool = BoundedPool(workers=POOL_WORKERS, name="network-check", clock=clock)
        self._unchecked = ToldOnce(
            kind=UNCHECKED_KIND,
            clock=clock,
            database=database,
            now=services.clock,
            later=lambda note: self._pool.submit(note, what="a note of a request told could not check"),
        )
        self._profiles_logged = SeenOnce(ttl=float("inf"), kept=PROFILES_LOGGED_KEPT, clock=clock)
        self._told_outside = SeenOnce(ttl=TOLD_OUTSIDE_TTL, clock=clock)  # people told "you are outside" just now

    def inside(self, *, client: WebClient, body: Mapping[str, Any], user_id: str) -> tuple[bool, str, str | None]:
        """Whether ``user_id`` is inside; the team it was decided on (for the log) and the locale Slack gave.
        ``Unchecked`` when it takes ``users.info`` and Slack does not answer it now."""
        team = claimed_team(body)
        answer = is_inside(self.network, team=team, enterprise=claimed_enterprise(body))
        if not self._looks_up(body):
            return bool(answer), team or "-", None
        try:
            person = self.services.locales.person(
                client=self.client or client, user_id=user_id, now=self.services.clock()
            )
        except SlackUnavailableError as exc:
            raise Unchecked(str(exc)) from exc
        except (URLError, OSError) as exc:  # no answer in time, no connection
            raise Unchecked(f"users.info: {type(exc).__name__}: {exc}") from exc
        found = is_inside(self.network, team=person.team, enterprise=person.enterprise, asked=True)
        seen = person.team or person.enterprise or ("unknown user" if not person.known else "-")
        if found and guest_kept_out(self.network, guest=person.guest):
            return False, f"{seen} (guest)", person.locale or None
        return bool(found), seen, person.locale or None

    def _guest_unknown(self, body: Mapping[str, Any]) -> bool:
        """Whether a person the payload places inside may still be a guest kept out: only ``users.info`` says who
        is a guest. Not for a profile change: nobody acts, and its listener decides on Slack's answer."""
        return not self.network.guests_inside and not is_profile_change(body)

    def __call__(self, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        context, body = req.context, req.body
        user_id = context.user_id
        if not user_id or user_id == context.bot_user_id:  # no person acts (url checks, edits, the bot's own posts)
            return next()
        if is_profile_change(body):
            self.services.locales.profile_changed(user_id)  # whether they are a guest may have changed: asked again
            if self._undecided(body):
                # nobody acts: the listener decides on a look-up of its own, retried from the inbox under a rate limit
                return next()
        delivery = delivery_id(body)
        if delivery is not None and self._told_before(delivery, body):  # Slack's retry of a request told already
            log.info("network check: redelivery of %s ignored (told before)", delivery.split(":", 1)[0])
            return self._answer(body, context, None)
        ref = str(context.get(REF) or uuid.uuid4().hex[:12])
        try:
            inside, team, locale = self.inside(client=context.client, body=body, user_id=user_id)
        except Unchecked as exc:
            context[REF] = ref
            log.warning("network check failed ref=%s user=%s: %s", ref, user_id, exc)
            lang = self.services.locales.cached(user_id) or self.services.locales.default_language
            places = self._pool.reserve(2)  # the message and the note of it: no other request takes them meanwhile
            text = t("network.unchecked", lang)
            answer = self._answer(body, context, text, unchecked=True, places=places, last=last_delivery(req))
            if delivery is not None and answer.status == 200:  # told: a redelivery is ignored
                return self._remembered(answer, delivery, places)
            if places is not None and not isinstance(answer, AckThen):  # nothing sent after the ack
                places.release()
            return answer
        if inside:
            return next()
        context[REF] = ref
        log_refusal(
            ref=ref, user=user_id, action=REFUSED_ACTION, target=f"team:{team}", level=self._level(body, user_id)
        )
        lang = locale_language(locale, self.services.locales.default_language)
        return self._answer(body, context, t("network.outside", lang))

    def _undecided(self, body: Mapping[str, Any]) -> bool:
        """Whether the payload alone does not say if the person is inside (``users.info`` would have to)."""
        return is_inside(self.network, team=claimed_team(body), enterprise=claimed_enterprise(body)) is None

    def _looks_up(self, body: Mapping[str, Any]) -> bool:
        """Whether the check of this request takes ``users.info``: the payload does not say whether the person is
        inside, or places them inside and only Slack says whether they are a guest kept out."""
        answer = is_inside(self.network, team=claimed_team(body), enterprise=claimed_enterprise(body))
        return answer is None or (answer and self._guest_unknown(body))

    def _level(self, body: Mapping[str, Any], user_id: str) -> int:
        """WARNING, but a profile change (nobody acted) of someone already refused in this process: DEBUG."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if not isinstance(event, dict) or event.get("type") != "user_change":
            return logging.WARNING
        if self._profiles_logged.seen(user_id):
            return logging.DEBUG
        self._profiles_logged.remember(user_id)
        return logging.WARNING

    def _told_before(self, delivery: str, body: Mapping[str, Any]) -> bool:
        """Whether this delivery was told "could not check": here, or by another process (asked of the database
        only when the payload alone does not decide, as it did not then)."""
        return self._unchecked.told_before(delivery, ask_database=self._looks_up(body))

    def _remembered(self, answer: BoltResponse, delivery: str, places: Places | None) -> AckThen:
        """``answer``, a delivery told "could not check", remembered: here at once (a redelivery meanwhile is
        ignored), for the other processes once Slack has the ack (the note on the place kept for it, ``places``;
        None: as any other job of the pool). When the ack could not be sent (the Socket Mode connection went), it is
        forgotten and the places come back: Slack delivers the request again, and that delivery is told."""
        self._unchecked.hold(delivery)
        message = work_after(answer)  # what is sent after the ack (it gives back the places it leaves), or nothing
        what = "a note of a request told could not check"

        def then() -> None:
            self._unchecked.note(
                delivery, later=None if places is None else lambda note: places.submit(note, what=what)
            )
            if message is not None:
                message()
            elif places is not None:
                places.release()

        def unsent() -> None:
            self._unchecked.forget(delivery)
            if places is not None:
                places.release()

        told = AckThen(status=answer.status, body=answer.body, then=then, unsent=unsent)
        told.headers = answer.headers
        return told

    def _answer(
        self,
        body: Mapping[str, Any],
        context: BoltContext,
        text: str | None,
        *,
        unchecked: bool = False,
        places: Places | None = None,
        last: str | None = None,
    ) -> BoltResponse:
        """The acknowledgement, and the one message (``text``; None: nothing is said), as fits the kind of request,
        sent after the ack (``_then``). ``unchecked``: a modal submission stays open (nothing was decided: the person
        submits it again); ``places`` and ``last`` as for ``_then``."""
        kind = str(body.get("type") or "")
        if text is None:
            return BoltResponse(status=200, body={"options": []} if kind == "block_suggestion" else "")
        if body.get("command"):  # a slash command: the answer is the acknowledgement itself (ephemeral)
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if kind == "block_suggestion":
            return BoltResponse(status=200, body={"options": []})
        if kind == "view_closed":
            return BoltResponse(status=200, body="")
        if kind == "event_callback":
            event = body.get("event") or {}
            if event.get("type") == "app_home_opened":
                if event.get("tab", "home") != "home":  # the bot's Messages tab opened: nothing to answer (review57)
                    return BoltResponse(status=200, body="")
                home = lambda: self._publish_home(context, text)  # noqa: E731
                return self._then(context, home, kind="home", unchecked=unchecked, places=places, last=last)
            if addressed_to_the_bot(event):  # what wieweet would have answered
                tell_event = lambda: tell_user(self.services.settings, dict(body), context, context.client, text)  # noqa: E731
                return self._then(
                    context, tell_event, unchecked=unchecked, places=places, last=last, at=where_asked(body)
                )
            return BoltResponse(status=200, body="")
        if kind == "view_submission" and unchecked:  # the form stays as typed, under a notice to close
            return BoltResponse(
                status=200, body={"response_action": "push", "view": build_notice_modal(text).to_dict()}
            )
        tell = lambda: tell_user(self.services.settings, dict(body), context, context.client, text)  # noqa: E731
        ack = {"response_action": "clear"} if kind == "view_submission" else ""
        return self._then(context, tell, ack, unchecked=unchecked, places=places, last=last, at=where_asked(body))

    def _then(
        self,
        context: BoltContext,
        work: Callable[[], None],
        body: str | dict[str, Any] = "",
        *,
        unchecked: bool,
        kind: str = "message",
        places: Places | None = None,
        last: str | None = None,
        at: str | None = None,
    ) -> BoltResponse:
        """The ack (``body``), and ``work`` on the gate's pool once Slack has it (``handlers.after_ack``): the
        message never reaches Slack before the ack. ``unchecked`` (nothing was decided, nothing done): ``work`` takes
        a place kept for it (``places``), and with none kept (no room) no ack (500), so that Slack delivers the
        request again (an event) or shows the person it failed (a click), rather than the person hearing nothing;
        ``last``: where the event is, when this was Slack's last delivery of it (logged at ERROR then); ``at``: where
        the request is (logged at ERROR when the message fails: nobody answers that question). A refusal: told once
        per ``TOLD_OUTSIDE_TTL`` and ``kind`` (a message, the Home tab: opening it never uses up the message), only
        while ``REFUSAL_SPARE`` places stay free, and not remembered when the ack could not be sent."""
        what = f"the network check's message to {context.user_id} ref={context.get(REF)}"
        if unchecked:
            if places is None:
                return self._not_acknowledged(what, last)
            failed = self._unchecked_failed(context, at)
            return AckThen(
                status=200, body=body, then=lambda: self._later(work, what, places, failed), unsent=places.release
            )
        told = f"{kind}:{context.user_id}"
        if not self._told_outside.first(told):  # told just now: refused without a word, as a redelivery is
            log.debug("network check: %s not sent, told just before", what)
            return BoltResponse(status=200, body=body)
        found = self._pool.reserve(1, spare=REFUSAL_SPARE)
        if found is None:  # the places left are kept for requests the check could not decide on
            self._told_outside.forget(told)
            self._pool.dropped(what)
            return BoltResponse(status=200, body=body)

        def unsent() -> None:  # no ack went out: the person is told on Slack's redelivery, or their next request
            self._told_outside.forget(told)
            found.release()

        refused = (logging.INFO, "could not tell a person outside the network")
        return AckThen(status=200, body=body, then=lambda: self._later(work, what, found, refused), unsent=unsent)

    @staticmethod
    def _unchecked_failed(context: BoltContext, at: str | None) -> tuple[int, str]:
        """How a "could not check" message that Slack did not take is logged: at ERROR with where the request is
        (``at``: acknowledged, Slack will not deliver it again, and the person was not told to ask again, so an
        operator can answer it by hand); a Home tab (``at`` None), which asks nothing, at WARNING."""
        who = f"{shown_text(str(context.user_id))} ref={context.get(REF)}"
        if at is None:
            return logging.WARNING, f"network check: could not show {who} on their Home tab that the check failed"
        return logging.ERROR, f"network check: could not tell {who} that the check failed: the question at {at} is lost"

    def _not_acknowledged(self, what: str, last: str | None) -> BoltResponse:
        """No ack (500): Slack delivers the event again, or shows the person their click failed; logged, at ERROR
        when Slack will not deliver it again (``last``: the question is lost)."""
        if last is not None:
            log.error(
                "network check: too many messages waiting, %s not acknowledged on Slack's last delivery of "
                "the event at %s: that question is lost",
                what,
                last,
            )
        else:
            log.warning("network check: too many messages waiting, %s not acknowledged (Slack delivers again)", what)
        return BoltResponse(status=500, body="")

    def _publish_home(self, context: BoltContext, text: str) -> None:
        context.client.views_publish(user_id=str(context.user_id), view=build_notice_home(text))

    def _later(self, work: Callable[[], None], what: str, places: Places, failed: tuple[int, str]) -> None:
        """``work`` on a place kept for it; when Slack does not take it, logged as ``failed`` (level, line)."""
        level, line = failed

        def run() -> None:
            try:
                work()
            except SlackApiError as exc:  # e.g. the person cannot be messaged (a refusal stands, logged above)
                log.log(level, "%s (%s)", line, exc.response.get("error"))
            except Exception:  # a thread of its own: nothing else would report it
                log.exception("%s", line)

        places.submit(run, what=what)
        places.release()  # the place kept for a note not written (no database)


def last_delivery(req: BoltRequest) -> str | None:
    """Where the event is (its channel and ts, shown masked) when this is Slack's last delivery of it
    (``x-slack-retry-num``, which Socket Mode's ``retry_attempt`` sets too); None for any other request."""
    values = req.headers.get("x-slack-retry-num") or []
    retry = next(iter(values), "")
    if not (isinstance(retry, str) and retry.isdigit() and int(retry) >= LAST_RETRY):
        return None
    return where_asked(req.body if isinstance(req.body, dict) else {})


def where_asked(body: Mapping[str, Any]) -> str:
    """Where a request was made, for the operator: its channel and ts (an event's; a click's message), shown masked,
    ``-`` where the payload has none (a global shortcut)."""
    event = body.get("event")
    if isinstance(event, dict):
        channel, ts = event.get("channel"), event.get("ts") or event.get("event_ts")
    else:
        found, message, container = (body.get(name) for name in ("channel", "message", "container"))
        container = container if isinstance(container, dict) else {}
        channel = found.get("id") if isinstance(found, dict) else container.get("channel_id")
        ts = (message.get("ts") if isinstance(message, dict) else None) or container.get("message_ts")
    return f"channel={shown_text(str(channel or '-'))} ts={shown_text(str(ts or '-'))}"


def register(app: App, services: Services, network: Network) -> None:
    """The gate, after the middleware that marks Socket Mode requests verified (its errors are answered)."""
    gate = NetworkGate(services, network, client=quick_client(app.client), database=services.db)

    @app.middleware
    def network_gate(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        return gate(req, resp, next)
