"""What a typo may be repaired into (#13: reasons people trust): a repair shows as evidence ("typo: x → y"), so its
target must be a word of the register that names a topic on its own — no word a keyboard slip cannot explain, no
person's name and no mere word of a multi-word phrase the question does not hold."""

from __future__ import annotations

import pytest

from bot.matching import Matcher
from bot.matching.documents import AnswerDoc, ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc
from bot.matching.keyboard import keyboard_slip
from bot.matching.wordlist import common_words, in_a_list

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert

pytestmark = pytest.mark.skipif(not common_words(), reason="pyspellchecker not installed: no word lists")

AGENCY = "Agentschap Binnenlands Bestuur"


def _matcher(
    extra: list[ExpertDoc], practices: list[PracticeDoc] | None = None, answers: list[AnswerDoc] | None = None
) -> Matcher:
    m = Matcher(themes=THEMES, places=[*PLACES, PlaceDoc(AGENCY, "organisation", ())])
    m.build(
        experts=[*EXPERTS, *extra], practices=[*PRACTICES, *(practices or [])], answers=[*ANSWERS, *(answers or [])]
    )
    return m


def _reason_targets(m: Matcher, query: str) -> set[str]:
    """What the reasons of every result for ``query`` name."""
    r = m.search(query, today=TODAY)
    reasons = [x for h in r.experts for x in h.reasons] + [x for h in r.practices for x in h.reasons]
    return {x.target for x in reasons + [x for h in r.answers for x in h.reasons]}


@pytest.fixture(scope="module")
def register() -> Matcher:
    return _matcher(
        [
            expert(100, "Pim", city="Gent", expertise=("een panel van burgers", "loting")),
            expert(101, "Hugo", city="Gent", expertise=("housing first", "dakloosheid")),
            expert(102, "Vera", city="Gent", expertise=("sociaal verhuurkantoor",)),
            expert(103, "Bas", city="Gent", organisation=AGENCY, expertise=("toezicht op lokale besturen",)),
        ]
    )


class TestKeyboardSlips:
    """A short word no list holds that is one letter away from a register word is read as a typo only when a slip
    explains it: "padel" (d for n: far apart on every keyboard, nor alike in sound) is a sport, not a "panel"."""

    @pytest.mark.parametrize(
        ("typed", "meant"),
        [
            ("pamel", "panel"),  # m next to n
            ("wonrn", "wonen"),  # r next to e
            ("beleit", "beleid"),  # d and t sound alike
            ("pleen", "plein"),  # two vowels
            ("pnael", "panel"),  # two letters swapped
            ("panl", "panel"),  # a letter left out
            ("panell", "panel"),  # a letter added
        ],
    )
    def test_slips(self, typed: str, meant: str) -> None:
        assert keyboard_slip(typed, meant)

    @pytest.mark.parametrize(("typed", "other"), [("padel", "panel"), ("marst", "markt")])
    def test_no_slip(self, typed: str, other: str) -> None:
        assert not keyboard_slip(typed, other)

    def test_padel_is_no_panel(self, register: Matcher) -> None:
        assert not in_a_list("padel")  # no list holds it: nothing in the word itself tells it from a typo
        assert register._repair("padel") == "panel"  # the register does offer the repair ...
        pq = register.analyse("Wie speelt er mee padel na het werk?")
        assert pq.repairs == ()  # ... but it is not made
        assert "padel" in [g.word for g in pq.groups]

    def test_a_slip_of_a_short_word_is_still_repaired(self, register: Matcher) -> None:
        assert register.analyse("wie zat in het pnael?").repairs == (("pnael", "panel"),)

    def test_the_question_can_vouch_for_it(self, register: Matcher) -> None:
        # "loting" keeps company with "panel" in the register: the asker most likely meant the panel
        assert register.analyse("padel en loting").repairs == (("padel", "panel"),)

    def test_no_reason_says_panel(self, register: Matcher) -> None:
        assert "panel" not in _reason_targets(register, "Wie speelt er mee padel na het werk?")


