"""Small, fixed register for matching tests (invented people)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.matching import Matcher
from bot.matching.documents import AnswerDoc, ExpertDoc, PlaceDoc, PracticeDoc, ThemeDoc

TODAY = date(2025, 3, 1)

THEMES = [
    ThemeDoc("wonen", "Wonen en woonbeleid", "Housing", ("huisvesting", "housing", "SVK", "sociaal verhuurkantoor")),
    ThemeDoc("gebiedsgericht", "Gebiedsgericht werken", "Area-based working", ("wijkwerking", "buurtwerk")),
    ThemeDoc("europa", "Europa en EU-financiering", "Europe and EU funding", ("EFRO", "ESF", "EU")),
    ThemeDoc("klimaat", "Klimaat, energie en milieu", "Climate, energy and environment", ("ontharding",)),
    ThemeDoc("sociaal", "Sociaal beleid en armoede", "Social policy and poverty", ("OCMW", "armoedebestrijding")),
]

PLACES = [
    PlaceDoc("Kortrijk", "city", ("Courtrai",)),
    PlaceDoc("Gent", "city", ("Ghent", "Gand")),
    PlaceDoc("Sint-Niklaas", "city", ()),
    PlaceDoc("Antwerpen", "city", ("Antwerp", "Anvers")),
    PlaceDoc("VVSG", "organisation", ("Vereniging van Vlaamse Steden en Gemeenten",)),
    PlaceDoc("OCMW Gent", "organisation", (), "Gent"),
]


def expert(id: int, name: str, **kw: object) -> ExpertDoc:
    kw.setdefault("organisation", "Stad " + str(kw.get("city", "Gent")))
    return ExpertDoc(id=id, email=f"{name.lower()}@example.org", name=name, **kw)  # type: ignore[arg-type]


EXPERTS = [
    expert(
        1,
        "Anouk",
        city="Kortrijk",
        role="beleidsmedewerker wonen",
        expertise=("leegstandsheffing", "woningkwaliteitscontrole"),
        themes=("wonen",),
        bio="Werkt aan de aanpak van leegstaande panden.",
    ),
    expert(
        2,
        "Bram",
        city="Gent",
        organisation="OCMW Gent",
        role="wijkregisseur",
        expertise=("wijkwerking", "buurtbudget"),
        themes=("gebiedsgericht",),
        bio="Coördineert de buurtwerking in drie wijken.",
    ),
    expert(
        3,
        "Chloé",
        city="",
        organisation="VVSG",
        role="stafmedewerker Europa",
        expertise=("EFRO-projecten", "Europese subsidies"),
        themes=("europa",),
    ),
    expert(
        4,
        "Dries",
        city="Antwerpen",
        role="energiecoach",
        expertise=("energierenovatie", "ontharding"),
        themes=("klimaat",),
        bio="Begeleidt eigenaars bij renovatie.",
    ),
    expert(
        5,
        "Emma",
        city="Gent",
        role="huisvestingsambtenaar",
        expertise=("sociaal verhuurkantoor", "huurwoningen"),
        themes=("wonen",),
    ),
    expert(
        6,
        "Fien",
        city="Sint-Niklaas",
        role="beleidsmedewerker wonen",
        expertise=("leegstandsheffing",),
        themes=("wonen",),
        availability="away",
        away_until=date(2025, 6, 1),
    ),
    expert(
        7, "Gert", city="Gent", role="jurist", expertise=("leegstandsheffing",), themes=("wonen",), consent="withdrawn"
    ),
    expert(
        8,
        "Hanne",
        city="Gent",
        role="armoedecoördinator",
        expertise=("armoedebestrijding", "kinderarmoede"),
        themes=("sociaal",),
        consent="pending",
    ),
]

PRACTICES = [
    PracticeDoc(
        1,
        "Leegstandsheffing op winkelpanden",
        "Een heffing op leegstaande winkels in de kern.",
        city="Kortrijk",
        themes=("wonen",),
        tags=("leegstand", "handel"),
        contact_expert_id=1,
    ),
    PracticeDoc(
        2,
        "Buurtbudgetten in de Brugse Poort",
        "Bewoners beslissen mee over een wijkbudget.",
        city="Gent",
        themes=("gebiedsgericht",),
        tags=("participatie",),
        contact_expert_id=2,
    ),
    PracticeDoc(
        3,
        "Sluikstortcamera's",
        "Camera's tegen sluikstorten.",
        city="Antwerpen",
        tags=("afval",),
        outcome="failed",
        lessons="Privacyregels eerst uitklaren.",
        contact_expert_id=4,
    ),
]

ANSWERS = [
    AnswerDoc(
        1,
        "Hoe pakken jullie zwerfvuil aan rond scholen?",
        "Met een zwerfvuilcoach en acties met de school.",
        expert_id=4,
    ),
    AnswerDoc(
        2, "Wie heeft ervaring met een conformiteitsattest?", "In Kortrijk is dat verplicht sinds 2019.", expert_id=1
    ),
]


def make_matcher() -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    return m


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return make_matcher()


@pytest.fixture
def fresh_matcher() -> Matcher:
    return make_matcher()
