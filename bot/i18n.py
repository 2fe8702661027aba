"""User-facing text in Dutch (default) and English.

One flat catalogue keyed by message id; ``t(key, lang, **values)`` picks the language (falling back to Dutch)
and fills in ``str.format`` placeholders. Code, comments and logs stay in English; only what users read is here.
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPORTED = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

BASE_CATALOG: Mapping[str, Mapping[str, str]] = {
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
    # --- digests in chat ---------------------------------------------------------------------------------
    "digest.off": {
        "nl": "Dit kanaal krijgt geen weekoverzicht meer.",
        "en": "This channel will no longer get the weekly digest.",
    },
    "digest.not_subscribed": {
        "nl": "Dit kanaal heeft geen weekoverzicht.",
        "en": "This channel has no weekly digest.",
    },
    "digest.day_mon": {"nl": "maandag", "en": "Monday"},
    "digest.day_tue": {"nl": "dinsdag", "en": "Tuesday"},
    "digest.day_wed": {"nl": "woensdag", "en": "Wednesday"},
    "digest.day_thu": {"nl": "donderdag", "en": "Thursday"},
    "digest.day_fri": {"nl": "vrijdag", "en": "Friday"},
    "digest.day_sat": {"nl": "zaterdag", "en": "Saturday"},
    "digest.day_sun": {"nl": "zondag", "en": "Sunday"},
    "digest.modal_title": {"nl": "Weekoverzicht", "en": "Weekly digest"},
    "digest.modal_submit": {"nl": "Inschrijven", "en": "Subscribe"},
    "digest.modal_close": {"nl": "Annuleren", "en": "Cancel"},
    "digest.field_themes": {"nl": "Thema's (leeg: alle thema's)", "en": "Themes (empty: all themes)"},
    "digest.field_day": {"nl": "Dag", "en": "Day"},
    "digest.field_time": {"nl": "Uur (Brussel)", "en": "Time (Brussels)"},
    "digest.field_lang": {"nl": "Taal", "en": "Language"},
    "digest.field_empty": {"nl": "Rustige weken", "en": "Quiet weeks"},
    "digest.field_empty_option": {
        "nl": "Ook posten als er die week niets nieuws is",
        "en": "Also post when nothing new happened that week",
    },
    "digest.subscribed": {
        "nl": "Dit kanaal krijgt het weekoverzicht elke {day} om {time} (Brussel).",
        "en": "This channel gets the weekly digest every {day} at {time} (Brussels).",
    },
    "digest.thanks_helper": {
        "nl": "Bedankt! Je krijgt de vraag zo in een direct bericht.",
        "en": "Thank you! You'll get the question in a direct message shortly.",
    },
    "digest.preview": {"nl": "Voorbeeld van het weekoverzicht", "en": "Preview of the weekly digest"},
    "digest.usage": {
        "nl": "`/wieweet digest` schrijft dit kanaal in op het weekoverzicht; `/wieweet digest voorbeeld` toont "
        "het overzicht van deze week (alleen aan jou); `/wieweet digest uit` stopt het.",
        "en": "`/wieweet digest` subscribes this channel to the weekly digest; `/wieweet digest voorbeeld` shows "
        "this week's digest (to you only); `/wieweet digest uit` stops it.",
    },
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

ROUTING_CATALOG: Mapping[str, Mapping[str, str]] = {
    "routing.someone": {"nl": "iemand", "en": "someone"},
    "routing.question": {"nl": "Vraag", "en": "Question"},
    "routing.context": {"nl": "Context", "en": "Context"},
    "routing.addition": {"nl": "Extra informatie van de vrager", "en": "Additional information from the asker"},
    "routing.asker_anonymous": {"nl": "Anonieme vraag", "en": "Anonymous question"},
    "routing.asked_by": {"nl": "Gesteld door {name}", "en": "Asked by {name}"},
    "routing.themes": {"nl": "Thema: {themes}", "en": "Theme: {themes}"},
    "routing.desired_by": {"nl": "Antwoord gewenst tegen {date}", "en": "Answer wanted by {date}"},
    "routing.request_title": {"nl": "Kan jij deze vraag beantwoorden?", "en": "Can you answer this question?"},
    "routing.reminder_title": {"nl": "Herinnering: een vraag wacht op je", "en": "Reminder: a question is waiting"},
    "routing.why_you": {"nl": "Waarom jij", "en": "Why you"},
    "routing.forwarded_by": {"nl": "Doorgestuurd door {name}", "en": "Forwarded by {name}"},
    "routing.assigned_by_staff": {"nl": "Gevraagd door het kenniscentrum", "en": "Asked by the knowledge centre"},
    "routing.btn_claim": {"nl": "Ik beantwoord dit", "en": "I'll answer this"},
    "routing.btn_decline": {"nl": "Niet mijn domein", "en": "Not my field"},
    "routing.btn_later": {"nl": "Later", "en": "Later"},
    "routing.btn_forward": {"nl": "Stuur door naar…", "en": "Forward to…"},
    "routing.btn_answer": {"nl": "Beantwoorden", "en": "Answer"},
    "routing.btn_resolve": {"nl": "Opgelost", "en": "Resolved"},
    "routing.btn_add_info": {"nl": "Informatie toevoegen", "en": "Add information"},
    "routing.add_info_title": {"nl": "Informatie toevoegen", "en": "Add information"},
    "routing.field_add_info": {"nl": "Wat wil je toevoegen?", "en": "What would you like to add?"},
    "routing.info_added": {
        "nl": "Toegevoegd: wie je vraag nu behandelt, krijgt de extra informatie.",
        "en": "Added: whoever is handling your question now gets the extra information.",
    },
    "routing.btn_cancel": {"nl": "Annuleren", "en": "Cancel"},
    "routing.btn_assign": {"nl": "Vraag toewijzen aan…", "en": "Assign to…"},
    "routing.btn_close": {"nl": "Afsluiten", "en": "Close"},
    "routing.btn_ask_experts": {"nl": "Stel je vraag aan deze experts", "en": "Ask these experts"},
    "routing.state_claimed": {
        "nl": ":white_check_mark: Je neemt deze vraag op.",
        "en": ":white_check_mark: You took this question.",
    },
    "routing.state_declined": {
        "nl": "Je gaf aan dat dit niet je domein is. Bedankt!",
        "en": "You said this is not your field. Thanks!",
    },
    "routing.state_forwarded": {
        "nl": "Je stuurde de vraag door naar {name}.",
        "en": "You forwarded the question to {name}.",
    },
    "routing.state_snoozed": {
        "nl": ":zzz: Je krijgt deze vraag opnieuw op {date}.",
        "en": ":zzz: You will get this question again on {date}.",
    },
    "routing.state_answered": {"nl": ":tada: Bedankt voor je antwoord!", "en": ":tada: Thanks for your answer!"},
    "routing.closed": {"nl": "Deze vraag is niet meer nodig.", "en": "This question is no longer needed."},
    "routing.closed_answered": {
        "nl": "Deze vraag werd beantwoord door {name}. Je hoeft niets meer te doen.",
        "en": "This question was answered by {name}. Nothing left to do.",
    },
    "routing.closed_cancelled": {"nl": "De vrager annuleerde deze vraag.", "en": "The asker cancelled this question."},
    "routing.closed_resolved": {
        "nl": "De vrager heeft deze vraag opgelost.",
        "en": "The asker resolved this question.",
    },
    "routing.closed_closed": {
        "nl": "Het kenniscentrum sloot deze vraag af.",
        "en": "The knowledge centre closed this question.",
    },
    "routing.the_answer": {"nl": "Het antwoord", "en": "The answer"},
    "routing.updated": {"nl": "De vrager voegde informatie toe", "en": "The asker added information"},
    "routing.answer_for_you": {
        "nl": "Je vraag werd beantwoord door {name}",
        "en": "Your question was answered by {name}",
    },
    "routing.answer_in_thread": {"nl": "Antwoord van {name}:", "en": "Answer from {name}:"},
    "routing.rate_prompt": {"nl": "Hoe nuttig was dit antwoord?", "en": "How useful was this answer?"},
    "routing.rated": {"nl": "Bedankt voor je score {stars}", "en": "Thanks for your rating {stars}"},
    "routing.update_routed": {"nl": "Je vraag is gesteld aan {names}.", "en": "Your question was sent to {names}."},
    "routing.update_claimed": {"nl": "{name} neemt je vraag op.", "en": "{name} is taking your question."},
    "routing.update_escalated": {
        "nl": "Niemand kon je vraag meteen beantwoorden; het kenniscentrum zoekt verder.",
        "en": "Nobody could answer your question right away; the knowledge centre is looking further.",
    },
    "routing.update_closed": {
        "nl": "Het kenniscentrum sloot je vraag af.",
        "en": "The knowledge centre closed your question.",
    },
    "routing.update_other": {"nl": "Nieuws over je vraag: {update}", "en": "News about your question: {update}"},
    "routing.confirm_routed": {
        "nl": "Bedankt! Je vraag is gesteld aan {names}. Je krijgt hun antwoord hier.",
        "en": "Thanks! Your question was sent to {names}. You'll get their answer here.",
    },
    "routing.confirm_escalated": {
        "nl": "Bedankt! Niemand in het register past meteen; het kenniscentrum neemt je vraag op.",
        "en": "Thanks! Nobody in the register fits right away; the knowledge centre will take up your question.",
    },
    "routing.my_title": {"nl": "Mijn vragen", "en": "My questions"},
    "routing.my_none": {"nl": "Je hebt nog geen vragen gesteld.", "en": "You have not asked any questions yet."},
    "routing.status_open": {"nl": "open", "en": "open"},
    "routing.status_routed": {"nl": "gesteld aan experts", "en": "sent to experts"},
    "routing.status_claimed": {"nl": "opgenomen", "en": "taken"},
    "routing.status_answered": {"nl": "beantwoord", "en": "answered"},
    "routing.status_resolved": {"nl": "opgelost", "en": "resolved"},
    "routing.status_closed": {"nl": "afgesloten", "en": "closed"},
    "routing.status_cancelled": {"nl": "geannuleerd", "en": "cancelled"},
    "routing.status_escalated": {"nl": "bij het kenniscentrum", "en": "with the knowledge centre"},
    "routing.cancelled": {"nl": "Je vraag is geannuleerd.", "en": "Your question was cancelled."},
    "routing.resolved": {"nl": "Je vraag staat als opgelost.", "en": "Your question is marked resolved."},
    "routing.away_set": {
        "nl": "Genoteerd: je krijgt geen vragen tot en met {date}.",
        "en": "Noted: you will get no questions until {date} inclusive.",
    },
    "routing.away_usage": {
        "nl": "Gebruik: `/wieweet afwezig tot 2026-12-15`",
        "en": "Usage: `/wieweet afwezig tot 2026-12-15`",
    },
    "routing.triage_title": {"nl": "Vraag voor het kenniscentrum", "en": "Question for the knowledge centre"},
    "routing.triage_reason": {"nl": "Reden: {reason}", "en": "Reason: {reason}"},
    "routing.triage_redacted": {
        "nl": "_Privé of anonieme vraag: de inhoud staat niet in dit kanaal._",
        "en": "_Private or anonymous question: its content is not shown in this channel._",
    },
    "routing.triage_counts": {"nl": "Gevraagd: {counts}", "en": "Asked: {counts}"},
    "routing.triage_assigned": {
        "nl": "{staff} vroeg {name} om te antwoorden.",
        "en": "{staff} asked {name} to answer.",
    },
    "routing.triage_closed": {"nl": "{staff} sloot deze vraag af.", "en": "{staff} closed this question."},
    "routing.reason_no_match": {"nl": "niemand in het register past", "en": "nobody in the register fits"},
    "routing.reason_nobody_available": {"nl": "niemand beschikbaar", "en": "nobody available"},
    "routing.reason_all_declined": {"nl": "alle experts wezen af", "en": "all experts declined"},
    "routing.reason_deadline": {"nl": "geen antwoord binnen de termijn", "en": "no answer in time"},
    "routing.reason_desired_date": {"nl": "gewenste datum bereikt", "en": "desired date reached"},
    "routing.modal_close": {"nl": "Annuleren", "en": "Cancel"},
    "routing.ask_title": {"nl": "Vraag een expert", "en": "Ask an expert"},
    "routing.ask_submit": {"nl": "Vraag stellen", "en": "Ask"},
    "routing.field_question": {"nl": "Je vraag", "en": "Your question"},
    "routing.field_context": {
        "nl": "Context (wat weet je al, waarom vraag je het?)",
        "en": "Context (what do you know, why do you ask?)",
    },
    "routing.field_theme": {"nl": "Thema", "en": "Theme"},
    "routing.field_date": {"nl": "Antwoord gewenst tegen", "en": "Answer wanted by"},
    "routing.field_visibility": {"nl": "Zichtbaarheid", "en": "Visibility"},
    "routing.visibility_public": {"nl": "Publiek (antwoord in het kanaal)", "en": "Public (answer in the channel)"},
    "routing.visibility_private": {"nl": "Privé (enkel jij en de experts)", "en": "Private (only you and the experts)"},
    "routing.visibility_anonymous": {
        "nl": "Anoniem (experts zien je naam niet)",
        "en": "Anonymous (experts don't see your name)",
    },
    "routing.decline_title": {"nl": "Niet mijn domein", "en": "Not my field"},
    "routing.field_decline_reason": {"nl": "Waarom niet? (optioneel)", "en": "Why not? (optional)"},
    "routing.answer_title": {"nl": "Je antwoord", "en": "Your answer"},
    "routing.answer_submit": {"nl": "Versturen", "en": "Send"},
    "routing.field_answer": {"nl": "Antwoord", "en": "Answer"},
    "routing.close_title": {"nl": "Vraag afsluiten", "en": "Close question"},
    "routing.field_close_note": {"nl": "Notitie voor de vrager (optioneel)", "en": "Note for the asker (optional)"},
    "routing.posted_question": {
        "nl": "{name} stelde een vraag aan de experts van het netwerk:\n{question}",
        "en": "{name} asked the network's experts:\n{question}",
    },
    "error.not_staff": {
        "nl": "Alleen medewerkers van het kenniscentrum kunnen dit doen.",
        "en": "Only knowledge centre staff can do this.",
    },
    "error.empty_question": {"nl": "Je vraag is leeg.", "en": "Your question is empty."},
    "error.not_authorized": {
        "nl": "Dat mag je niet doen: je kan enkel je eigen gegevens beheren.",
        "en": "You are not allowed to do that: you can only manage your own data.",
    },
}

# --- self-service (issue 7): one section per feature, merged into CATALOG below ------------------------------------

# the expert profile, App Home, consent and re-confirmation, staff management of experts
PROFILE_CATALOG: Mapping[str, Mapping[str, str]] = {}

# practice submissions from chat and their moderation by staff
PRACTICE_CATALOG: Mapping[str, Mapping[str, str]] = {}

# privacy rights: "mijn gegevens" (data export) and "vergeet mij" (erasure)
PRIVACY_CATALOG: Mapping[str, Mapping[str, str]] = {}


def normalise_language(value: str | None) -> str:
    """Map a Slack locale ("en-GB", "nl-BE") or language code to a supported UI language."""
    if not value:
        return DEFAULT_LANGUAGE
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in SUPPORTED else DEFAULT_LANGUAGE


def _merge_routing_errors() -> dict[str, Mapping[str, str]]:
    """``error.<code>`` for every routing error code (bot.routing.errors), plus routing's own texts."""
    from bot.routing.errors import ERROR_MESSAGES  # noqa: PLC0415 - bot.routing imports this module

    merged: dict[str, Mapping[str, str]] = {f"error.{code}": texts for code, texts in ERROR_MESSAGES.items()}
    merged.update(ROUTING_CATALOG)
    for section in (PROFILE_CATALOG, PRACTICE_CATALOG, PRIVACY_CATALOG):
        merged.update(section)
    merged.update(BASE_CATALOG)
    return merged


CATALOG: Mapping[str, Mapping[str, str]] = _merge_routing_errors()


def render(catalog: Mapping[str, Mapping[str, str]], key: str, lang: str, values: Mapping[str, object]) -> str:
    """``key`` from ``catalog`` in ``lang`` (falling back to Dutch), with ``str.format`` placeholders filled in."""
    entry = catalog[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    return render(CATALOG, key, lang, values)
