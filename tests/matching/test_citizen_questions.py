"""Citizen questions against answer prose: how a short question in the first person meets a long answer."""

from __future__ import annotations

from bot.matching import MatchConfig, Matcher
from bot.matching.analysis import question_topic
from bot.matching.documents import PracticeDoc
from bot.matching.wordlist import verb_forms

from .conftest import EXPERTS, PLACES, THEMES, TODAY

# two answers about reports ("melding"): one says what you get, in the second person ("je krijgt"), the other only
# mentions reports, more often and in its title
ANSWERS_PROSE = [
    PracticeDoc(
        501,
        "Containers in de straat",
        "Je krijgt een melding in de app zodra de container in je straat vol is. We help je graag.",
        tags=("afval",),
    ),
    PracticeDoc(
        502,
        "Melding over afval",
        "Een melding over afval maak je in de app. Elke melding gaat naar de wijkploeg.",
        tags=("afval",),
    ),
]


def build(config: MatchConfig | None = None) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=config)
    m.build(experts=EXPERTS, practices=ANSWERS_PROSE, answers=[])
    return m


class TestVerbForms:
    def test_first_and_second_person_forms_are_paired(self) -> None:
        assert verb_forms("krijg") == ("krijgt",)
        assert verb_forms("krijgt") == ("krijg",)
        assert verb_forms("verwijder") == ("verwijdert",)
        assert verb_forms("stuurt") == ("stuur",)  # infinitive "sturen": a long vowel written once

    def test_nouns_ending_in_t_are_left_alone(self) -> None:
        for noun in ("kaart", "markt", "punt", "recht", "dienst", "beleid"):
            assert verb_forms(noun) == (), noun

    def test_question_in_the_first_person_finds_the_answer_in_the_second(self) -> None:
        q = "Wanneer krijg ik een melding?"
        with_forms = build().search(q, today=TODAY)
        assert with_forms.practices[0].doc.id == 501
        reasons = {(r.term, r.kind) for r in with_forms.practices[0].reasons}
        assert ("krijgt", "stem") in reasons  # shown as another form of the question's word
        without = build(MatchConfig(verb_form_weight=0.0)).search(q, today=TODAY)
        assert without.practices[0].doc.id == 502

    def test_a_question_word_that_only_frames_is_not_brought_in(self) -> None:
        # "helpt" ~ "help" (in the register): "help" is a question-only word (query_stopwords), never a topic
        groups = build()._parser.parse("hoe helpt de app").groups
        assert all(v.terms != ("help",) for g in groups for v in g.variants)


class TestCitizenFraming:
    def test_what_the_asker_wants_to_know_is_framing(self) -> None:
        cases = {
            "Wat betekent dat voor mijn parkeervergunning?": "parkeervergunning",
            "Wat gebeurt er met mijn gegevens?": "gegevens",
            "Hoe zit het met de huurtoeslag?": "huurtoeslag",
            "Klopt het dat de afvalbelasting stijgt?": "afvalbelasting stijgt",
            "Het lukt me niet de aangifte te versturen. Wat gaat er mis?": "aangifte te versturen",
            "Waar kan ik terecht met klachten?": "klachten",
            "Hoe ziet de nieuwe wijk eruit?": "nieuwe wijk",
        }
        for question, topic in cases.items():
            assert question_topic(question) == topic, question

    def test_framing_words_found_in_answer_prose_do_not_rank(self) -> None:
        # the first answer happens to say "betekent"; the question asks what something means for a parking permit
        practices = [
            PracticeDoc(
                601, "Rood scherm bij de controle", "Een rood scherm betekent dat de parkeervergunning ongeldig is."
            ),
            PracticeDoc(
                602,
                "Parkeervergunning voor bewoners",
                "Bewoners vragen een parkeervergunning aan bij de stad; de parkeervergunning geldt voor de eigen wijk.",
            ),
        ]
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=EXPERTS, practices=practices, answers=[])
        r = m.search("Wat betekent de nieuwe regeling voor mijn parkeervergunning?", today=TODAY)
        assert "betekent" not in r.terms
        assert r.practices[0].doc.id == 602


# an answer register in which nearly every answer says "app"
PLACE_NAMES = ("Noord", "Zuid", "Oost", "West", "Centrum", "Haven", "Station", "Markt", "Kerk", "School")
FILLER = [
    PracticeDoc(700 + i, f"De app in de wijk {name} {part}", f"De app van de stad toont het nieuws van {name}.")
    for i, (name, part) in enumerate((n, p) for n in PLACE_NAMES for p in ("noord", "zuid"))
]
# one answer says "app" and, in passing, "verwijderen"; the other is about deleting (without "app")
WEAK = PracticeDoc(
    801,
    "Nieuws in de app",
    "De app toont nieuws over de wijk; berichten verwijderen kan in de instellingen van de telefoon.",
)
STRONG = PracticeDoc(802, "Gegevens wissen", "Je gegevens verwijderen kan met het formulier van de stad.")


class TestCommonConcepts:
    def test_a_word_nearly_every_answer_has_does_not_count_for_coverage(self) -> None:
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=EXPERTS, practices=[*FILLER, WEAK, STRONG], answers=[])
        parsed = m.analyse("Hoe kan ik de app verwijderen?")
        assert m._common_concepts(m._kinds["practice"], parsed.groups) == 0b01  # "app", the first concept
        assert m.search("Hoe kan ik de app verwijderen?", today=TODAY).practices[0].doc.id == 802
        m._common_concepts = lambda *_: 0  # type: ignore[method-assign]  # "app" counted like any other word
        assert m.search("Hoe kan ik de app verwijderen?", today=TODAY).practices[0].doc.id == 801
