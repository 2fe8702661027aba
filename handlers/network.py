"""The network check: one global Bolt middleware that lets only people inside the network use wieweet.

In a Slack Connect channel people of another organisation can mention the bot, run ``/wieweet``, click its buttons
and open its modals. Whatever they send stops here, before any listener (and so before anything is recorded in
the inbox, stored, searched or routed): the request is acknowledged, the person gets one friendly message, and one
refusal line is logged (``handlers.claims.log_refusal``). Who is inside is ``bot.network.is_inside``, on what Slack
signed: the person's team in the payload (``user.team_id`` in interactions, ``user_team`` or ``team`` on events)
and, where the payload does not say (slash commands, the Home tab, another workspace of a Grid organisation),
``users.info`` (``LocaleCache.person``, cached). A user Slack does not know is outside; any other failure of
``users.info`` is an error, reported by the global error handler as one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.i18n import normalise_language, t
from bot.network import Network, is_inside
from handlers.claims import log_refusal
from handlers.errors import REF, tell_user
from handlers.kit import section
from handlers.services import Services

log = logging.getLogger(__name__)

REFUSED_ACTION = "use wieweet from outside the network"


def claimed_team(body: Mapping[str, Any]) -> str | None:
    """The acting person's Slack team as the payload gives it (a ``T…`` team or, in ``user_team``, an ``E…`` Grid
    organisation), or None where it does not say: a slash command's ``team_id`` is the workspace it was typed in,
    and events such as ``app_home_opened`` name no team."""
    if body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict):
            return None
        team = event.get("user_team") or event.get("team")
        return str(team) if isinstance(team, str) and team else None
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("team_id"), str) and user["team_id"]:
        return str(user["team_id"])
    return None


def build_outside_home(lang: str) -> View:
    """The Home tab of a person outside the network: what wieweet is for, nothing of the register."""
    return View(type="home", blocks=[section(t("network.outside", lang))])


class NetworkGate:
    """The middleware (``__call__``) and what it tells a person it refuses (on a small pool of its own, so the
    refusal is acknowledged at once)."""

    def __init__(self, services: Services, network: Network) -> None:
        self.services = services
        self.network = network
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="outside")

    def inside(self, *, client: WebClient, body: Mapping[str, Any], user_id: str) -> tuple[bool, str, str | None]:
        """Whether ``user_id`` is inside; the team it was decided on (for the log) and the locale Slack gave."""
        team = claimed_team(body)
        answer = is_inside(self.network, team=team)
        if answer is not None:
            return answer, team or "-", None
        person = self.services.locales.person(client=client, user_id=user_id)
        found = is_inside(self.network, team=person.team, enterprise=person.enterprise, asked=True)
        seen = person.team or person.enterprise or ("unknown user" if not person.known else "-")
        return bool(found), seen, person.locale or None

    def __call__(self, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        context, body = req.context, req.body
        user_id = context.user_id
        if not user_id or user_id == context.bot_user_id:  # no person acts (url checks, edits, the bot's own posts)
            return next()
        inside, team, locale = self.inside(client=context.client, body=body, user_id=user_id)
        if inside:
            return next()
        ref = str(context.get(REF) or uuid.uuid4().hex[:12])
        context[REF] = ref
        log_refusal(ref=ref, user=user_id, action=REFUSED_ACTION, target=f"team:{team}")
        lang = normalise_language(locale) if locale else self.services.locales.default_language
        return self._refuse(body, context, lang)

    def _refuse(self, body: Mapping[str, Any], context: BoltContext, lang: str) -> BoltResponse:
        """The acknowledgement, and the one message, as fits the kind of request."""
        text = t("network.outside", lang)
        kind = str(body.get("type") or "")
        if body.get("command"):  # a slash command: the answer is the acknowledgement itself (ephemeral)
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if kind == "block_suggestion":
            return BoltResponse(status=200, body={"options": []})
        if kind == "view_closed":
            return BoltResponse(status=200, body="")
        if kind == "event_callback":
            event = body.get("event") or {}
            if event.get("type") == "app_home_opened":
                self._later(lambda: self._publish_outside_home(context, lang))
            elif _addressed_to_the_bot(event):
                self._later(lambda: tell_user(self.services.settings, dict(body), context, context.client, text))
            return BoltResponse(status=200, body="")
        self._later(lambda: tell_user(self.services.settings, dict(body), context, context.client, text))
        if kind == "view_submission":
            return BoltResponse(status=200, body={"response_action": "clear"})
        return BoltResponse(status=200, body="")

    def _publish_outside_home(self, context: BoltContext, lang: str) -> None:
        context.client.views_publish(user_id=str(context.user_id), view=build_outside_home(lang))

    def _later(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except SlackApiError as exc:  # e.g. the person cannot be messaged: the refusal stands, logged above
                log.info("could not tell a person outside the network (%s)", exc.response.get("error"))
            except Exception:  # a thread of its own: nothing else would report it
                log.exception("could not tell a person outside the network")

        self._pool.submit(run)


def _addressed_to_the_bot(event: Mapping[str, Any]) -> bool:
    """A mention, or a direct message: what wieweet would have answered (one message per message, not per event)."""
    if event.get("bot_id") or event.get("subtype"):
        return False
    return event.get("type") == "app_mention" or (event.get("type") == "message" and event.get("channel_type") == "im")


def register(app: App, services: Services, network: Network) -> None:
    """The gate, after the middleware that marks Socket Mode requests verified (its errors are answered)."""
    gate = NetworkGate(services, network)

    @app.middleware
    def network_gate(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        return gate(req, resp, next)
