"""The Web API through the real slack_sdk WebClient."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError

from tests.emulator import SlackEmulator


def error_of(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_auth_test_and_token_checks(emu: SlackEmulator, client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0001")

    with pytest.raises(SlackApiError) as wrong:
        WebClient(base_url=emu.api_url, token="xoxb-wrong").auth_test()
    assert error_of(wrong) == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=emu.api_url).auth_test()
    assert error_of(missing) == "not_authed"
    with pytest.raises(SlackApiError) as app_token:
        WebClient(base_url=emu.api_url, token=emu.app_token).chat_postMessage(channel="C001", text="x")
    assert error_of(app_token) == "not_allowed_token_type"

    url = WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"]
    assert url.startswith(f"ws://127.0.0.1:{emu.port}/socket?ticket=")
    assert [c.error for c in emu.calls] == [None, "invalid_auth", "not_authed", "not_allowed_token_type", None]


def test_post_thread_update_delete_permalink(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C001", text="Wie weet iets over huurpremie?")
    assert parent["message"]["bot_id"] == "BBOT" and parent["message"]["user"] == "UBOT"
    reply = client.chat_postMessage(channel="C001", text="Gent!", thread_ts=parent["ts"])
    assert float(reply["ts"]) > float(parent["ts"])
    assert len(parent["ts"].split(".")[1]) == 6

    replies = client.conversations_replies(channel="C001", ts=parent["ts"])["messages"]
    assert [m["text"] for m in replies] == ["Wie weet iets over huurpremie?", "Gent!"]
    assert replies[0]["reply_count"] == 1 and replies[0]["latest_reply"] == reply["ts"]
    assert [m["text"] for m in emu.thread("C001", parent["ts"])] == ["Wie weet iets over huurpremie?", "Gent!"]
    history = client.conversations_history(channel="C001")["messages"]
    assert [m["ts"] for m in history] == [parent["ts"]]

    client.chat_update(channel="C001", ts=reply["ts"], text="Gent en Leuven!")
    assert emu.message("C001", reply["ts"])["text"] == "Gent en Leuven!"  # type: ignore[index]
    link = client.chat_getPermalink(channel="C001", message_ts=reply["ts"])["permalink"]
    assert link == (
        f"https://emulator.slack/archives/C001/p{reply['ts'].replace('.', '')}?thread_ts={parent['ts']}&cid=C001"
    )
    client.chat_delete(channel="C001", ts=reply["ts"])
    assert [m["ts"] for m in emu.messages("C001")] == [parent["ts"]]
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C001", ts=reply["ts"], text="x")
    assert error_of(gone) == "message_not_found"


def test_form_and_json_bodies_are_recorded_alike(emu: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hallo*"}}]
    client.chat_postMessage(channel="C001", text="hallo", blocks=blocks)  # JSON body
    form = {"channel": "C001", "text": "hallo", "blocks": json.dumps(blocks)}
    client.api_call("chat.postMessage", params=form)  # form-encoded, blocks as JSON text
    json_call, form_call = emu.calls_to("chat.postMessage")
    assert json_call.params["blocks"] == form_call.params["blocks"] == blocks
    assert json_call.token == form_call.token == "xoxb-test"


def test_message_validation_like_slack(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text, pytest.warns(UserWarning, match="top-level `text`"):
        client.chat_postMessage(channel="C001", text="")
    assert error_of(no_text) == "no_text"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel="C001", text="x", blocks=[section] * 51)
    assert error_of(too_many) == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel="C001", text="x", blocks=[long_section])
    assert error_of(too_long) == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in too_long.value.response["response_metadata"]["messages"][0]
    client.chat_postMessage(channel="C001", text="x", blocks=[section] * 50)
    with pytest.raises(SlackApiError) as hidden:
        client.chat_postMessage(channel="C003", text="x")
    assert error_of(hidden) == "channel_not_found"


def test_users_conversations_usergroups(emu: SlackEmulator, client: WebClient) -> None:
    assert "locale" not in client.users_info(user="U001")["user"]
    assert client.users_info(user="U001", include_locale=True)["user"]["locale"] == "nl-BE"
    assert client.users_lookupByEmail(email="bert@leuven.be")["user"]["id"] == "U002"
    with pytest.raises(SlackApiError) as unknown:
        client.users_lookupByEmail(email="nobody@x.be")
    assert error_of(unknown) == "users_not_found"

    dm = client.conversations_open(users="U001")["channel"]["id"]
    assert dm.startswith("D") and dm == emu.dm_channel_with("U001")
    assert client.conversations_open(users=["U001"])["channel"]["id"] == dm
    # no DM with another bot or a deactivated account, as Slack
    emu.add_user("U0OTHERBOT", is_bot=True)
    emu.add_user("U0GONE", deleted=True)
    for user, error in (("U0OTHERBOT", "cannot_dm_bot"), ("U0GONE", "user_disabled")):
        with pytest.raises(SlackApiError) as refused:
            client.conversations_open(users=user)
        assert error_of(refused) == error
    assert client.conversations_info(channel=dm)["channel"]["is_im"] is True
    info = client.conversations_info(channel="C001")["channel"]
    assert (info["name"], info["is_private"], info["is_member"]) == ("wonen", False, True)

    first = client.conversations_members(channel="C001", limit=2)
    assert first["members"] == ["U001", "U002"]
    rest = client.conversations_members(channel="C001", cursor=first["response_metadata"]["next_cursor"])
    assert rest["members"] == ["UBOT"] and rest["response_metadata"]["next_cursor"] == ""

    emu.add_usergroup("S001", "experts-wonen", ["U001", "U003"])
    assert client.usergroups_users_list(usergroup="S001")["users"] == ["U001", "U003"]

    eph = client.chat_postEphemeral(channel="C001", user="U001", text="alleen voor jou")
    assert emu.ephemerals("U001")[0]["message_ts"] == eph["message_ts"]
    with pytest.raises(SlackApiError) as outsider:
        client.chat_postEphemeral(channel="C001", user="U003", text="x")
    assert error_of(outsider) == "user_not_in_channel"


def test_unknown_method_is_recorded(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.sendTelepathically", params={"channel": "C001"})
    assert error_of(unknown) == "unknown_method"
    assert emu.calls_to("chat.sendTelepathically")[0].params == {"channel": "C001"}


def test_files_upload_v2(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C001", text="export volgt")
    result = client.files_upload_v2(
        channel="C001",
        content="naam;stad\nAn;Gent\n",
        filename="experts.csv",
        title="Experten",
        initial_comment="Hier is de export",
        thread_ts=parent["ts"],
    )
    assert result["file"]["title"] == "Experten"
    [stored] = emu.files()
    assert stored["content"] == b"naam;stad\nAn;Gent\n" and stored["channels"] == ["C001"]
    shared = emu.thread("C001", parent["ts"])[-1]
    assert shared["text"] == "Hier is de export" and shared["files"][0]["id"] == result["file"]["id"]
    methods = [c.method for c in emu.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_reactions(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C001", text="x")["ts"]
    client.reactions_add(channel="C001", timestamp=ts, name="eyes")
    with pytest.raises(SlackApiError) as twice:
        client.reactions_add(channel="C001", timestamp=ts, name="eyes")
    assert error_of(twice) == "already_reacted"
    assert emu.message("C001", ts)["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]  # type: ignore[index]


MODAL = {
    "type": "modal",
    "callback_id": "vraag",
    "external_id": "vraag-1",
    "title": {"type": "plain_text", "text": "Nieuwe vraag"},
    "submit": {"type": "plain_text", "text": "Stuur"},
    "blocks": [
        {
            "type": "input",
            "block_id": "vraag",
            "label": {"type": "plain_text", "text": "Vraag"},
            "element": {"type": "plain_text_input", "action_id": "tekst"},
        }
    ],
}


def test_views_triggers_expire_and_are_single_use(emu: SlackEmulator, client: WebClient) -> None:
    trigger = emu.issue_trigger("U001")
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "vraag"
    assert [v["id"] for v in emu.views("U001")] == [view["id"]]
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert error_of(reused) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as invalid:
        client.views_open(trigger_id="123.456.nope", view=MODAL)
    assert error_of(invalid) == "invalid_trigger_id"

    late = emu.issue_trigger("U001")  # expires by the test clock only, which the test moves: never by load
    emu.advance_clock(3.1)
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=late, view=MODAL)
    assert error_of(expired) == "expired_trigger_id"

    pushed = client.views_push(trigger_id=emu.issue_trigger("U001"), view=MODAL)["view"]
    assert pushed["root_view_id"] == view["id"] and len(emu.views("U001")) == 2
    updated = client.views_update(external_id="vraag-1", view={**MODAL, "callback_id": "vraag2"}, hash=view["hash"])
    assert updated["view"]["callback_id"] == "vraag2"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=view["id"], view=MODAL, hash=view["hash"])
    assert error_of(stale) == "hash_conflict"
    with pytest.raises(SlackApiError) as bad:
        client.views_open(
            trigger_id=emu.issue_trigger("U001"), view={**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
        )
    assert error_of(bad) == "invalid_arguments"


def test_views_publish_home(emu: SlackEmulator, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Welkom"}}]}
    first = client.views_publish(user_id="U001", view=home)["view"]
    second = client.views_publish(user_id="U001", view=home)["view"]
    assert first["id"] == second["id"] and first["hash"] != second["hash"]
    assert emu.home_view("U001")["blocks"][0]["text"]["text"] == "Welkom"  # type: ignore[index]
    assert emu.home_view("U002") is None


def test_response_url_messages(emu: SlackEmulator, client: WebClient) -> None:
    emu.config.socket_wait = 0.05
    command = emu.send_command("U001", "C001", text="huurpremie", wait=False)
    assert command.response_url is not None and command.response_url.startswith(emu.base_url + "response/")
    hook = WebhookClient(command.response_url)
    assert hook.send(text="Even zoeken…").status_code == 200
    assert hook.send(text="Gevonden!", response_type="in_channel").status_code == 200
    assert [e["text"] for e in emu.ephemerals("U001")] == ["Even zoeken…"]
    assert emu.messages("C001")[-1]["text"] == "Gevonden!"
    assert [p["body"]["text"] for p in emu.response_posts] == ["Even zoeken…", "Gevonden!"]
    command.wait(5)


def test_a_response_url_expires_by_the_test_clock_only(emu: SlackEmulator) -> None:
    """Slack's 30 minutes pass only when the test says so (``advance_clock``): a slow machine expires no URL."""
    emu.config.socket_wait = 0.05
    command = emu.send_command("U001", "C001", text="huurpremie", wait=False)
    assert command.response_url is not None
    hook = WebhookClient(command.response_url)
    emu.advance_clock(emu.config.response_url_ttl)  # 30 minutes to the second: still taken
    assert hook.send(text="Nog net").status_code == 200
    emu.advance_clock(1)
    expired = hook.send(text="Te laat")
    assert (expired.status_code, json.loads(expired.body)) == (404, {"ok": False, "error": "expired_url"})
    assert [p["body"]["text"] for p in emu.response_posts] == ["Nog net"]  # the refused post is shown nowhere
    assert [(r["error"], r["body"]["text"]) for r in emu.response_refusals] == [("expired_url", "Te laat")]
    assert [e["text"] for e in emu.ephemerals("U001")] == ["Nog net"]
    command.wait(5)


