"""Block Kit builders for practices from chat: valid for Slack (to_dict validates), escaped, right ids and texts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.i18n import format_number
from bot.outbox import PracticeReview, SubmissionOutcome, read_as
from bot.register.validation import FieldError
from handlers import ids
from handlers.blocks.practice import (
    build_pending_practices,
    build_practice_card,
    build_practice_modal,
    build_practice_review,
    build_practice_review_done,
    build_practice_submitted,
    build_reject_practice_modal,
    practice_field_errors,
    prefill_from_message,
)
from handlers.blocks.profile import build_submission_outcome
from handlers.forms import Draft, NeedsDoneForm, PracticeForm, read_practice_form
from handlers.kit import ThemeChoice
from handlers.outbox import STAFF_KINDS, render_message
from storage.db import Database
from storage.models import OutboxKind

PAYLOAD: dict[str, Any] = {
    "practice_id": 7,
    "title": "Leegstand <script> & *vet*",
    "summary": "Heffing op <b>lege</b> panden",
    "city": "Kortrijk",
    "organisation": "Stad Kortrijk",
    "themes": ["wonen"],
    "theme_labels": {"wonen": {"nl": "Wonen", "en": "Housing"}},
    "tags": ["heffing", "<winkels>"],
    "outcome": "failed",
    "lessons": "Te laag tarief <i>",
    "contact_email": "wonen@kortrijk.be",
    "url": "https://www.kortrijk.be/leegstand",
    "year": 2019,
    "status": "pending",
    "submitted_by": "U0GRIET01",
    "moderation_note": "",
}


def review(raw: dict[str, Any]) -> PracticeReview:
    """A stored practice payload as the typed payload the builders take."""
    return read_as(PracticeReview, raw)


THEMES = [ThemeChoice("wonen", "Wonen"), ThemeChoice("europa", "Europa")]


def dumped(blocks: Any) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_review_has_the_three_decisions_and_escapes_everything(lang: str) -> None:
    rendered = build_practice_review(review(PAYLOAD), lang)
    text = dumped(rendered.blocks)
    for action in (ids.ACTION_PRACTICE_APPROVE, ids.ACTION_PRACTICE_EDIT, ids.ACTION_PRACTICE_REJECT):
        assert action in text
    assert "<script>" not in text and "<b>" not in text and "&lt;script&gt;" in text
    assert "<@U0GRIET01>" in text and "practice_review:7" in text
    assert ("Wonen" if lang == "nl" else "Housing") in text
    assert ("Mislukt" if lang == "nl" else "Failed") in text
    assert "<https://www.kortrijk.be/leegstand|" in text
    assert rendered.text and "<script>" not in rendered.text


def test_the_outbox_renders_practice_reviews_for_the_triage_channel() -> None:
    assert OutboxKind.PRACTICE_REVIEW in STAFF_KINDS
    rendered = render_message(OutboxKind.PRACTICE_REVIEW, PAYLOAD, "nl")
    assert ids.ACTION_PRACTICE_APPROVE in dumped(rendered.blocks)


def test_after_a_decision_the_review_has_no_buttons_and_says_who() -> None:
    rendered = build_practice_review_done(review(PAYLOAD), "nl", status="✅ Goedgekeurd door <@U0STAFF01>")
    text = dumped(rendered.blocks)
    assert ids.ACTION_PRACTICE_APPROVE not in text and "Goedgekeurd door <@U0STAFF01>" in text
    edited = build_practice_review(review(PAYLOAD), "nl", status="✏️ Bewerkt")
    assert "Bewerkt" in dumped(edited.blocks) and ids.ACTION_PRACTICE_APPROVE in dumped(edited.blocks)


@pytest.mark.parametrize("outcome", ["practice_approved", "practice_rejected"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_submitter_is_told_the_outcome(outcome: str, lang: str) -> None:
    rendered = build_submission_outcome(
        read_as(SubmissionOutcome, {"outcome": outcome, "title": "A <b>", "note": "Dubbel <x>"}), lang
    )
    text = dumped(rendered.blocks)
    assert "A &lt;b&gt;" in text and "<b>" not in text
    assert ("Dubbel &lt;x&gt;" in text) is (outcome == "practice_rejected")


def test_new_practice_modal_has_the_register_fields() -> None:
    view = build_practice_modal("nl", values={"title": "Kangoeroe"}, themes=THEMES, practice_id=None).to_dict()
    assert view["callback_id"] == ids.VIEW_PRACTICE and json.loads(view["private_metadata"]) == {"practice_id": None}
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    for name in ids.PRACTICE_FIELDS:
        assert ids.practice_block(name) in blocks
    assert blocks[ids.practice_block("title")]["element"]["initial_value"] == "Kangoeroe"
    assert blocks[ids.practice_block("title")]["optional"] is False
    assert blocks[ids.practice_block("year")]["optional"] is True
    assert view["submit"]["text"] == "Indienen"


def test_edit_modal_prefills_every_field_and_carries_metadata() -> None:
    values = {
        "title": "T",
        "summary": "S",
        "themes": "wonen",
        "outcome": "mixed",
        "year": "2020",
        "url": "https://x.be",
    }
    meta = {"channel_id": "C0TRIAGE1", "message_ts": "1.2"}
    view = build_practice_modal("en", values=values, themes=THEMES, practice_id=4, metadata=meta).to_dict()
    assert json.loads(view["private_metadata"]) == {**meta, "practice_id": 4}
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[ids.practice_block("themes")]["element"]["initial_options"][0]["value"] == "wonen"
    assert blocks[ids.practice_block("outcome")]["element"]["initial_option"]["value"] == "mixed"
    assert blocks[ids.practice_block("year")]["element"]["initial_value"] == "2020"
    assert view["title"]["text"] == "Edit practice"


def test_the_form_is_read_back_as_raw_register_values() -> None:
    state = {
        ids.practice_block("title"): {ids.practice_input("title"): {"type": "plain_text_input", "value": "T"}},
        ids.practice_block("themes"): {
            ids.practice_input("themes"): {"selected_options": [{"value": "wonen"}, {"value": "europa"}]}
        },
        ids.practice_block("outcome"): {ids.practice_input("outcome"): {"selected_option": {"value": "good"}}},
        ids.practice_block("year"): {ids.practice_input("year"): {"value": None}},
    }
    values = read_practice_form(state)
    assert values["title"] == "T" and values["themes"] == "wonen; europa" and values["outcome"] == "good"
    assert values["year"] == "" and values["summary"] == "" and set(values) == set(ids.PRACTICE_FIELDS)


def test_field_errors_go_to_their_block_in_the_readers_language() -> None:
    errors = [
        FieldError("year", "bad_year", "'x' is not a year"),
        FieldError("themes", "unknown_theme", "unknown theme 'wonnen'", "wonen"),
        FieldError("title", "missing", "missing required value"),
        FieldError("title", "too_long", "too long"),
    ]
    shown = practice_field_errors(errors, "nl")
    assert shown[ids.practice_block("year")].startswith("Dit is geen geldig jaar")
    assert shown[ids.practice_block("themes")] == "Onbekend thema. Bedoel je wonen?"
    assert shown[ids.practice_block("title")] == "Dit veld is verplicht. Dit is te lang."
    assert practice_field_errors(errors, "en")[ids.practice_block("year")].startswith("This is not a valid year")


def test_a_message_prefills_title_description_and_link() -> None:
    text = "*Kangoeroewonen in Leuven*\nOuderen delen hun woning.\nWerkt goed."
    values = prefill_from_message(text, permalink="https://emulator.slack/archives/C1/p1")
    assert values["title"] == "Kangoeroewonen in Leuven"
    assert values["summary"] == text and values["url"] == "https://emulator.slack/archives/C1/p1"
    long = prefill_from_message("x" * 500)
    assert len(long["title"]) == 300 and long["title"].endswith("…")
    view = build_practice_modal("nl", values=values, themes=[], practice_id=None, from_message=True)
    assert "Ingevuld op basis van het bericht" in json.dumps(view.to_dict(), ensure_ascii=False)


def test_card_has_staff_buttons_and_remove_asks_for_confirmation() -> None:
    text = dumped(build_practice_card(review(PAYLOAD), "nl"))
    for action in (
        ids.ACTION_PRACTICE_APPROVE,
        ids.ACTION_PRACTICE_REJECT,
        ids.ACTION_PRACTICE_EDIT,
        ids.ACTION_PRACTICE_REMOVE,
    ):
        assert action in text
    assert '"confirm"' in text and "<script>" not in text and "Wacht op goedkeuring" in text
    published = dumped(build_practice_card(review({**PAYLOAD, "status": "published"}), "en"))
    assert ids.ACTION_PRACTICE_APPROVE not in published and ids.ACTION_PRACTICE_REMOVE in published


def test_pending_overview_lists_cards_up_to_the_limit() -> None:
    payloads = [review({**PAYLOAD, "practice_id": n}) for n in range(1, 9)]
    blocks = build_pending_practices(payloads, "nl", limit=3)
    text = dumped(blocks)
    assert "wachten op goedkeuring:* 8" in text and "… en nog 5." in text
    assert text.count(ids.ACTION_PRACTICE_REMOVE) == 3


def test_reject_modal_and_submitted_notice() -> None:
    metadata = {"channel_id": "C1", "message_ts": "1.1"}
    view = build_reject_practice_modal("en", practice_id=7, version="0123abcd", metadata=metadata)
    data = view.to_dict()
    assert data["callback_id"] == ids.VIEW_PRACTICE_REJECT
    assert json.loads(data["private_metadata"]) == {**metadata, "practice_id": 7, "version": "0123abcd"}
    notice = build_practice_submitted(review(PAYLOAD), "nl")
    assert ids.ACTION_PRACTICE_EDIT in dumped(notice.blocks) and "<script>" not in notice.text


def test_staff_overview_lists_the_pending_practices_from_the_database(database: Database) -> None:
    from bot.actors import Actor  # noqa: PLC0415
    from bot.register import submissions  # noqa: PLC0415
    from handlers.practices import practice_admin_blocks  # noqa: PLC0415

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with database.session() as session:
        for n in range(3):
            values = {"title": f"Praktijk {n} <x>", "summary": "Samenvatting"}
            submissions.submit_practice(session, actor=Actor.slack("U0GRIET01", is_staff=False), values=values, now=now)
    with database.session() as session:
        blocks = practice_admin_blocks(session, "nl", limit=2)
        assert submissions.review_message_ref(session, practice_id=1) == {}  # not sent yet
    text = dumped(blocks)
    assert "wachten op goedkeuring:* 3" in text and "… en nog 1." in text and "<x>" not in text
    assert text.count(ids.ACTION_PRACTICE_APPROVE) == 2


def test_the_sub_command_opens_the_modal_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers import practices  # noqa: PLC0415

    opened: list[dict[str, str]] = []
    monkeypatch.setattr(practices, "open_practice_modal", lambda _turn, *, values: opened.append(values))
    turn: Any = object()
    assert practices.route_practice_command(turn, "praktijk")
    assert practices.route_practice_command(turn, "Practice")
    assert practices.route_practice_command(turn, "praktijk delen  Buurtbudgetten in Gent")
    assert not practices.route_practice_command(turn, "praktijk rond leegstandsheffing?")  # a question: searched
    assert not practices.route_practice_command(turn, "wie weet iets over praktijken?")
    assert opened == [{}, {}, {"title": "Buurtbudgetten in Gent"}]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_stored_text_longer_than_the_form_is_left_out_never_cut_and_kept(lang: str) -> None:
    long_lessons = "Begeleiding van de eerste gesprekken is nodig. " * 80  # over 3,000 characters
    values = {"title": "Kangoeroewonen", "summary": "Kort.", "lessons": long_lessons}
    view = build_practice_modal(lang, values=values, themes=THEMES, practice_id=7).to_dict()
    text = json.dumps(view, ensure_ascii=False)
    assert ids.practice_input("lessons") not in text and ids.practice_input("summary") in text
    assert format_number(len(long_lessons.strip()), lang) in text and "wieweet import practices" in text
    assert {"nl": "3.759", "en": "3,759"}[lang] in text  # grouped as the reader's language does
    metadata = json.loads(view["private_metadata"])
    assert metadata["keep"] == ["lessons"] and metadata["practice_id"] == 7
    # submitted: the left-out field is not in the values (the service keeps it); unknown names in keep are ignored
    state = {ids.practice_block("title"): {ids.practice_input("title"): {"type": "plain_text_input", "value": "K"}}}
    forged = {**metadata, "keep": ["lessons", "owner", 3]}
    body = {"view": {"private_metadata": json.dumps(forged), "state": {"values": state}}}
    form = PracticeForm.parse(body)
    assert form.keep == {"lessons"} and "lessons" not in form.values and form.values["title"] == "K"
    # a new practice (nothing stored) is pre-filled as before, up to what the input takes
    new = json.dumps(build_practice_modal(lang, values=values, themes=THEMES, practice_id=None).to_dict())
    assert ids.practice_input("lessons") in new and "keep" not in json.loads(json.loads(new)["private_metadata"])


def test_a_required_field_left_out_as_too_long_does_not_block_saving_the_rest() -> None:
    """The summary is required and an import may store more than a form takes: left out of the edit form (kept as
    stored), the check before the ack must not call it missing, or nothing else of that practice could be changed."""
    long_summary = "Vrijwilligers vangen zwerfkatten en de stad betaalt. " * 70  # over 3,000 characters
    values = {"title": "Zwerfkatten", "summary": long_summary}
    view = build_practice_modal("nl", values=values, themes=THEMES, practice_id=7).to_dict()
    assert json.loads(view["private_metadata"])["keep"] == ["summary"]
    typed = {"title": "Zwerfkatten", "city": "Gent"}
    state = {
        ids.practice_block(k): {ids.practice_input(k): {"type": "plain_text_input", "value": v}}
        for k, v in typed.items()
    }
    form = PracticeForm.parse({"view": {"private_metadata": view["private_metadata"], "state": {"values": state}}})
    from handlers.practices import check_practice_form  # noqa: PLC0415

    draft = Draft(lang="nl", today=date(2026, 12, 5), user_id="U1")
    assert check_practice_form(form, draft) == {}
    # a new practice (nothing kept) still needs its summary
    fresh = PracticeForm.parse({"view": {"private_metadata": json.dumps({}), "state": {"values": state}}})
    assert ids.practice_block("summary") in check_practice_form(fresh, draft)


def _practice_form(typed: dict[str, str], metadata: dict[str, object]) -> PracticeForm:
    state = {
        ids.practice_block(k): {ids.practice_input(k): {"type": "plain_text_input", "value": v}}
        for k, v in typed.items()
    }
    return PracticeForm.parse({"view": {"private_metadata": json.dumps(metadata), "state": {"values": state}}})


@pytest.mark.parametrize(
    ("url", "nl", "en"),
    [
        ("http://intranet.local/x", "moet beginnen met https://", "must start with https://"),
        ("https://gent.be@evil.example/x", "naam of wachtwoord", "name or password"),
    ],
)
def test_the_practice_and_notes_modals_refuse_unsafe_links(url: str, nl: str, en: str) -> None:
    """Before the ack, in the user's language, under the link field alone: the modal stays open with what they typed."""
    from handlers.needs import check_done_form  # noqa: PLC0415
    from handlers.practices import check_practice_form  # noqa: PLC0415

    typed = {"title": "Zwerfkatten", "summary": "Vrijwilligers vangen zwerfkatten.", "url": url}
    for lang, text in (("nl", nl), ("en", en)):
        draft = Draft(lang=lang, today=date(2026, 12, 5), user_id="U1")
        errors = check_practice_form(_practice_form(typed, {}), draft)
        assert list(errors) == [ids.practice_block("url")] and text in errors[ids.practice_block("url")]
        done = NeedsDoneForm(proposal_id=3, notes_url=url, summary="")
        errors = check_done_form(done, draft)
        assert list(errors) == [ids.BLOCK_NEEDS_NOTES] and text in errors[ids.BLOCK_NEEDS_NOTES]


