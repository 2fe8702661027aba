"""``bot.text.is_slack_user_id`` / ``is_slack_channel_id``: the one check of a Slack id's form, and the payload
claims that use it (a forged id with a trailing newline is refused: ``$`` would have matched before it)."""

from __future__ import annotations

import pytest

from bot.actors import NotAuthorized
from bot.config import read_settings
from bot.register.validation import AnyTheme, validate_expert
from bot.routing.core import slack_id
from bot.routing.errors import RoutingInputError
from bot.staffdm import staff_ids
from bot.text import is_slack_channel_id, is_slack_user_id
from digests.errors import InvalidChannel
from digests.subscriptions import validate_channel
from handlers import claims
from handlers.kit import user_mention

LONGEST = "U" + "A" * 31


@pytest.mark.parametrize("value", ["U012AB3CD", "W0ENTERPR", "U12", LONGEST, "UA1"])
def test_slack_user_ids(value: str) -> None:
    assert is_slack_user_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "u012ab3cd",  # lower case
        "U012ab3cd",
        LONGEST + "A",  # too long
        "U1",  # too short
        "C0TRIAGE1",  # a channel
        "D0ABC1234",
        "U123\n",  # a trailing newline
        "\nU123",
        " U123",
        "U123 ",
        "<@U123>",
        "",
        None,
        12,
    ],
)
def test_not_slack_user_ids(value: object) -> None:
    assert not is_slack_user_id(value)


def test_slack_channel_ids() -> None:
    assert all(is_slack_channel_id(c) for c in ("C0TRIAGE1", "G0PRIVATE", "D0ABC1234"))
    assert not any(is_slack_channel_id(c) for c in ("C123\n", "c0triage1", "U0NLUSER1", "C" + "A" * 32, None))


@pytest.mark.parametrize(
    "name",
    [
        "GENERAL",
        "RANDOM",
        "CULTUUR-NEWS",
        "CULTUURNEWS",
        "GEMEENTEN",
        "DIGITAAL",
        "C0ABC12",
    ],
)
def test_a_channel_name_in_capitals_is_no_channel_id(name: str) -> None:
    """A real id is C, G or D and at least 8 capitals and digits, one a digit at least: a name typed in capitals
    (or an id cut short) is refused, wherever a channel is given."""
    assert not is_slack_channel_id(name)
    with pytest.raises(InvalidChannel, match="not its name"):
        validate_channel(name)
    _, problems = read_settings({"WIEWEET_TRIAGE_CHANNEL": name})
    assert [p for p in problems if p.startswith("WIEWEET_TRIAGE_CHANNEL must be a channel id")]
    assert validate_channel("C0123ABCD") == "C0123ABCD" and is_slack_channel_id("C05B1RT5HJK")
    assert not is_slack_channel_id("D0ABC1234", prefixes="CG")


def test_every_user_id_check_uses_the_one_rule() -> None:
    forged = "U123\n"
    assert user_mention(forged) is None and user_mention("U123") == "<@U123>"
    assert staff_ids([forged, "U0STAFF01", "U0STAFF01", LONGEST + "A"]) == ["U0STAFF01"]
    assert slack_id(forged) == "U123"  # a picked id is trimmed first: what is kept is the id alone
    with pytest.raises(RoutingInputError):
        slack_id("U123\nU456")
    values = {"name": "Griet", "email": "griet@gent.be", "organisation": "Gent", "slack_user_id": LONGEST + "A"}
    record, errors = validate_expert(values, themes=AnyTheme())
    assert record is None and "bad_slack_id" in [e.code for e in errors]


def _pick(user: object) -> dict[str, object]:
    return {
        "type": "block_actions",
        "actions": [{"action_id": "x", "block_id": "triage_actions:7", "selected_user": user}],
    }


def _button(value: object) -> dict[str, object]:
    return {"type": "block_actions", "actions": [{"action_id": "x", "value": value}]}


@pytest.mark.parametrize("forged", ["U123\n", "u123", "C123"])
def test_a_forged_user_in_a_payload_is_refused(forged: str) -> None:
    assert claims.picked_user(_pick("U123"), claims.TRIAGE) == claims.UserPick(7, "U123")
    assert claims.own_user(_button("U123")) == "U123"
    with pytest.raises(NotAuthorized):
        claims.picked_user(_pick(forged), claims.TRIAGE)
    with pytest.raises(NotAuthorized):
        claims.own_user(_button(forged))


def test_forged_channel_ts_and_ids_with_a_trailing_newline_are_refused() -> None:
    assert claims.channel_id("C0123ABCD") == "C0123ABCD"
    assert claims.message_ts("1700000000.000100") == "1700000000.000100"
    assert claims.parse_id("12", what="question") == 12
    for call in (
        lambda: claims.channel_id("C0123ABCD\n"),
        lambda: claims.message_ts("1700000000.000100\n"),
        lambda: claims.parse_id("12\n", what="question"),
    ):
        with pytest.raises(NotAuthorized):
            call()


# ids of older workspaces have a letter right after the prefix (public archive links); Slack never re-issues an id
@pytest.mark.parametrize(
    "real",
    ["C0123ABCDEF", "C024BE91L", "D024BE91L", "G024BE91L", "C05B1RT5HJK", "CEL9HCSN4", "CEKNRGF25", "CBR2V3XEX",
     "GTHGHCB4G", "GHB1LCNRW"],
)  # fmt: skip
def test_the_id_shapes_slack_gives_pass(real: str) -> None:
    assert is_slack_channel_id(real) and validate_channel(real) == real
