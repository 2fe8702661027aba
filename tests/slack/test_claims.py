"""``handlers.claims``: the form of every claim a payload makes, read one way for all listeners."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.actors import NotAuthorized
from handlers import claims


def click(value: Any = None, block_id: str | None = None, **extra: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": "x", **extra}
    if value is not None:
        action["value"] = value
    if block_id is not None:
        action["block_id"] = block_id
    return {"type": "block_actions", "actions": [action]}


@pytest.mark.parametrize("value", ["1", "42", "2147483647", 7])
def test_well_formed_ids(value: object) -> None:
    assert claims.parse_id(value, what="question") == int(str(value))


@pytest.mark.parametrize(
    "value",
    ["", "0", "-1", "abc", "1e3", "12 ", " 12", "1.0", "²", "١٢", "٣", "2147483648", "9" * 400, None, True, 1.5, [1]],
)
def test_malformed_ids_are_refused_as_such(value: object) -> None:
    with pytest.raises(NotAuthorized) as refused:
        claims.parse_id(value, what="search log")
    assert refused.value.code == claims.BAD_REFERENCE
    assert refused.value.action == "send a malformed search log id"
    assert refused.value.target is not None and len(refused.value.target) <= 60


def test_clicked_id_from_value_or_our_block_id_and_they_must_agree() -> None:
    assert claims.clicked_id(click("12"), what="routing") == 12
    prefixes = ("routing_actions",)
    assert claims.clicked_id(click("12", "routing_actions:12"), what="routing", block_prefixes=prefixes) == 12
    assert claims.clicked_id(click(None, "routing_actions:12"), what="routing", block_prefixes=prefixes) == 12
    assert claims.clicked_id(click("12", "someone_elses:99"), what="routing", block_prefixes=prefixes) == 12
    with pytest.raises(NotAuthorized):  # block says one routing, value another: forged
        claims.clicked_id(click("13", "routing_actions:12"), what="routing", block_prefixes=prefixes)
    with pytest.raises(NotAuthorized):
        claims.clicked_id(click(None, "routing_actions:x"), what="routing", block_prefixes=prefixes)
    with pytest.raises(NotAuthorized):
        claims.clicked_id({"type": "block_actions", "actions": "nope"}, what="routing")
    with pytest.raises(NotAuthorized):
        claims.clicked_id({}, what="routing")


def view(metadata: object) -> dict[str, Any]:
    return {"type": "view_submission", "view": {"private_metadata": metadata}}


def test_a_decision_claims_the_version_it_showed() -> None:
    block = "practice_review:12"
    assert claims.PRACTICE.version_in(click("12:0a1b", block)) == claims.Versioned(12, "0a1b")
    assert claims.PRACTICE.version_in(click("12", block)) == claims.Versioned(12, "")  # a button from before
    for value, where in (("12:XYZ", block), ("12:", block), ("13:0a1b", block), ("12:0a1b:9", None), ("x:0a1b", None)):
        with pytest.raises(NotAuthorized) as refused:
            claims.PRACTICE.version_in(click(value, where))
        assert refused.value.code == claims.BAD_REFERENCE
    assert claims.metadata_version({"version": "0a1b"}) == "0a1b" and claims.metadata_version({}) == ""
    with pytest.raises(NotAuthorized):
        claims.metadata_version({"version": "<script>"})


def test_view_metadata_must_be_a_json_object() -> None:
    assert claims.view_metadata(view(json.dumps({"routing_id": 3}))) == {"routing_id": 3}
    assert claims.view_metadata(view("")) == {} and claims.view_metadata({}) == {}
    for bad in ("{", "[1, 2]", '"x"', "null", "1", json.dumps({"a": "x" * 4000}), 12):
        with pytest.raises(NotAuthorized) as refused:
            claims.view_metadata(view(bad))
        assert refused.value.code == claims.BAD_REFERENCE


def test_metadata_ids_and_channels() -> None:
    data = {"question_id": 5, "channel_id": "C0WONEN01", "ts": "1700000000.000100", "new": None}
    assert claims.metadata_id(data, "question_id", what="question") == 5
    assert claims.optional_metadata_id(data, "new", what="expert") is None
    assert claims.optional_metadata_id({}, "new", what="expert") is None
    with pytest.raises(NotAuthorized):
        claims.metadata_id({}, "question_id", what="question")
    with pytest.raises(NotAuthorized):
        claims.metadata_id({"question_id": "5; DROP"}, "question_id", what="question")
    assert claims.channel_id("C0WONEN01") == "C0WONEN01" and claims.channel_id(None) is None
    for bad in ("c0wonen01", "U0NLUSER1", "#wonen", "C0WONEN01 ", "<#C0WONEN01>", 12):
        with pytest.raises(NotAuthorized):
            claims.channel_id(bad)
    assert claims.message_ts("1700000000.000100") == "1700000000.000100"
    with pytest.raises(NotAuthorized):
        claims.message_ts("now")


def test_the_clicked_message_is_only_ever_a_comparable_claim() -> None:
    body = {"container": {"type": "message", "channel_id": "D0ABC1234", "message_ts": "1.000001"}}
    assert claims.clicked_message(body) == claims.MessageRef("D0ABC1234", "1.000001")
    ephemeral = {"container": {**body["container"], "is_ephemeral": True}}
    assert claims.clicked_message(ephemeral) is None
    assert claims.clicked_message({"container": {"type": "view", "view_id": "V1"}}) is None
    assert claims.clicked_message({"container": {"type": "message", "channel_id": "x", "message_ts": "y"}}) is None
    assert claims.MessageRef.of({"channel_id": "C1", "message_ts": "1.1"}) == claims.MessageRef("C1", "1.1")
    assert claims.MessageRef.of({}) is None