class TestNoRepairIntoAnyonesName:
    """Not only experts' names: the people who answered earlier questions and practices' contacts are named in
    texts too ("Jolien: wij werken met …"), and no repair lands on their names either."""

    def test_the_name_of_who_answered(self) -> None:
        answer = AnswerDoc(
            10, "Hoe start je een energiecoöperatie?", "Jolien: wij begonnen met een buurtvergadering.", answered_by=""
        )
        m = _matcher([], answers=[answer])
        assert m._repair("eolien") == "jolien"  # nobody's name as far as the register knows: the answer's word
        named = AnswerDoc(11, answer.question, answer.answer, answered_by="Jolien Smets")
        m = _matcher([], answers=[named])
        assert m._repair("eolien") is None
        assert m.analyse("wie weet iets over eolien parken?").repairs == ()

    def test_an_answerer_known_by_address_only(self) -> None:
        # the demo import records an answerer who is in no register by their e-mail address
        answer = AnswerDoc(12, "Windturbines?", "Groeten, Jolien", answered_by="jolien.smets@gent.be")
        m = _matcher([], answers=[answer])
        assert m._repair("eolien") is None

    def test_a_practice_contact(self) -> None:
        practice = PracticeDoc(
            10, "Warmtenet", "Vraag meer aan Marijke Peeters.", city="Gent", contact_email="marijke.peeters@gent.be"
        )
        m = _matcher([], practices=[practice])
        assert m._repair("peeterz") is None
        m.remove_practice(10)
        m.upsert_practice(PracticeDoc(11, "Warmtenet", "Peeters is een merk van warmtepompen.", city="Gent"))
        assert m._repair("peeterz") == "peeters"  # no longer anyone's name

    def test_a_shared_mailbox_names_nobody(self) -> None:
        # the demo register's practices have topic mailboxes: "wijkwerkng" is still a typo of "wijkwerking"
        practice = PracticeDoc(
            12, "Wijkwerking", "Wijkwerking in elke wijk.", city="Gent", contact_email="wijkwerking@gent.be"
        )
        m = _matcher([], practices=[practice])
        assert "wijkwerking" not in m._name_words
        assert m._repair("wijkwerkng") == "wijkwerking"

    def test_a_two_word_topic_mailbox_names_nobody(self) -> None:
        # "ruimtelijke ordening" is a glossary entry: a mailbox named after it names no person
        practice = PracticeDoc(
            13, "Omgevingsloket", "Vergunningen.", city="Gent", contact_email="ruimtelijke.ordening@stad.be"
        )
        m = _matcher([], practices=[practice])
        assert "ordening" in m._name_words  # two words, like a person's address ...
        assert m._repair("ordenning") == "ordening"  # ... but a concept of the register

    def test_an_info_mailbox_on_a_tag(self) -> None:
        practice = PracticeDoc(
            14,
            "Klimaatplan",
            "Een plan voor de stad.",
            city="Gent",
            tags=("duurzaamheid",),
            contact_email="info.duurzaamheid@gent.be",
        )
        m = _matcher([], practices=[practice])
        assert m._repair("duurzaamhied") == "duurzaamheid"

    def test_a_concept_that_leaves_the_register(self) -> None:
        # the tag made "bijenkast" a concept; without it the address is a person's again (counts follow upserts)
        answer = AnswerDoc(15, "Wie ruimt op?", "Dat doen wij.", answered_by="anna.bijenkast@gent.be")
        tagged = PracticeDoc(16, "Opruimactie", "Samen opruimen.", city="Gent", tags=("bijenkast",))
        m = _matcher([], practices=[tagged], answers=[answer])
        assert m._repair("bijenkats") == "bijenkast"
        m.upsert_practice(PracticeDoc(16, "Opruimactie", "Samen een bijenkast bouwen.", city="Gent"))
        assert m._repair("bijenkats") is None
        m.set_themes([*THEMES, ThemeDoc("imkerij", "Bijenkast en imkerij", "Beehives", ())])
        assert m._repair("bijenkats") == "bijenkast"

    def test_a_team_that_answered(self) -> None:
        # "wonen" is a theme: "Team Wonen" is a team named after its topic, no person
        answer = AnswerDoc(13, "Wie kent woonbeleid?", "Wij helpen met wonen in de stad.", answered_by="Team Wonen")
        m = _matcher([], answers=[answer])
        assert "wonen" in m._name_words
        assert m._repair("wnoen") == "wonen"

    def test_a_personal_address_stays_protected(self) -> None:
        # a first name or surname is no concept of the register: still a person's
        practice = PracticeDoc(
            15, "Windpark", "Jolien leidt het project.", city="Gent", contact_email="jolien.claes@gent.be"
        )
        m = _matcher([], practices=[practice])
        assert m._repair("eolien") is None
        assert m._repair("claez") is None
        answer = AnswerDoc(14, "Windturbines?", "Groeten, Jolien", answered_by="Jolien Smets")
        m = _matcher([], answers=[answer])
        assert m._repair("eolien") is None

    def test_a_concept_word_in_an_experts_name_field_is_still_a_name(self) -> None:
        # "Wonen" as an expert's surname (name field) stays protected, concept or not
        m = _matcher([expert(120, "Ria Wonen", city="Gent", expertise=("fietsbeleid",))])
        assert m._repair("wnoen") is None


class TestNoRepairIntoAFragment:
    """A word the register has only inside a multi-word phrase (a glossary entry, a theme's or a place's name) is no
    evidence on its own: "first" of "Housing First" says nothing about first aid, "aanleg" (in no document, only in
    the glossary's "bijzonder plan van aanleg") would only borrow the phrase's synonyms, and a word of an
    organisation's name names no topic. A typo is repaired onto such a word only where the question holds the
    rest of the phrase."""

    def test_first_of_housing_first(self, register: Matcher) -> None:
        assert register._repair("firts") == "first"  # the register offers the repair ...
        assert register.analyse("wie weet iets over firts aid?").repairs == ()  # ... without its phrase: not made
        assert register.analyse("wie weet iets over housing firts?").repairs == (("firts", "first"),)

    def test_no_reason_says_first(self, register: Matcher) -> None:
        assert "first" not in _reason_targets(register, "wie weet iets over firts aid?")

    def test_a_glossary_word_no_document_holds(self, register: Matcher) -> None:
        assert "aanleg" not in register._surface_df and register._repair("aanlge") == "aanleg"
        assert register.analyse("de aanlge van fietspaden").repairs == ()
        assert register.analyse("een bijzonder plan van aanlge").repairs == (("aanlge", "aanleg"),)

    def test_the_phrase_in_another_form(self, register: Matcher) -> None:
        # plural and feminine forms of the phrase's other words still make it whole
        pq = register.analyse("wie kent de housings firts?")
        assert pq.repairs == (("firts", "first"),)

    def test_a_word_of_an_organisations_name(self, register: Matcher) -> None:
        assert register._repair("binnenlnds") == "binnenlands"
        assert register.analyse("binnenlnds toezicht").repairs == ()

    def test_a_rare_word_names_its_topic(self, register: Matcher) -> None:
        # "verhuurkantoor" is in the register only in "sociaal verhuurkantoor", but a rare word means the same alone
        assert register.analyse("wie kent het verhuurkamtoor?").repairs == (("verhuurkamtoor", "verhuurkantoor"),)
