"""Typo repair leaves real words alone (#13): a word the register lacks is a gap, not a typo.

Repairing a real word to a register word invents a match — "lichtvervuiling" answered with an air-quality
expert, "werving" with one who knows about "werking" — and the reason then presents the invention as evidence.
"""

from __future__ import annotations

import pytest

from bot.matching import Matcher
from bot.matching.documents import ExpertDoc, PlaceDoc
from bot.matching.query import REAL_WORD_CONTEXT
from bot.matching.wordlist import common_words, in_a_list, is_real_word, real_compound, related_form

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert

pytestmark = pytest.mark.skipif(not common_words(), reason="pyspellchecker not installed: no word lists")

# real words of the issue, each one edit or two from a register word it is not
REAL_WORDS = {
    "lichtvervuiling": "luchtvervuiling",
    "werving": "werking",
    "buurtwegen": "buurtwerk",
    "keuren": "keren",
    "stadsbos": "stadsbussen",
    "archivering": "activering",
}
# typos of register words, none of them a word of any language
TYPOS = {
    "luchtvervuilng": "luchtvervuiling",
    "wijkwerkng": "wijkwerking",
    "activerng": "activering",
    "stadsbusen": "stadsbussen",
}


def _register() -> Matcher:
    extra: list[ExpertDoc] = [
        expert(60, "Lucas", city="Gent", expertise=("luchtvervuiling", "luchtkwaliteit")),
        expert(61, "Wendy", city="Brugge", expertise=("werking van het OCMW",)),
        expert(62, "Bart", city="Kortrijk", expertise=("buurtwerk",)),
        expert(63, "Kim", city="Ronse", expertise=("het tij keren",)),
        expert(64, "Stan", city="Brugge", expertise=("stadsbussen",)),
        expert(65, "Ada", city="Kortrijk", expertise=("activering", "opmaak van de begroting")),
        expert(66, "Dirk", city="Brugge", expertise=("ontharding van pleinen",)),
    ]
    m = Matcher(themes=THEMES, places=[*PLACES, PlaceDoc("Ronse", "city", ())])
    m.build(experts=[*EXPERTS, *extra], practices=PRACTICES, answers=ANSWERS)
    return m


@pytest.fixture(scope="module")
def register() -> Matcher:
    return _register()


class TestWhatIsAWord:
    @pytest.mark.parametrize("word", sorted(REAL_WORDS))
    def test_real_words_of_any_frequency(self, word: str) -> None:
        assert is_real_word(word)

    @pytest.mark.parametrize("word", sorted(TYPOS))
    def test_typos_are_no_words(self, word: str) -> None:
        assert not is_real_word(word)

    def test_a_compound_of_common_words_is_real(self) -> None:
        # in no list as a whole, but every part is a common Dutch word
        assert real_compound("lichtvervuilingsnormen") == ("licht", "vervuiling", "normen")
        assert is_real_word("lichtvervuilingsnormen")
        assert not is_real_word("lichtvervuilngsnormen")  # one part is no word

    def test_short_rare_words_are_not_trusted(self) -> None:
        # a 5-letter word seen rarely is as likely a typo: the lists hold such noise ("frist" for "first")
        assert not is_real_word("frist")

    @pytest.mark.parametrize(
        ("word", "other"),
        [
            ("digitaliseren", "digitalisering"),
            ("aanpakt", "aanpak"),
            ("subsides", "subsidies"),
            ("uitleggen", "uitleg"),
            ("ziekenhuizen", "ziekenhuis"),
        ],
    )
    def test_related_forms(self, word: str, other: str) -> None:
        assert related_form(word, other)

    @pytest.mark.parametrize(
        ("word", "other"),
        [*REAL_WORDS.items(), ("verdringen", "verdrinken"), ("inrichten", "inzichten"), ("verlengen", "vervangen")],
    )
    def test_different_words_are_no_related_forms(self, word: str, other: str) -> None:
        assert not related_form(word, other)