def test_slack_held_answers_nothing_until_let_go(emu: SlackEmulator, client: WebClient) -> None:
    """``hold_slack``: calls and response_url posts wait unanswered inside the block and are served after it."""
    emu.config.socket_wait = 0.05
    command = emu.send_command("U001", "C001", text="huurpremie", wait=False)
    assert command.response_url is not None
    hook = WebhookClient(command.response_url)
    with ThreadPoolExecutor(2) as pool:
        with emu.hold_slack():
            posted = pool.submit(client.chat_postMessage, channel="C001", text="hallo")
            responded = pool.submit(hook.send, text="Gevonden")
            emu.wait_for(lambda: emu.held_requests == 2, timeout=10)  # both arrived, neither answered
            assert emu.calls_to("chat.postMessage") == [] and emu.response_posts == [] and not posted.done()
        assert posted.result(timeout=10)["ok"] and responded.result(timeout=10).status_code == 200
    assert not emu.slack_held and [m["text"] for m in emu.messages("C001")] == ["hallo"]
    command.wait(5)


def test_create_a_channel_and_invite_people_with_slacks_errors(emu: SlackEmulator, client: WebClient) -> None:
    created = client.conversations_create(name="werksessie-leegstand")["channel"]
    assert created["id"].startswith("C") and created["name"] == "werksessie-leegstand"
    with pytest.raises(SlackApiError) as taken:
        client.conversations_create(name="werksessie-leegstand")
    assert error_of(taken) == "name_taken"
    with pytest.raises(SlackApiError) as specials:
        client.conversations_create(name="werk sessie!")
    assert error_of(specials) == "invalid_name_specials"

    client.conversations_invite(channel=created["id"], users=["U001", "U002"])
    assert emu.channel_info(created["id"])["members"] == ["UBOT", "U001", "U002"]  # type: ignore[index]
    with pytest.raises(SlackApiError) as again:
        client.conversations_invite(channel=created["id"], users=["U001"])
    assert error_of(again) == "already_in_channel"
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_invite(channel=created["id"], users=["U404"])
    assert error_of(unknown) == "user_not_found"
    with pytest.raises(SlackApiError) as outside:
        client.conversations_invite(channel="C003", users=["U001"])  # private, the bot is not in it
    assert error_of(outside) == "channel_not_found"

    emu.set_bot_scopes(["chat:write", "groups:write"])
    with pytest.raises(SlackApiError) as scope:
        client.conversations_create(name="nog-een")
    assert error_of(scope) == "missing_scope"
    assert scope.value.response["needed"] == "channels:manage"
    assert scope.value.response["provided"] == "chat:write,groups:write"
    private = client.conversations_create(name="besloten", is_private=True)["channel"]
    assert private["is_private"] is True
    with pytest.raises(SlackApiError) as invite_scope:
        client.conversations_invite(channel=created["id"], users=["U003"])
    assert error_of(invite_scope) == "missing_scope"


