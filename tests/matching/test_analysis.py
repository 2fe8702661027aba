"""Text analysis: folding, tokens, stop words, framing, stemming, compounds."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching import analysis
from bot.matching.analysis import (
    CompoundSplitter,
    Stemmer,
    _framing_mask,
    _framing_patterns,
    _match_starts,
    fold,
    load_list,
    query_stopwords,
    question_topic,
    stopwords,
    strip_framing,
    tokenize,
    words,
)
from bot.matching.terms import Analyzer


def _content(query: str) -> list[str]:
    qstop = query_stopwords()
    return [t for t in strip_framing(words(query)) if t not in qstop]


class TestFolding:
    @pytest.mark.parametrize(
        ("raw", "folded"),
        [
            ("Financiën", "financien"),
            ("CAFÉ", "cafe"),
            ("ĳzer", "ijzer"),
            ("cœur", "coeur"),
            ("Straße", "strasse"),
            ("ﬁets", "fiets"),  # ligature
            ("Ｇｅｎｔ", "gent"),  # full-width
        ],
    )
    def test_fold(self, raw: str, folded: str) -> None:
        assert fold(raw) == folded

    def test_fold_drops_lone_surrogates(self) -> None:
        assert fold("a\ud800b") == "ab"

    def test_tokenize_splits_on_punctuation_and_hyphens(self) -> None:
        assert tokenize(fold("Sint-Niklaas: publiek-publieke samenwerking (PPS)!")) == [
            "sint",
            "niklaas",
            "publiek",
            "publieke",
            "samenwerking",
            "pps",
        ]

    def test_tokenize_drops_single_letters_and_keeps_numbers(self) -> None:
        assert tokenize("a b 2030 x12") == ["2030", "x12"]

    def test_emoji_only_gives_no_tokens(self) -> None:
        assert words("🙂🏠 !!! \u200b\x00") == []


class TestStopwords:
    def test_lists_ship_as_data(self) -> None:
        assert len(load_list("stopwords_nl.txt")) > 100
        assert {"de", "het", "een", "the", "and", "les", "avec"} <= stopwords()

    def test_english_and_french_prepositions_are_stopwords(self) -> None:
        for w in ("of", "for", "in", "the", "against", "within", "de", "du", "des", "pour", "sur", "contre", "sans"):
            assert w in stopwords(), w

    def test_topic_words_are_not_stopwords(self) -> None:
        for w in ("stad", "wonen", "open", "data", "city", "eu", "ai", "werk"):
            assert w not in stopwords()

    def test_question_words_are_query_stopwords_only(self) -> None:
        assert "ervaring" in query_stopwords()
        assert "ervaring" not in stopwords()


class TestFraming:
    @pytest.mark.parametrize(
        ("query", "content"),
        [
            ("Wie weet iets over leegstandsheffing?", ["leegstandsheffing"]),
            ("wie kent iets van wijkwerking", ["wijkwerking"]),
            ("Iemand ervaring met participatie?", ["participatie"]),
            ("Heeft een stad al een leegstandsheffing geprobeerd?", ["leegstandsheffing"]),
            ("Weet iemand hoe je ontharding aanpakt?", ["ontharding", "aanpakt"]),
            ("Is er iemand die ervaring heeft met EFRO?", ["efro"]),
            ("Welke steden hebben ervaring met buurtbudgetten?", ["buurtbudgetten"]),
        ],
    )
    def test_dutch(self, query: str, content: list[str]) -> None:
        assert _content(query) == content

    @pytest.mark.parametrize(
        ("query", "content"),
        [
            ("Who knows about vacancy tax?", ["vacancy", "tax"]),
            ("Does anyone know anything about social housing?", ["social", "housing"]),
            ("Anyone with experience in participatory budgeting?", ["participatory", "budgeting"]),
            ("Has any city tried a low emission zone?", ["low", "emission", "zone"]),
        ],
    )
    def test_english(self, query: str, content: list[str]) -> None:
        assert _content(query) == content

    @pytest.mark.parametrize(
        ("query", "content"),
        [
            ("Qui connaît le logement social ?", ["logement", "social"]),
            ("Quelqu'un a de l'expérience avec les fonds européens ?", ["fonds", "europeens"]),
            ("Une ville a déjà essayé la taxe sur les immeubles inoccupés ?", ["taxe", "immeubles", "inoccupes"]),
        ],
    )
    def test_french(self, query: str, content: list[str]) -> None:
        assert _content(query) == content

    def test_framing_keeps_city_words_outside_framing(self) -> None:
        assert _content("stad in de wijk") == ["stad", "wijk"]


def _strip_framing_by_substitution(tokens: list[str]) -> list[str]:
    """The framing rule as first written (each pattern substituted away in turn): the reference it must keep."""
    text = " ".join(tokens)
    for pattern in _framing_patterns():
        text = " ".join(pattern.sub(" ", text).split())
    return text.split()


_FRAMING_WORDS = [
    "wie",
    "weet",
    "iets",
    "over",
    "heeft",
    "iemand",
    "ervaring",
    "met",
    "who",
    "knows",
    "about",
    "does",
    "anyone",
    "know",
    "qui",
    "connait",
    "quelqu",
    "un",
    "de",
    "experience",
    "avec",
    "is",
    "er",
    "die",
    "welke",
    "steden",
    "hebben",
    "al",
    "leegstand",
    "wonen",
    "stad",
    "tried",
    "zoek",
    "in",
]


# a character a token may start or end with: none, a letter (the token then extends the word: "zoekt"), or one
# that no word character is ("l·", "(1)", "a b": what folding a token's character may give)
_EDGES = ["", "", "", "s", "en", "t", "x", "l·", "(1)", "a "]


_PHRASES = [
    *_FRAMING_WORDS,
    "wie weet iets over",
    "weet iemand",
    "heeft iemand ervaring met",
    "ik zoek iemand",
    "who knows about",
    "does anyone know",
    "anyone with experience",
    "looking for someone",
    "quelqu un qui connait",
    "qui connait",
    "already tried",
]


def _mask_running_every_pattern(tokens: list[str]) -> list[bool]:
    """``_framing_mask`` without the skip: every pattern runs."""
    everything = (None,) * len(_framing_patterns())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis, "_framing_starts", lambda: everything)
        return _framing_mask(tokens)


class TestQuestionTopic:
    """What a question is about, in the asker's words (what digests show for a knowledge gap)."""

    @pytest.mark.parametrize(
        ("question", "topic"),
        [
            ("wie weet iets over leegstandsheffing?", "leegstandsheffing"),
            ("Wie kent goede voorbeelden van buurtbudgetten?", "buurtbudgetten"),
            ("Heeft iemand ervaring met een SVK in Gent?", "SVK in Gent"),
            (
                "Is er iemand die ervaring heeft met participatief budgetteren in de wijk?",
                "participatief budgetteren in de wijk",
            ),
            ("Leegstandsheffing: wie weet er iets over?", "Leegstandsheffing"),
            ("Who knows about EU funding for housing?", "EU funding for housing"),
            ("Does anyone know anything about mobility hubs?", "mobility hubs"),
            ('Who has experience with the "Housing First" approach?', '"Housing First" approach'),
            ("Quelqu'un a de l'expérience avec les budgets participatifs ?", "budgets participatifs"),
            ("Qui connaît le budget participatif à Bruxelles ?", "budget participatif à Bruxelles"),
            ("wie weet iets over IT-beveiliging", "IT-beveiliging"),  # an acronym is never a stop word here
            ("Wie weet iets over IT?", "IT"),
        ],
    )
    def test_framing_is_cut_from_the_original_words(self, question: str, topic: str) -> None:
        assert question_topic(question) == topic

    @pytest.mark.parametrize("text", ["Tijdelijk wonen in kerken", "leegstand?", "wie weet iets?", "?!", ""])
    def test_text_without_framing_or_only_framing_stays_as_asked(self, text: str) -> None:
        assert question_topic(f"  {text} ") == text

    def test_the_first_words_of_a_framing_pattern_are_read_from_it(self) -> None:
        assert _match_starts(r"\b(ik )?(zoek|gezocht)( (iemand|info))?\b") == (
            frozenset({"ik", "zoek", "gezocht"}),
            ("gezocht", "zoek"),  # a match may end after them: a token only starts with them
        )
        assert _match_starts(r"\bwho (knows|has)+ about\b") == (frozenset({"who"}), ())
        assert _match_starts(r"\b(al|ooit) ge\w+") == (frozenset({"al", "ooit"}), ())
        assert _match_starts(r"\bge\w+ (al)?") == (frozenset(), ("ge",))
        for unknown in (r"who knows", r"\b\w+ knows", r"\b(a|\w) b", r"\b(?i:who) knows"):
            assert _match_starts(unknown) is None  # then the pattern is always run

        assert _match_starts(r"(?i)\bWho knows") is None  # a flag of the whole pattern: matches "who" too

    @given(st.lists(st.sampled_from(_FRAMING_WORDS), max_size=12))
    def test_strip_framing_keeps_the_substitution_rule(self, tokens: list[str]) -> None:
        assert strip_framing(tokens) == _strip_framing_by_substitution(tokens)

    @given(st.lists(st.tuples(st.sampled_from(_EDGES), st.sampled_from(_PHRASES), st.sampled_from(_EDGES)), max_size=5))
    def test_skipping_patterns_never_changes_the_mask(self, parts: list[tuple[str, str, str]]) -> None:
        """The mask with the patterns no token can start a match of skipped (``_framing_starts``) is the mask with
        every pattern run, also for tokens that extend a framing word ("zoekt", "anyones") or are cut by a character
        that is no word character: ``meaning_text`` folds tokens one by one, and "ŀ" folds to "l·", "⑴" to "(1)"."""
        tokens: list[str] = []
        for before, phrase, after in parts:
            words = phrase.split()
            words[0] = before + words[0]
            words[-1] += after  # an edge "a " stays in the token
            tokens.extend(words)
        assert _framing_mask(tokens) == _mask_running_every_pattern(tokens)

    def test_a_token_a_fold_cut_in_two_is_masked_as_when_every_pattern_runs(self) -> None:
        for text in ("ŀwho knows about recycling", "⑴wie weet iets over afval", "aͺwie weet iets over afval"):
            tokens = [fold(t) for t in tokenize(text)]
            assert _framing_mask(tokens) == _mask_running_every_pattern(tokens), text
            assert _framing_mask(tokens)[1:3] == [True, True], text  # "knows about", "weet iets": framing

    @given(st.text(max_size=80))
    def test_topic_is_part_of_the_question(self, text: str) -> None:
        topic = question_topic(text)
        assert topic in unicodedata.normalize("NFC", text)