class TestRepair:
    @pytest.mark.parametrize(("word", "wrong"), sorted(REAL_WORDS.items()))
    def test_real_words_are_left_alone(self, register: Matcher, word: str, wrong: str) -> None:
        # the register does hold a word within reach (an edit or a shared beginning) ...
        assert wrong in (register._repair(word), register._cognate(word))
        assert register.analyse(f"wie weet iets over {word}?").repairs == ()  # ... and it is not used

    @pytest.mark.parametrize(("typo", "fixed"), sorted(TYPOS.items()))
    def test_typos_are_still_repaired(self, register: Matcher, typo: str, fixed: str) -> None:
        assert register.analyse(f"wie weet iets over {typo}?").repairs == ((typo, fixed),)

    def test_a_real_word_meets_another_form_of_itself(self, register: Matcher) -> None:
        pq = register.analyse("wie weet hoe je een begroting opmaakt?")
        assert pq.repairs == (("opmaakt", "opmaak"),)
        assert pq.cognates == frozenset({"opmaakt"})  # shown as "≈", not as a typo
        r = register.search("wie weet hoe je een begroting opmaakt?", today=TODAY)
        assert r.experts[0].doc.name == "Ada"
        assert "cognate" in [x.kind for x in r.experts[0].reasons]
        assert "typo" not in [x.kind for x in r.experts[0].reasons]


class TestContext:
    """A real word can still be a typo — one the rest of the question gives away: "ontharing pleinen" (squares
    are unsealed, not depilated). The repair is made only when another word of the question keeps company with the
    repaired word in the register."""

    def test_the_question_vouches_for_the_repair(self, register: Matcher) -> None:
        assert register.analyse("ontharing van pleinen").repairs == (("ontharing", "ontharding"),)
        r = register.search("ontharing van pleinen", today=TODAY)
        assert r.experts[0].doc.name == "Dirk"
        assert "typo: ontharing → ontharding" in [x.render("en") for x in r.experts[0].reasons]

    def test_alone_a_real_word_stays_itself(self, register: Matcher) -> None:
        assert register.analyse("ontharing").repairs == ()

    def test_a_word_from_elsewhere_in_the_register_does_not_vouch(self, register: Matcher) -> None:
        # Lucas knows about luchtvervuiling, nobody about straatverlichting with it
        assert register.analyse("lichtvervuiling door straatverlichting").repairs == ()

    def test_a_place_does_not_vouch(self, register: Matcher) -> None:
        # Kim, the only expert of Ronse, knows how to "keren"; "Ronse" says nothing about what "keuren" means
        assert register.analyse("voedsel keuren in Ronse").repairs == ()
        assert register.analyse("keuren in Ronse").repairs == ()


class TestReasons:
    @pytest.mark.parametrize(
        "query",
        [
            "lichtvervuiling door straatverlichting",
            "wie kent iets van werving?",
            "buurtwegen herstellen",
            "voedsel keuren",
            "een stadsbos aanleggen",
            "archivering van e-mails",
        ],
    )
    def test_no_reason_names_a_repair_of_a_real_word(self, register: Matcher, query: str) -> None:
        r = register.search(query, today=TODAY)
        hits = [*r.experts, *r.practices, *r.answers]
        for hit in hits:
            for reason in hit.reasons:
                assert reason.kind != "typo", (hit.doc.name, reason)
                assert reason.target not in REAL_WORDS.values(), (hit.doc.name, reason)
        names = [h.doc.name for h in r.experts]
        assert not {"Lucas", "Wendy", "Bart", "Kim", "Stan", "Ada"} & set(names[:1])

    def test_a_typo_still_says_so(self, register: Matcher) -> None:
        r = register.search("luchtvervuilng", today=TODAY)
        assert r.experts[0].doc.name == "Lucas"
        assert r.experts[0].reasons[0].render("en") == "typo: luchtvervuilng → luchtvervuiling"


