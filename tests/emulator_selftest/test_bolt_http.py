"""A real Bolt app behind a WSGI server receives signed requests from the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond, Say
from slack_sdk import WebClient

from tests.emulator import SlackEmulator

from .harness import bolt_http, make_app

QUESTION_BUTTON = {
    "type": "actions",
    "block_id": "vraag-acties",
    "elements": [
        {
            "type": "button",
            "action_id": "stel_vraag",
            "value": "huurpremie",
            "text": {"type": "plain_text", "text": "Vraag"},
        }
    ],
}
MODAL = {
    "type": "modal",
    "callback_id": "vraag",
    "private_metadata": "C001",
    "title": {"type": "plain_text", "text": "Nieuwe vraag"},
    "submit": {"type": "plain_text", "text": "Stuur"},
    "blocks": [
        {
            "type": "input",
            "block_id": "vraag",
            "label": {"type": "plain_text", "text": "Vraag"},
            "element": {"type": "plain_text_input", "action_id": "tekst"},
        },
        {
            "type": "input",
            "block_id": "thema",
            "label": {"type": "plain_text", "text": "Thema"},
            "element": {
                "type": "static_select",
                "action_id": "keuze",
                "options": [
                    {"text": {"type": "plain_text", "text": "Wonen"}, "value": "wonen"},
                    {"text": {"type": "plain_text", "text": "Mobiliteit"}, "value": "mobiliteit"},
                ],
            },
        },
    ],
}


def test_signed_slash_command_and_event(emu: SlackEmulator) -> None:
    app = make_app(emu)

    @app.command("/wieweet")
    def command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack(f"Even zoeken naar {command['text']}…")
        respond(text="Gevonden: An Peeters", response_type="in_channel")

    @app.event("message")
    def message(event: dict[str, Any], say: Say) -> None:
        say(text=f"Dank je, <@{event['user']}>", thread_ts=event["ts"])

    with bolt_http(app, emu):
        delivery = emu.send_command("U001", "C001", text="huurpremie")
        assert delivery.acked and delivery.status == 200 and delivery.latency is not None and delivery.latency < 1
        assert delivery.ack_body == {"text": "Even zoeken naar huurpremie…"}
        assert [e["text"] for e in emu.ephemerals("U001")] == ["Even zoeken naar huurpremie…"]
        emu.wait_for(lambda: any(m["text"] == "Gevonden: An Peeters" for m in emu.messages("C001")))

        sent = emu.send_message("U001", "C001", "Wie kent de huurpremie?")
        assert sent.acked and sent.mode == "http"
        reply = emu.wait_for_call("chat.postMessage", lambda c: c.params.get("thread_ts") == sent.ts)
        assert reply.params["text"] == "Dank je, <@U001>"
        assert [m["text"] for m in emu.thread("C001", sent.ts or "")] == ["Wie kent de huurpremie?", "Dank je, <@U001>"]


def test_wrong_signing_secret_is_rejected_and_events_are_retried(emu: SlackEmulator) -> None:
    app = make_app(emu, signing_secret="a-different-secret")
    app.event("message")(lambda: None)
    emu.config.max_retries = 2
    with bolt_http(app, emu):
        delivery = emu.send_message("U001", "C001", "hallo")
    assert not delivery.acked
    assert [(a.status, a.retry_num, a.retry_reason) for a in delivery.attempts] == [
        (401, 0, None),
        (401, 1, "http_error"),
        (401, 2, "http_error"),
    ]


def test_slow_ack_is_retried_with_retry_headers(emu: SlackEmulator) -> None:
    # generous margins: on a loaded machine the retry itself must still ack within the timeout
    emu.config.ack_timeout = 1.5
    app = make_app(emu)
    seen: list[tuple[str | None, str | None]] = []
    first = threading.Event()

    @app.middleware
    def slow_first_time(req: Any, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        seen.append(
            (req.headers.get("x-slack-retry-num", [None])[0], req.headers.get("x-slack-retry-reason", [None])[0])
        )
        if not first.is_set():
            first.set()
            time.sleep(2.5)
        return next()

    app.event("app_mention")(lambda: None)
    with bolt_http(app, emu):
        delivery = emu.send_app_mention("U001", "C001", "<@UBOT> hallo")
        late = delivery.attempts[0]
        emu.wait_for(lambda: late.status is not None, timeout=8)
    assert delivery.acked and delivery.retries == 1
    assert late.timed_out and not late.acked and late.status == 200 and (late.latency or 0) >= 2.5
    assert delivery.attempts[1].acked and delivery.attempts[1].retry_reason == "http_timeout"
    assert seen == [(None, None), ("1", "http_timeout")]


def test_mention_sends_both_events_with_one_ts(emu: SlackEmulator) -> None:
    app = make_app(emu)
    got: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    @app.event("app_mention")
    def mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        with lock:
            got.append((event["type"], event["ts"], body["event_id"]))

    @app.event("message")
    def message(event: dict[str, Any], body: dict[str, Any]) -> None:
        with lock:
            got.append((event["type"], event["ts"], body["event_id"]))

    with bolt_http(app, emu):
        mention_delivery, message_delivery = emu.send_mention_message("U002", "C001", "<@UBOT> wie weet?")
        emu.wait_for(lambda: len(got) == 2)
    assert mention_delivery.acked and message_delivery.acked
    assert sorted(t for t, _, _ in got) == ["app_mention", "message"]
    assert got[0][1] == got[1][1] == mention_delivery.ts
    assert got[0][2] != got[1][2]
    assert mention_delivery.event["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": "UBOT"}


def register_question_flow(app: App) -> None:
    @app.command("/wieweet")
    def command(ack: Ack, say: Say) -> None:
        ack()
        say(text="Stel een vraag", blocks=[QUESTION_BUTTON])

    @app.action("stel_vraag")
    def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("vraag")
    def submitted(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        values = view["state"]["values"]
        text = values["vraag"]["tekst"]["value"]
        if len(text) < 10:
            ack(response_action="errors", errors={"vraag": "Te kort"})
            return
        ack()
        theme = values["thema"]["keuze"]["selected_option"]["value"]
        client.chat_postMessage(channel=view["private_metadata"], text=f"[{theme}] {text} — <@{body['user']['id']}>")


def run_question_flow(emu: SlackEmulator) -> None:
    emu.send_command("U001", "C001")
    posted = emu.wait_for(lambda: [m for m in emu.messages("C001") if m["text"] == "Stel een vraag"])
    click = emu.click_button("U001", "stel_vraag", message=posted[0]["ts"], channel="C001")
    assert click.acked and click.payload["actions"][0]["value"] == "huurpremie"
    assert click.payload["container"]["type"] == "message"
    [modal] = emu.wait_for(lambda: emu.views("U001"))
    assert modal["callback_id"] == "vraag"

    short = emu.submit_view("U001", modal["id"], {"vraag": "kort", "thema": "wonen"})
    assert short.response_action == "errors" and short.ack_body == {
        "response_action": "errors",
        "errors": {"vraag": "Te kort"},
    }
    assert emu.views("U001"), "the modal stays open on errors"

    ok = emu.submit_view("U001", modal["id"], {"vraag": {"tekst": "Wie kent de huurpremie?"}, "thema": "wonen"})
    assert ok.acked and ok.response_action is None
    assert ok.payload["view"]["state"]["values"]["thema"]["keuze"]["selected_option"]["text"]["text"] == "Wonen"
    assert emu.views("U001") == []
    emu.wait_for(lambda: any(m["text"] == "[wonen] Wie kent de huurpremie? — <@U001>" for m in emu.messages("C001")))


def test_button_modal_and_submission_over_http(emu: SlackEmulator) -> None:
    app = make_app(emu)
    register_question_flow(app)
    with bolt_http(app, emu):
        run_question_flow(emu)
