"""Citizen questions against answer prose: how a short question in the first person meets a long answer."""

from __future__ import annotations

from bot.matching import MatchConfig, Matcher
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