def _with(extra: list[ExpertDoc]) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=[*EXPERTS, *extra], practices=PRACTICES, answers=ANSWERS)
    return m


@pytest.fixture(scope="module")
def generic() -> Matcher:
    """The small register with experts whose only link to the questions below is a generic word."""
    return _with(
        [
            expert(70, "Walter", city="Gent", expertise=("samen werken met scholen",), bio="Werken in de wijk."),
            expert(71, "Paula", city="Gent", expertise=("programma van de stad",), role="programmaleider"),
        ]
    )


class TestNoRepairIntoAGenericWord:
    """A typo is never repaired into a generic word (#13): "weren" (to keep out) read as a typo of "werken" made
    "werken" the reason an expert matched, yet "werken" says nothing about a topic. The word stays as typed."""

    @pytest.mark.parametrize(
        ("query", "typed", "generic_word"),
        [
            ("autoverkeer uit het centrum weren", "weren", "werken"),  # a typo repair (the dev review's case)
            ("wie weet hoe je huisjesmelkerij juridisch aanpakt?", "aanpakt", "aanpak"),  # another form of a word
            ("Who knows about cost-benefit analysis for city programmes?", "programmes", "programma"),  # a cognate
        ],
    )
    def test_the_word_stays_as_typed(self, generic: Matcher, query: str, typed: str, generic_word: str) -> None:
        # the register does offer the generic word as the repair, and it is generic ...
        assert generic_word in (generic._repair(typed), generic._cognate(typed))
        assert generic._generic(generic._stem(generic_word))
        pq = generic.analyse(query)
        assert typed not in dict(pq.repairs)  # ... and it is not used: no repair, the word as typed
        assert typed in [g.word for g in pq.groups]

    @pytest.mark.parametrize(
        ("query", "generic_word"),
        [("autoverkeer uit het centrum weren", "werken"), ("analysis for city programmes", "programma")],
    )
    def test_no_reason_names_the_generic_word(self, generic: Matcher, query: str, generic_word: str) -> None:
        r = generic.search(query, today=TODAY)
        for hit in [*r.experts, *r.practices, *r.answers]:
            for reason in hit.reasons:
                assert reason.kind not in ("typo", "cognate"), (hit.doc.name, reason)
                assert reason.target != generic_word, (hit.doc.name, reason)
        assert "Walter" not in [h.doc.name for h in r.experts]
        assert "Paula" not in [h.doc.name for h in r.experts]

    def test_generic_by_document_share(self) -> None:
        # "dossieropvolging" is no shipped generic word, but a third of the experts list it: it tells none apart
        many = [
            expert(100 + i, f"Person{i}", city="Gent", expertise=("dossieropvolging", f"onderwerp{i}"))
            for i in range(24)
        ]
        m = _with(many)
        assert not m._generic(m._stem("zwerfvuil"))
        assert m._generic(m._stem("dossieropvolging"))
        assert m._repair("dossieropvolgng") == "dossieropvolging"
        pq = m.analyse("wie weet iets over dossieropvolgng?")
        assert pq.repairs == ()
        assert [g.word for g in pq.groups] == ["dossieropvolgng"]

    def test_a_typo_of_a_specific_word_is_still_repaired(self, generic: Matcher) -> None:
        assert generic.analyse("wie weet iets over wijkwerkng?").repairs == (("wijkwerkng", "wijkwerking"),)


@pytest.fixture(scope="module")
def rare() -> Matcher:
    """Register words one edit from short or rare listed words, a person whose bio opens with her name, and a
    common word that a rare one keeps company with in one document only."""
    return _with(
        [
            expert(80, "Lotte", city="Gent", expertise=("aantal inwoners tellen",)),
            expert(81, "Mona", city="Gent", expertise=("hoeveel een dossier weegt",)),
            expert(82, "Jolien Smets", city="Gent", bio="Jolien ondersteunt gemeenten bij het klimaatplan."),
            expert(83, "Hugo", city="Gent", expertise=("housing first", "dakloosheid")),
            *[expert(84 + i, f"Agent{i}", city="Gent", expertise=("afspraak", f"loket{i}")) for i in range(3)],
            expert(87, "Rik", city="Gent", expertise=("afspraak", "bereik van kwetsbare gezinnen")),
        ]
    )


