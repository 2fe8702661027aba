"""The self-service Block Kit builders, without a network: valid typed blocks, escaped texts, the right buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.outbox import ConsentRequest, PayloadError, StaffDM, SubmissionOutcome, SubmissionOutcomeKind, read_as
from bot.register.validation import FieldError
from bot.routing.queries import HeldQuestion
from handlers import ids
from handlers.blocks.home import HomeData, HomeItem, build_home_view, held_blocks, held_item
from handlers.blocks.profile import (
    AdminData,
    ProfileCard,
    build_admin_blocks,
    build_consent_request,
    build_profile_modal,
    build_submission_outcome,
    field_errors,
)
from handlers.commands import command_text
from handlers.forms import ProfileForm, read_profile_form
from handlers.kit import ThemeChoice
from handlers.profiles import ProfileCommand, parse_profile_command

CARD = ProfileCard(
    expert_id=12,
    name="An <script> Peeters",
    email="an@gent.be",
    organisation="Stad Gent",
    expertise=("leegstandsheffing", "*vet*"),
    themes=("Wonen",),
    languages=("nl", "fr"),
    last_confirmed="2026-06-01",
    slack_user_id="U0AN",
)


def dumped(value: Any) -> str:
    data = value.to_dict() if hasattr(value, "to_dict") else [b.to_dict() for b in value]
    return json.dumps(data, ensure_ascii=False)


def test_profile_modal_is_prefilled_and_round_trips_through_the_form_reader() -> None:
    values = {"name": "An", "email": "an@gent.be", "organisation": "Gent", "expertise": "a; b", "themes": "wonen"}
    themes = [ThemeChoice("wonen", "Wonen"), ThemeChoice("armoede", "Armoede")]
    view = build_profile_modal("nl", values=values, themes=themes, expert_id=12, joining=False)
    data = view.to_dict()  # validates Slack's limits
    assert data["callback_id"] == ids.VIEW_PROFILE and json.loads(data["private_metadata"]) == {"expert_id": 12}
    blocks = {b["block_id"]: b for b in data["blocks"] if "block_id" in b}
    assert {ids.profile_block(f) for f in ids.PROFILE_FIELDS} <= set(blocks)
    assert blocks[ids.profile_block("email")]["element"]["initial_value"] == "an@gent.be"
    assert [o["value"] for o in blocks[ids.profile_block("themes")]["element"]["initial_options"]] == ["wonen"]
    assert blocks[ids.profile_block("name")].get("optional") is not True
    assert blocks[ids.profile_block("bio")]["optional"] is True

    state = {
        ids.profile_block("name"): {ids.profile_input("name"): {"value": "An"}},
        ids.profile_block("expertise"): {ids.profile_input("expertise"): {"value": "leegstand\n\nkoten\n"}},
        ids.profile_block("themes"): {
            ids.profile_input("themes"): {"selected_options": [{"value": "wonen"}, {"value": "armoede"}]}
        },
    }
    form = read_profile_form(state)
    assert form["expertise"] == "leegstand; koten"
    assert form["themes"] == "wonen; armoede"
    assert form["email"] == "" and form["name"] == "An"


def _blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def test_topics_a_command_brings_to_a_long_expertise_are_offered_in_their_own_input_not_lost() -> None:
    # /wieweet profiel <topics> on a profile whose expertise is near or over the form's 3,000 characters: before, the
    # sum was left out of the form as too long and kept as stored, so the topics the user came to add were lost
    themes = [ThemeChoice("wonen", "Wonen")]
    base = {"name": "Jolien", "email": "j@example.org", "organisation": "Stad"}
    near = "; ".join(f"onderwerp {n:03d} over wonen" for n in range(115))  # ~2,990 characters: fits alone
    over = "; ".join(f"onderwerp {n:03d} over wonen" for n in range(130))  # over 3,000: kept as stored
    assert len(near) <= 3000 < len(over)
    add = "leegstandsheffing op winkelpanden; Onderwerp 001 over wonen"

    # stored fits, the sum does not: the field as stored, the topics below it
    view = build_profile_modal(
        "nl", values={**base, "expertise": near}, themes=themes, expert_id=3, joining=False, add_expertise=add
    ).to_dict()
    blocks = _blocks(view)
    assert blocks[ids.profile_block("expertise")]["element"]["initial_value"] == near
    added = blocks[ids.BLOCK_PROFILE_ADD_EXPERTISE]
    assert added["optional"] is True and added["element"]["multiline"] is True
    assert added["element"]["max_length"] == 3000
    assert added["element"]["initial_value"] == "leegstandsheffing op winkelpanden\nOnderwerp 001 over wonen"
    assert "keep" not in json.loads(view["private_metadata"])

    # stored is too long: kept, with a note that says topics can be added below, and the input pre-filled
    view = build_profile_modal(
        "en", values={**base, "expertise": over}, themes=themes, expert_id=3, joining=False, add_expertise=add
    ).to_dict()
    blocks = _blocks(view)
    assert ids.profile_block("expertise") not in blocks and json.loads(view["private_metadata"])["keep"] == [
        "expertise"
    ]
    assert "leegstandsheffing op winkelpanden" in blocks[ids.BLOCK_PROFILE_ADD_EXPERTISE]["element"]["initial_value"]
    assert "add topics below" in dumped(
        build_profile_modal("en", values={**base, "expertise": over}, themes=themes, expert_id=3, joining=False)
    )
    # kept without topics brought: the input is there, empty
    plain_kept = _blocks(
        build_profile_modal(
            "nl", values={**base, "expertise": over}, themes=themes, expert_id=3, joining=False
        ).to_dict()
    )
    assert "initial_value" not in plain_kept[ids.BLOCK_PROFILE_ADD_EXPERTISE]["element"]

    # the sum fits: appended in the field itself (each topic once), no extra input
    short = "leegstandsheffing; koten"
    view = build_profile_modal(
        "nl",
        values={**base, "expertise": short},
        themes=themes,
        expert_id=3,
        joining=False,
        add_expertise="Koten; burgerbegroting",
    ).to_dict()
    blocks = _blocks(view)
    assert (
        blocks[ids.profile_block("expertise")]["element"]["initial_value"]
        == "leegstandsheffing; koten; burgerbegroting"
    )
    assert ids.BLOCK_PROFILE_ADD_EXPERTISE not in blocks
    # nothing brought and nothing kept: no extra input either
    assert ids.BLOCK_PROFILE_ADD_EXPERTISE not in _blocks(
        build_profile_modal(
            "nl", values={**base, "expertise": near}, themes=themes, expert_id=3, joining=False
        ).to_dict()
    )


def test_the_profile_form_reads_the_expertise_to_add_as_a_topic_list() -> None:
    def body(state: dict[str, Any], keep: list[str]) -> dict[str, Any]:
        metadata = json.dumps({"expert_id": 3, "keep": keep})
        return {"view": {"private_metadata": metadata, "state": {"values": state}}}

    state = {
        ids.profile_block("name"): {ids.profile_input("name"): {"value": "Jolien"}},
        ids.BLOCK_PROFILE_ADD_EXPERTISE: {ids.INPUT_PROFILE_ADD_EXPERTISE: {"value": "leegstand\n\nkoten; huur\n"}},
    }
    form = ProfileForm.parse(body(state, ["expertise"]))
    assert form.add_expertise == "leegstand; koten; huur" and form.keep == frozenset({"expertise"})
    assert "expertise" not in form.values
    assert ProfileForm.parse(body({}, [])).add_expertise == ""


def test_join_modal_says_so() -> None:
    view = build_profile_modal("en", values={}, themes=[], expert_id=None, joining=True).to_dict()
    assert "expert" in view["title"]["text"].lower()
    assert ids.profile_block("themes") not in dumped(
        build_profile_modal("en", values={}, themes=[], expert_id=None, joining=True)
    )


def test_field_errors_are_put_on_their_block_in_the_readers_language() -> None:
    errors = [
        FieldError("email", "bad_email", "not an e-mail address"),
        FieldError("themes", "unknown_theme", "unknown theme 'wonne'", suggestion="wonen"),
        FieldError("slack_user_id", "bad_slack_id", "bad id"),  # not a form field: shown on the name
    ]
    shown = field_errors(errors, "nl")
    assert shown[ids.profile_block("email")] == "Dit is geen geldig e-mailadres."
    assert "wonen" in shown[ids.profile_block("themes")] and "Bedoel je" in shown[ids.profile_block("themes")]
    assert shown[ids.profile_block("name")].startswith("Dit is geen Slack-gebruikers-id")
    assert field_errors(errors[:1], "en")[ids.profile_block("email")] == "This is not a valid e-mail address."
    # a kept expertise is not in the form: its errors (from the topics added to it) go on the input to add them
    bad = [FieldError("expertise", "bad_characters", "contains control characters")]
    assert set(field_errors(bad, "nl", kept={"expertise"})) == {ids.BLOCK_PROFILE_ADD_EXPERTISE}
    assert set(field_errors(bad, "nl")) == {ids.profile_block("expertise")}


def test_home_for_someone_not_in_the_register_offers_joining() -> None:
    view = build_home_view(HomeData(profile=None), "nl")
    text = dumped(view)
    assert view.type == "home" and ids.ACTION_PROFILE_JOIN in text and ids.ACTION_PROFILE_EDIT not in text


@pytest.mark.parametrize(
    ("card", "present", "absent"),
    [
        (CARD, [ids.ACTION_PROFILE_EDIT, ids.ACTION_HOME_AWAY, ids.ACTION_HOME_OPT_OUT], [ids.ACTION_CONSENT_CONFIRM]),
        (
            ProfileCard(12, "An", "a@b.be", "Gent", consent="pending"),
            [ids.ACTION_CONSENT_CONFIRM, ids.ACTION_PROFILE_EDIT],
            [ids.ACTION_HOME_AVAILABLE],
        ),
        (
            ProfileCard(12, "An", "a@b.be", "Gent", availability="opted_out"),
            [ids.ACTION_HOME_AVAILABLE],
            [ids.ACTION_HOME_OPT_OUT, ids.ACTION_CONSENT_CONFIRM],
        ),
        (
            ProfileCard(12, "An", "a@b.be", "Gent", last_confirmed="2025-01-01", stale=True),
            [ids.ACTION_CONSENT_CONFIRM],
            [],
        ),
        (  # rejected by staff (kept: its owner had opted out): not listed; only filling it in again submits it
            ProfileCard(12, "An", "a@b.be", "Gent", availability="opted_out", stale=True, rejected=True),
            [ids.ACTION_PROFILE_EDIT, "niet aanvaard"],
            [ids.ACTION_HOME_AVAILABLE, ids.ACTION_HOME_AWAY, ids.ACTION_CONSENT_CONFIRM, ids.ACTION_PROFILE_JOIN],
        ),
    ],
)
def test_home_buttons_follow_the_profile_state(card: ProfileCard, present: list[str], absent: list[str]) -> None:
    text = dumped(build_home_view(HomeData(profile=card), "nl"))
    for action in present:
        assert action in text
    for action in absent:
        assert action not in text


def test_away_without_a_date_says_so_and_offers_available() -> None:
    """Marked away when Slack could not reach them (or away "until I say so"): no "until ?", and the way back."""
    card = ProfileCard(12, "An", "a@b.be", "Gent", availability="away")
    text = dumped(build_home_view(HomeData(profile=card), "nl"))
    assert "tot je je weer beschikbaar zet" in text and "tot en met ?" not in text
    assert ids.ACTION_HOME_AVAILABLE in text


def test_home_escapes_register_text_and_lists_questions() -> None:
    routed = [HomeItem(text="Wat met <b>leegstand</b>?", state="wacht op jouw antwoord", date="2026-11-30")]
    view = build_home_view(HomeData(profile=CARD, routed=routed, is_staff=True, stale_count=3), "nl")
    text = dumped(view)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;leegstand" in text and "wacht op jouw antwoord" in text
    assert "3" in text  # the staff line counts stale profiles
    assert "Laatst bevestigd op 1 jun 2026" in text


def test_consent_request_first_time_and_periodic() -> None:
    payload = {"expert_id": 12, "name": "An", "organisation": "Gent", "last_confirmed": "2026-01-02"}
    initial = build_consent_request(read_as(ConsentRequest, {**payload, "request": "initial"}), "nl")
    again = build_consent_request(read_as(ConsentRequest, {**payload, "request": "reconfirm"}), "en")
    assert initial.text != again.text and "2 Jan 2026" in again.text
    for rendered in (initial, again):
        text = dumped(rendered.blocks)
        assert ids.ACTION_CONSENT_CONFIRM in text and ids.ACTION_CONSENT_WITHDRAW in text and '"value": "12"' in text


def test_submission_outcome_knows_its_outcomes() -> None:
    rendered = build_submission_outcome(
        read_as(SubmissionOutcome, {"outcome": "profile_rejected", "title": "An <x>", "note": "dubbel"}), "nl"
    )
    assert "dubbel" in rendered.text and "&lt;x&gt;" in rendered.text and "&amp;lt;" not in rendered.text
    assert "&lt;x&gt;" in dumped(rendered.blocks) and "<x>" not in dumped(rendered.blocks)
    with pytest.raises(ValueError, match="outcome"):  # an unknown outcome never reaches the builder
        read_as(SubmissionOutcome, {"outcome": "nonsense"})
    assert issubclass(PayloadError, ValueError)


def test_an_outcome_written_by_a_newer_version_is_said_to_be_so() -> None:
    """A required enum value this version does not know (a newer replica queued it during a rolling upgrade) is a
    ``PayloadError`` whose message, logged and stored with the failed message, says where it came from; an optional
    one still reads as None."""
    with pytest.raises(PayloadError, match=r"outcome 'profile_deferred' is unknown .*written by a newer version"):
        read_as(SubmissionOutcome, {"outcome": "profile_deferred", "title": "Iets"})
    with pytest.raises(PayloadError, match=r"original_kind 'future_kind' .*written by a newer version"):
        read_as(StaffDM, {"original_kind": "future_kind", "original": {}})
    assert read_as(SubmissionOutcome, {"outcome": "invite_given_up"}).outcome is SubmissionOutcomeKind.INVITE_GIVEN_UP
    assert read_as(ConsentRequest, {"expert_id": 1, "name": "An", "request": "later"}).request is None


def test_admin_overview_lists_pending_and_stale_with_staff_buttons() -> None:
    pending = [ProfileCard(i, f"Nieuw {i}", f"n{i}@x.be", "Gent", pending_approval=True) for i in range(2)]
    stale = [ProfileCard(100 + i, f"Oud {i}", f"o{i}@x.be", "Gent", stale=True) for i in range(9)]
    blocks = build_admin_blocks(AdminData(stale=stale, pending=pending), "nl", limit=6)
    text = dumped(blocks)
    assert text.count(ids.ACTION_PROFILE_APPROVE) == 2 and text.count(ids.ACTION_EXPERT_REMOVE) == 8
    assert "Oud 5" in text and "Oud 6" not in text and "3" in text  # three more not shown


def test_admin_overview_lists_the_held_questions_as_the_home_tab_does() -> None:
    held = [
        HeldQuestion(question_id=7, text="Wat met <b>leegstand</b>?", asked_at=datetime(2026, 11, 30, 9, tzinfo=UTC))
    ]
    held.append(HeldQuestion(question_id=8, text=None, asked_at=datetime(2026, 11, 30, 10, tzinfo=UTC)))
    items = [held_item(h, "nl") for h in held]
    shown = held_blocks(items, 2, "nl")
    admin = dumped(build_admin_blocks(AdminData(queue_blocks=shown), "nl"))
    home = dumped(build_home_view(HomeData(profile=CARD, is_staff=True, held=items, held_count=2), "nl"))
    for text in (admin, home):
        assert "Bijgehouden tot de vrager weer ruimte heeft bij experts (2)" in text
        assert "#7 Wat met &lt;b&gt;leegstand" in text and "#8 " in text and "30 nov 2026" in text
    assert held_blocks([], 0, "nl") == []  # nothing held: no section


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ik weet iets over buurtbudgetten; burgerbegroting",
            ProfileCommand("join", "buurtbudgetten; burgerbegroting"),
        ),
        ("Ik weet iets over armoede en gezondheid", ProfileCommand("join", "armoede; gezondheid")),
        ("i know about participatory budgeting", ProfileCommand("join", "participatory budgeting")),
        ("ik weet iets over", ProfileCommand("join", "")),
        ("profiel", ProfileCommand("profile")),
        ("My profile", ProfileCommand("profile")),
        ("beheer", ProfileCommand("admin")),
        ("admin an.peeters@gent.be", ProfileCommand("admin", "an.peeters@gent.be")),
        ("beheer <@U0AN|an>", ProfileCommand("admin", "<@U0AN|an>")),
        # questions that merely start with these words stay questions
        ("beheer van begraafplaatsen", None),
        ("admin tools voor e-loketten?", None),
        ("profiel van een goede wijkwerker?", None),
        ("wie weet iets over leegstandsheffing?", None),
    ],
)
def test_self_service_sub_commands_are_told_apart_from_questions(text: str, expected: ProfileCommand | None) -> None:
    assert parse_profile_command(text) == expected


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("beheer <@U0AN|an>", ProfileCommand("admin", "<@U0AN|an>")),  # the mention's user id is the argument
        ("  Admin <@W0AN>  ", ProfileCommand("admin", "<@W0AN>")),
        ("beheer an.peeters@gent.be", ProfileCommand("admin", "an.peeters@gent.be")),
        ("beheer", ProfileCommand("admin")),
        ("beheer <@U0AN|an> en <@U0BO|bo>", None),  # two people: not the sub-command, decoded as any text
        ("beheer van R&amp;D &lt;5", None),
    ],
)
def test_beheer_with_a_mention_is_read_from_the_text_slack_sends(sent: str, expected: ProfileCommand | None) -> None:
    assert parse_profile_command(command_text({"text": sent})) == expected


def test_other_command_text_is_decoded_and_carries_no_mention() -> None:
    assert command_text({"text": "wie weet iets over R&amp;D &lt;5 jaar, vraag <@U0AN|an>"}) == (
        "wie weet iets over R&D <5 jaar, vraag @an"
    )
