"""Shortcuts, selects, ephemeral buttons, response_url replace/delete, view closing, retried events."""

from __future__ import annotations

import threading
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from tests.emulator import SlackEmulator

from .harness import bolt_http, make_app

HOME = {
    "type": "home",
    "blocks": [
        {
            "type": "section",
            "block_id": "wie",
            "text": {"type": "mrkdwn", "text": "Wie?"},
            "accessory": {"type": "users_select", "action_id": "kies_collega"},
        },
        {
            "type": "actions",
            "block_id": "thema",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "kies_thema",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Wonen"}, "value": "wonen"},
                        {"text": {"type": "plain_text", "text": "Mobiliteit"}, "value": "mobiliteit"},
                    ],
                }
            ],
        },
    ],
}
CONFIRM = [
    {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "ja", "value": "1", "text": {"type": "plain_text", "text": "Ja"}},
            {"type": "button", "action_id": "weg", "value": "0", "text": {"type": "plain_text", "text": "Weg"}},
        ],
    }
]


def test_home_tab_selects(emu: SlackEmulator, client: WebClient) -> None:
    app = make_app(emu)
    picked: list[Any] = []

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view=HOME)

    @app.action("kies_collega")
    def collega(ack: Ack, action: dict[str, Any]) -> None:
        ack()
        picked.append(action["selected_user"])

    @app.action("kies_thema")
    def thema(ack: Ack, action: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        picked.append((action["selected_option"]["text"]["text"], body["container"]["type"], body["view"]["type"]))

    with bolt_http(app, emu):
        emu.open_home("U001")
        home_view = emu.wait_for(lambda: emu.home_view("U001"))
        assert emu.open_home("U001").event["view"]["id"] == home_view["id"]
        emu.select_user("U001", "kies_collega", "U002", view=home_view["id"])
        emu.select_option("U001", "kies_thema", "mobiliteit", view=home_view["id"])
        emu.wait_for(lambda: len(picked) == 2)
    assert picked == ["U002", ("Mobiliteit", "view", "home")]


def test_message_shortcut_and_ephemeral_buttons(emu: SlackEmulator) -> None:
    app = make_app(emu)

    @app.shortcut("bewaar")
    def bewaar(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, user = shortcut["channel"]["id"], shortcut["user"]["id"]
        client.chat_postEphemeral(
            channel=channel, user=user, text=f"Bewaren: {shortcut['message']['text']}?", blocks=CONFIRM
        )

    @app.action("ja")
    def ja(ack: Ack, respond: Respond) -> None:
        ack()
        respond(replace_original=True, text="Bewaard")

    @app.action("weg")
    def weg(ack: Ack, respond: Respond) -> None:
        ack()
        respond(delete_original=True)

    seeded = emu.add_message("U002", "C001", "Gent heeft een huurpremie")
    assert emu.deliveries == []
    with bolt_http(app, emu):
        shortcut = emu.send_message_shortcut("U001", "C001", "bewaar", seeded["ts"])
        assert shortcut.acked and shortcut.payload["type"] == "message_action"
        [eph] = emu.wait_for(lambda: emu.ephemerals("U001"))
        assert eph["text"] == "Bewaren: Gent heeft een huurpremie?"

        click = emu.click_button("U001", "ja", message=eph["message_ts"], channel="C001")
        assert click.payload["container"]["is_ephemeral"] is True and "message" not in click.payload
        emu.wait_for(lambda: emu.ephemerals("U001")[0]["text"] == "Bewaard")

        again = emu.send_message_shortcut("U001", "C001", "bewaar", seeded["ts"])
        assert again.acked
        second = emu.wait_for(lambda: [e for e in emu.ephemerals("U001") if e["text"].startswith("Bewaren")])[0]
        emu.click_button("U001", "weg", message=second["message_ts"], channel="C001")
        emu.wait_for(lambda: [e["text"] for e in emu.ephemerals("U001")] == ["Bewaard"])
    assert [p["body"].get("delete_original") for p in emu.response_posts] == [None, True]


def test_close_view_notifies_only_when_asked(emu: SlackEmulator, client: WebClient) -> None:
    app = make_app(emu)
    closed = threading.Event()

    @app.view_closed("vraag")
    def on_close(ack: Ack) -> None:
        ack()
        closed.set()

    modal = {
        "type": "modal",
        "callback_id": "vraag",
        "notify_on_close": True,
        "title": {"type": "plain_text", "text": "Vraag"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "?"}}],
    }
    with bolt_http(app, emu):
        view = client.views_open(trigger_id=emu.issue_trigger("U001"), view=modal)["view"]
        delivery = emu.close_view("U001", view["id"])
        assert delivery is not None and delivery.acked and closed.wait(2)
        assert emu.views("U001") == []
        quiet = client.views_open(trigger_id=emu.issue_trigger("U001"), view={**modal, "notify_on_close": False})
        assert emu.close_view("U001", quiet["view"]["id"]) is None


def test_event_sent_as_a_retry_keeps_its_event_id(emu: SlackEmulator) -> None:
    app = make_app(emu)
    seen: list[tuple[str, Any]] = []

    @app.event("message")
    def message(body: dict[str, Any], context: dict[str, Any], request: Any) -> None:
        seen.append((body["event_id"], request.headers.get("x-slack-retry-num")))

    with bolt_http(app, emu):
        first = emu.send_message("U001", "C001", "dubbel?", event_id="Ev0DUPLICATE")
        retry = emu.send_event(first.event, retry_num=1, event_id="Ev0DUPLICATE")
        emu.wait_for(lambda: len(seen) == 2)
    assert retry.attempts[0].retry_reason == "http_timeout"
    assert seen == [("Ev0DUPLICATE", None), ("Ev0DUPLICATE", ["1"])]