class TestStemmer:
    def test_dutch_porter_conflates_plurals(self) -> None:
        stem = Stemmer("dutch_porter")
        assert stem("woningen") == stem("woning")
        assert stem("heffingen") == stem("heffing")
        assert stem("gemeenten") == stem("gemeente")

    def test_dutch_porter_keeps_ge_prefix(self) -> None:
        stem = Stemmer("dutch_porter")
        assert stem("gemeente") != stem("meen")
        assert stem("gemeente") != stem("gemeenschap")

    def test_new_snowball_dutch_strips_ge(self) -> None:
        # documented reason it is not the default: gemeente and "meen" collide
        stem = Stemmer("dutch")
        assert stem("gemeente") == stem("meen")

    def test_none_is_identity(self) -> None:
        assert Stemmer("none")("woningen") == "woningen"

    def test_non_latin_and_numbers_pass_through(self) -> None:
        stem = Stemmer()
        assert stem("2030") == "2030"
        assert stem("日本語") == "日本語"

    def test_unknown_algorithm(self) -> None:
        with pytest.raises(ValueError, match="unknown stemmer"):
            Stemmer("klingon")


class TestCompounds:
    def splitter(self) -> CompoundSplitter:
        return CompoundSplitter(load_list("morphemes_nl.txt"), stop=stopwords())

    def test_split_with_linking_s(self) -> None:
        s = self.splitter()
        assert s.split("woningkwaliteitscontrole") == ("woning", "kwaliteit", "controle")
        assert s.split("leegstandsheffing") == ("leegstand", "heffing")

    def test_split_with_plural_ending(self) -> None:
        assert self.splitter().split("leegstandsheffingen") == ("leegstand", "heffingen")

    def test_register_words_extend_the_vocabulary(self) -> None:
        s = self.splitter()
        assert s.split("buurtbudget") == ("buurt", "budget")
        assert s.split("sluikstortcamera") == ()
        s.add_words(["sluikstort", "camera"])
        assert s.split("sluikstortcamera") == ("sluikstort", "camera")

    def test_short_and_unknown_words_are_not_split(self) -> None:
        s = self.splitter()
        assert s.split("beleid") == ()
        assert s.split("participatie") == ()
        assert s.split("xyzxyzxyz") == ()

    def test_parts_of_parts(self) -> None:
        s = CompoundSplitter(["woning", "kwaliteit", "controle", "kwaliteitscontrole"])
        parts = s.split("woningkwaliteitscontrole")
        assert set(parts) == {"woning", "kwaliteitscontrole", "kwaliteit", "controle"}

    def test_plural_parts_and_en_linking(self) -> None:
        s = CompoundSplitter(["woning", "beleid", "straat", "fiets", "huis", "buurt", "brief", "huur"])
        assert s.split("woningenbeleid") == ("woning", "beleid")  # -en- linking to a singular
        # a plural last part whose stem differs from the singular's is returned as the singular
        assert s.split("fietsstraten") == ("fiets", "straat")
        assert s.split("buurthuizen") == ("buurt", "huis")
        assert s.split("huurbrieven") == ("huur", "brief")
        assert CompoundSplitter.singulars("huizen") == ["huis"]

    def test_er_linking_only_for_er_nouns(self) -> None:
        s = CompoundSplitter(["kind", "opvang", "rechten", "goed", "vervoer", "water", "beleid", "wat"])
        assert s.split("kinderopvang") == ("kind", "opvang")
        assert s.split("kinderrechten") == ("kind", "rechten")
        assert s.split("goederenvervoer") == ("goed", "vervoer")
        assert s.split("waterbeleid") == ("water", "beleid")  # not wat + er + beleid
        assert CompoundSplitter(["wat", "beleid"]).split("waterbeleid") == ()

    def test_every_compound_part_counts_the_part_weight(self) -> None:
        s = CompoundSplitter(["kind", "opvang", "verhuur", "kantoor"])
        stem = Stemmer("dutch_porter")
        tf, n = Analyzer(stem, s, part_weight=0.5).field_terms("kinderopvang kinderopvang")
        assert n == 2
        assert tf[stem("kinderopvang")] == 2.0
        assert tf[stem("kind")] == tf[stem("opvang")] == 1.0  # head and modifier alike: 2 x 0.5