def test_reading_a_conversation_needs_its_history_scope(emu: SlackEmulator, client: WebClient) -> None:
    ts = str(client.chat_postMessage(channel="C001", text="hallo")["ts"])
    emu.set_bot_scopes(["chat:write", "im:history"])
    for read in (
        lambda: client.conversations_history(channel="C001"),
        lambda: client.conversations_replies(channel="C001", ts=ts),
    ):
        with pytest.raises(SlackApiError) as refused:
            read()
        assert error_of(refused) == "missing_scope"
        assert refused.value.response["needed"] == "channels:history"
    dm = client.conversations_open(users="U001")["channel"]["id"]
    assert client.conversations_history(channel=dm)["ok"]  # im:history is enough in a DM
    emu.set_bot_scopes(["chat:write", "channels:history"])
    assert [m["ts"] for m in client.conversations_history(channel="C001")["messages"]] == [ts]


def test_replies_from_oldest(client: WebClient) -> None:
    parent = str(client.chat_postMessage(channel="C001", text="vraag")["ts"])
    first = str(client.chat_postMessage(channel="C001", thread_ts=parent, text="een")["ts"])
    second = str(client.chat_postMessage(channel="C001", thread_ts=parent, text="twee")["ts"])
    replies = client.conversations_replies(channel="C001", ts=parent, oldest=first)["messages"]
    assert [m["ts"] for m in replies] == [first, second]


def test_conversations_list_pages_public_channels_with_their_creator(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel("C010", name="wonen", members=["U001", emu.bot_user_id])
    emu.add_channel("C011", name="geheim", is_private=True, members=["U001"])
    made = client.conversations_create(name="werksessie-wonen")["channel"]["id"]
    first = client.conversations_list(types="public_channel", limit=1)
    rest = client.conversations_list(types="public_channel", cursor=first["response_metadata"]["next_cursor"])
    listed = {c["name"]: c for c in first["channels"] + rest["channels"]}
    assert {"wonen", "werksessie-wonen"} <= set(listed) and "geheim" not in listed  # not a private one it is not in
    assert listed["werksessie-wonen"]["id"] == made and listed["werksessie-wonen"]["creator"] == emu.bot_user_id
    assert listed["wonen"]["creator"] == "U001"
