"""User-facing text in Dutch (default) and English.

One flat catalogue keyed by message id; ``t(key, lang, **values)`` picks the language (falling back to Dutch)
and fills in ``str.format`` placeholders. Code, comments and logs stay in English; only what users read is here.
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPORTED = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

CATALOG: Mapping[str, Mapping[str, str]] = {
    # --- who knows ---------------------------------------------------------------------------------------
    "answer.title": {"nl": "Wie weet: “{query}”", "en": "Who knows: “{query}”"},
    "answer.experts": {"nl": "Experts", "en": "Experts"},
    "answer.practices": {"nl": "Praktijken", "en": "Practices"},
    "answer.answers": {"nl": "Eerder beantwoorde vragen", "en": "Earlier answered questions"},
    "answer.no_practices": {"nl": "Geen passende praktijken gevonden.", "en": "No matching practices found."},
    "answer.no_answers": {"nl": "Geen eerdere antwoorden gevonden.", "en": "No earlier answers found."},
    "answer.gap": {
        "nl": "Niemand in het register past echt goed bij deze vraag. We noteren ze als kennislacune, "
        "zodat het kenniscentrum kan zoeken wie dit wel weet.",
        "en": "Nobody in the register fits this question well. It has been recorded as a knowledge gap so "
        "the knowledge centre can look for someone who knows.",
    },
    "answer.weak": {
        "nl": "Misschien (zwakke overeenkomst):",
        "en": "Perhaps (weak match):",
    },
    "answer.why": {"nl": "Waarom", "en": "Why"},
    "answer.answered_by": {
        "nl": "beantwoord op {date} door {name}",
        "en": "answered on {date} by {name}",
    },
    "answer.understood": {"nl": "Gezocht op: {terms}", "en": "Searched for: {terms}"},
    "availability.available": {"nl": "beschikbaar", "en": "available"},
    "availability.away": {"nl": "afwezig", "en": "away"},
    "availability.away_until": {"nl": "afwezig tot {date}", "en": "away until {date}"},
    "availability.opted_out": {"nl": "niet beschikbaar voor vragen", "en": "not taking questions"},
    "outcome.good": {"nl": "goede praktijk", "en": "good practice"},
    "outcome.mixed": {"nl": "gemengd resultaat", "en": "mixed result"},
    "outcome.failed": {"nl": "mislukt — lessen geleerd", "en": "failed — lessons learned"},
    "outcome.none": {"nl": "resultaat onbekend", "en": "outcome unknown"},
    # --- query errors --------------------------------------------------------------------------------------
    "query.empty": {
        "nl": "Je vraag is leeg. Typ bijvoorbeeld: wie weet iets over leegstandsheffing?",
        "en": "Your question is empty. Try for example: who knows about vacancy tax?",
    },
    "query.only_stopwords": {
        "nl": "Ik vind geen onderwerp in je vraag. Noem het thema, bijvoorbeeld: wie weet iets over wijkwerking?",
        "en": "I can't find a topic in your question. Name the subject, e.g.: who knows about neighbourhood work?",
    },
    "query.too_long": {
        "nl": "Je vraag is te lang ({length} tekens, max. {limit}). Vat ze samen in een paar woorden.",
        "en": "Your question is too long ({length} characters, max. {limit}). Summarise it in a few words.",
    },
    "query.no_words": {
        "nl": "Ik vind geen woorden in je vraag. Typ het onderwerp in woorden.",
        "en": "I can't find any words in your question. Type the subject in words.",
    },
    "query.error": {"nl": "Ik kan deze vraag niet zoeken.", "en": "I can't search for this question."},
    # --- console -------------------------------------------------------------------------------------------
    "console.welcome": {
        "nl": "wieweet-console — typ een vraag zoals in Slack (bv. “wie weet iets over leegstandsheffing?”).\n"
        "Commando's: :en / :nl (taal), :help, :quit (of Ctrl-D).",
        "en": "wieweet console — type a question as you would in Slack (e.g. “who knows about vacancy tax?”).\n"
        "Commands: :en / :nl (language), :help, :quit (or Ctrl-D).",
    },
    "console.bye": {"nl": "Tot ziens.", "en": "Goodbye."},
    "console.lang": {"nl": "Taal: Nederlands.", "en": "Language: English."},
    # --- slack ---------------------------------------------------------------------------------------------
    "slack.share": {"nl": "Deel in het kanaal", "en": "Share in channel"},
    "slack.shared_by": {"nl": "Gedeeld door {user}", "en": "Shared by {user}"},
    "slack.more": {"nl": "Meer resultaten", "en": "More results"},
    "slack.more_title": {"nl": "Meer resultaten voor “{query}”", "en": "More results for “{query}”"},
    "slack.no_more": {"nl": "Geen verdere resultaten.", "en": "No further results."},
    "slack.gap_short": {"nl": "— niemand past echt goed.", "en": "— nobody fits well."},
    "slack.feedback_thanks": {"nl": "Bedankt voor je feedback!", "en": "Thanks for your feedback!"},
    "slack.expired": {
        "nl": "Dit antwoord is niet meer beschikbaar. Stel je vraag opnieuw.",
        "en": "This answer is no longer available. Please ask again.",
    },
    "slack.not_in_channel": {
        "nl": "Ik kan niet posten in dit kanaal. Nodig me uit met /invite @wieweet of vraag het me in een DM.",
        "en": "I can't post in this channel. Invite me with /invite @wieweet or ask me in a DM.",
    },
    "slack.help_title": {"nl": "Wie weet? — hulp", "en": "Who knows? — help"},
    "slack.help_body": {
        "nl": "Vraag wie iets weet over een onderwerp, dan zoek ik experts, goede en mislukte praktijken en eerdere "
        "antwoorden in het netwerk van de Vlaamse centrumsteden.\n"
        "• `/wieweet <vraag>` — bv. `/wieweet wie weet iets over leegstandsheffing?` (alleen jij ziet het "
        "antwoord; met een knop om het te delen)\n"
        "• vermeld me in een kanaal: `@wieweet wie kent iets van wijkwerking?`\n"
        "• stuur me een direct bericht met je vraag\n"
        "• de berichtsnelkoppeling *Wie weet dit?* op eender welk bericht\n"
        "• `/wieweet help` — deze uitleg",
        "en": "Ask who knows about a topic and I search the experts, good and failed practices and earlier "
        "answers of the network of Flemish centre cities.\n"
        "• `/wieweet <question>` — e.g. `/wieweet who knows about EU funding for housing?` (only you see the "
        "answer, with a button to share it)\n"
        "• mention me in a channel: `@wieweet who knows about neighbourhood work?`\n"
        "• send me a direct message with your question\n"
        "• the message shortcut *Wie weet dit?* on any message\n"
        "• `/wieweet help` — this help",
    },
    "slack.error": {
        "nl": "Er ging iets mis aan mijn kant. Probeer het later opnieuw; meld anders referentie `{ref}` aan het "
        "kenniscentrum.",
        "en": "Something went wrong on my side. Please try again later, or report reference `{ref}` to the "
        "knowledge centre.",
    },
    "slack.empty_message": {
        "nl": "Het bericht bevat geen tekst om op te zoeken.",
        "en": "That message has no text to search for.",
    },
}


def normalise_language(value: str | None) -> str:
    """Map a Slack locale ("en-GB", "nl-BE") or language code to a supported UI language."""
    if not value:
        return DEFAULT_LANGUAGE
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED else DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    entry = CATALOG[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