def test_editing_leaves_a_stored_http_link_to_the_service() -> None:
    """An http link stored before https was required may stay when a practice is edited: the check before the ack
    cannot know the stored link, so it lets plain http through for an edit (the service decides); a user name never."""
    from handlers.practices import check_practice_form  # noqa: PLC0415

    draft = Draft(lang="nl", today=date(2026, 12, 5), user_id="U1")
    typed = {"title": "Zwerfkatten", "summary": "Vrijwilligers vangen zwerfkatten.", "url": "http://gent.be/x"}
    assert check_practice_form(_practice_form(typed, {"practice_id": 7}), draft) == {}
    tricked = {**typed, "url": "http://gent.be@evil.example/x"}
    assert ids.practice_block("url") in check_practice_form(_practice_form(tricked, {"practice_id": 7}), draft)


def test_approve_and_reject_carry_the_version_shown() -> None:
    payload = review({**PAYLOAD, "version": "0123456789abcdef"})
    for blocks in (build_practice_review(payload, "nl").blocks, build_practice_card(payload, "nl")):
        buttons = {
            e["action_id"]: e["value"] for b in blocks for e in b.to_dict().get("elements", []) if "action_id" in e
        }
        assert buttons[ids.ACTION_PRACTICE_APPROVE] == buttons[ids.ACTION_PRACTICE_REJECT] == "7:0123456789abcdef"
        assert buttons[ids.ACTION_PRACTICE_EDIT] == "7"
