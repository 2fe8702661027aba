"""The Slack layer: listeners, Block Kit builders, outbox and digest sending, the Bolt app and its HTTP edge.

Thin listeners: the wrapper (``handlers.listener``) acknowledges, parses the payload once, opens the request's
transaction and follows up after the commit; a handler calls a core service, renders blocks and sends.
``register(app, services)`` is the one entry point; each kind of request has its own package with its table of
listeners (``commands``, ``events``, ``shortcuts``, ``actions``, ``views``).
"""

from __future__ import annotations

from slack_bolt import App

from bot.network import Network
from handlers import actions, commands, errors, events, network, own_app, shortcuts, views
from handlers.services import Services
from handlers.slack_text import plain_payload


def register(app: App, services: Services, home: Network) -> None:
    """Every listener, behind the network check (``handlers.network``: only people of ``home`` get through)."""
    services.home.network = home  # for listeners that choose someone to ask (``handlers.routing``)
    app.use(plain_payload)  # first: no listener or middleware sees a control character (a NUL) of a payload
    errors.register(app, services)
    own_app.register(app, home.app_id)  # a request for another Slack app goes no further
    network.register(app, services, home)
    for kind in (commands, events, shortcuts, actions, views):
        kind.register(app, services)