class TestShortOrRareListedWords:
    """A word in a language's list at all, however short or rare, may be real (#13): the dev sets read "aanval"
    (ransomware attack) as "aantal", "weert" as "weegt", "maires" as "aires", "pacht" as "acht". Such a word is
    repaired only when the rest of the question vouches for it, like any real word."""

    @pytest.mark.parametrize("word", ["aanval", "weert", "pacht", "leasen", "maires", "unief", "frist"])
    def test_in_a_list_though_not_trusted_on_its_own(self, word: str) -> None:
        assert not is_real_word(word)  # short and seen rarely: as likely noise of the lists as a word ...
        assert in_a_list(word)  # ... but listed, so possibly real

    @pytest.mark.parametrize("word", ["wijkwerkng", "padel", "eolien"])
    def test_no_list_holds_a_typo(self, word: str) -> None:
        assert not in_a_list(word)

    @pytest.mark.parametrize(
        ("query", "typed", "wrong"),
        [
            ("Onze stad werd getroffen door een ransomware-aanval", "aanval", "aantal"),
            ("hoe je vervuilende wagens uit het centrum weert", "weert", "weegt"),
        ],
    )
    def test_left_alone_without_context(self, rare: Matcher, query: str, typed: str, wrong: str) -> None:
        assert rare._repair(typed) == wrong  # the register does offer the repair ...
        assert rare.analyse(query).repairs == ()  # ... and it is not used

    def test_still_repaired_when_the_question_vouches(self, rare: Matcher) -> None:
        # "frist" is listed (noise of the Dutch list), but "housing" keeps company with "first"
        assert rare.analyse("housing frist").repairs == (("frist", "first"),)


class TestNoRepairIntoAName:
    """A repair never lands on a person's name: "l'éolien en mer" was read as a typo of "Jolien", whose bio starts
    with her name, and "typo: eolien → jolien" shown as a reason."""

    def test_a_name_is_no_repair(self, rare: Matcher) -> None:
        assert "jolien" in rare._surface_df  # the bio's first word is in the vocabulary ...
        assert rare._repair("eolien") is None  # ... but no repair lands on it
        assert rare.analyse("wie werkte aan het eolien park?").repairs == ()

    def test_a_name_added_later(self) -> None:
        m = _with([])
        m.upsert_expert(expert(90, "Jolien Smets", city="Gent", bio="Jolien ondersteunt gemeenten."))
        assert m._repair("eolien") is None
        m.remove_expert(90)
        m.upsert_expert(expert(91, "Ria", city="Gent", bio="Over jolien, het nieuwe ras van kippen."))
        assert m._repair("eolien") == "jolien"  # no longer anyone's name: the word is the register's own


class TestWeakVouching:
    """A word vouches for a repair only when the two keep company: each in at least ``REAL_WORD_CONTEXT`` of the
    other's documents. "bereik", in one of the four documents of "afspraak", made "aanspraak" read as "afspraak"
    (Dice 2 · 1 / (1 + 4) = 0.4)."""

    def test_a_rare_word_in_one_of_many_documents_does_not_vouch(self, rare: Matcher) -> None:
        assert rare._repair("aanspraak") == "afspraak"
        assert rare._overlap(rare._stem("afspraak"), rare._stem("bereik")) < REAL_WORD_CONTEXT  # 1 of 4
        assert rare.analyse("bereik en aanspraak").repairs == ()

    def test_company_kept_both_ways_still_vouches(self, rare: Matcher) -> None:
        assert rare.analyse("ontharing van pleinen").repairs == ()  # nobody here knows "ontharding"
        m = _register()
        assert m.analyse("ontharing van pleinen").repairs == (("ontharing", "ontharding"),)
