"""The knowledge-needs setup the end-to-end tests share: officials of three cities, each an expert of the register,
asking about the same topic, and an expert who could lead a work session on it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.db import Database
from storage.models import Availability, Consent, Expert, Question, QuestionStatus, Visibility
from tests.e2e.conftest import CHANNEL
from tests.emulator import SlackEmulator

LEAD = "U0LEAD001"  # the expert who could lead the session
ASKERS = {  # officials of three cities, each an expert of the register (so their organisation is known)
    "U0GENT001": ("Stad Gent", "Gent", "Wie weet iets over zwerfkatten steriliseren met vrijwilligers?"),
    "U0LEUV001": ("Stad Leuven", "Leuven", "Hoe pakken jullie het steriliseren van zwerfkatten aan?"),
    "U0BRUG001": ("Stad Brugge", "Brugge", "zwerfkatten steriliseren: wie heeft ervaring met een vangactie?"),
}


def expert_row(name: str, slack: str, organisation: str, city: str, expertise: list[str], now: datetime) -> Expert:
    return Expert(
        email=f"{slack.lower()}@example.org",
        name=name,
        slack_user_id=slack,
        organisation=organisation,
        city=city,
        role="beleidsmedewerker",
        expertise=expertise,
        consent=Consent.CONFIRMED,
        availability=Availability.AVAILABLE,
        last_confirmed_at=now - timedelta(days=5),
        created_at=now - timedelta(days=300),
        updated_at=now - timedelta(days=300),
    )


def add_askers_and_lead(
    emulator: SlackEmulator,
    db: Database,
    *,
    now: datetime,
    lead_expertise: Sequence[str] = ("zwerfkatten", "sterilisatie"),
) -> None:
    """The lead and the askers in Slack and in the register; each asker's question (public, in ``CHANNEL``), asked
    on one of the last days before ``now``."""
    emulator.add_user(LEAD, name="lead", real_name="Lies Dierckx", locale="nl-BE")
    for slack in ASKERS:
        emulator.add_user(slack, name=slack.lower(), real_name=f"Ambtenaar {slack}", locale="nl-BE")
    with db.session() as session:
        session.add(expert_row("Lies Dierckx", LEAD, "Stad Kortrijk", "Kortrijk", list(lead_expertise), now))
        for n, (slack, (organisation, city, text)) in enumerate(ASKERS.items()):
            session.add(expert_row(f"Ambtenaar {city}", slack, organisation, city, ["archiefbeheer"], now))
            at = now - timedelta(days=10 - n)
            session.add(
                Question(
                    text=text,
                    asker_slack_id=slack,
                    asker_name=f"Ambtenaar {city}",
                    visibility=Visibility.PUBLIC,
                    status=QuestionStatus.ROUTED,
                    channel_id=CHANNEL,
                    channel_is_private=False,
                    created_at=at,
                    updated_at=at,
                )
            )
