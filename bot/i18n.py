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
        "• `/wieweet vraag <vraag>` — leg je vraag voor aan experts; `/wieweet mijn vragen` — hoe ver ze staan\n"
        "• `/wieweet ik weet iets over <onderwerpen>` — word expert; `/wieweet profiel` — je profiel aanpassen "
        "(ook op het tabblad *Home* van de app); `/wieweet afwezig tot 2026-12-31`\n"
        "• `/wieweet praktijk` — meld een goede of mislukte praktijk (of de snelkoppeling *Bewaar als praktijk*)\n"
        "• `/wieweet digest` — het wekelijkse overzicht in dit kanaal (`digest uit`, `digest voorbeeld`)\n"
        "• `/wieweet mijn gegevens` — alles wat over jou bewaard wordt; `/wieweet vergeet mij` — wis het\n"
        "• `/wieweet beheer` — voor het kenniscentrum: profielen en meldingen om na te kijken\n"
        "• `/wieweet help` — deze uitleg",
        "en": "Ask who knows about a topic and I search the experts, good and failed practices and earlier "
        "answers of the network of Flemish centre cities.\n"
        "• `/wieweet <question>` — e.g. `/wieweet who knows about EU funding for housing?` (only you see the "
        "answer, with a button to share it)\n"
        "• mention me in a channel: `@wieweet who knows about neighbourhood work?`\n"
        "• send me a direct message with your question\n"
        "• the message shortcut *Wie weet dit?* on any message\n"
        "• `/wieweet ask <question>` — put your question to experts; `/wieweet my questions` — how far they are\n"
        "• `/wieweet i know about <topics>` — become an expert; `/wieweet profile` — edit your profile (also on the "
        "app's *Home* tab); `/wieweet away until 2026-12-31`\n"
        "• `/wieweet practice` — report a good or failed practice (or the shortcut *Bewaar als praktijk*)\n"
        "• `/wieweet digest` — the weekly digest in this channel (`digest off`, `digest preview`)\n"
        "• `/wieweet my data` — everything stored about you; `/wieweet forget me` — erase it\n"
        "• `/wieweet admin` — for the knowledge centre: profiles and submissions to review\n"
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
    "error.search_expired": {
        "nl": "Dit antwoord is niet meer beschikbaar. Stel je vraag opnieuw.",
        "en": "This answer is no longer available. Please ask again.",
    },
    "error.bad_reference": {
        "nl": "Deze knop of dit formulier is niet (meer) geldig. Open het opnieuw.",
        "en": "This button or form is not valid (any more). Please open it again.",
    },
    "error.not_your_search": {
        "nl": "Dit antwoord is niet voor jou bestemd. Stel de vraag zelf opnieuw.",
        "en": "This answer was not meant for you. Please ask the question yourself.",
    },
    "error.not_channel_member": {
        "nl": "Alleen leden van dit kanaal (of het kenniscentrum) kunnen het weekoverzicht ervan instellen.",
        "en": "Only members of this channel (or knowledge centre staff) can set up its weekly digest.",
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
PROFILE_CATALOG: Mapping[str, Mapping[str, str]] = {
    "profile.join_title": {"nl": "Word expert", "en": "Become an expert"},
    "profile.edit_title": {"nl": "Expertprofiel", "en": "Expert profile"},
    "profile.save": {"nl": "Bewaren", "en": "Save"},
    "profile.join_intro": {
        "nl": "Collega's vinden je via wat je hier invult en krijgen soms een vraag van je. Je kan je profiel altijd "
        "aanpassen of verwijderen op de Home-tab van Wie weet?.",
        "en": "Colleagues find you through what you fill in here and may send you a question. You can always edit or "
        "remove your profile on the Wie weet? Home tab.",
    },
    "profile.field_name": {"nl": "Naam", "en": "Name"},
    "profile.field_email": {"nl": "E-mailadres", "en": "E-mail address"},
    "profile.field_organisation": {"nl": "Organisatie", "en": "Organisation"},
    "profile.field_city": {"nl": "Stad of gemeente", "en": "City"},
    "profile.field_role": {"nl": "Functie", "en": "Role"},
    "profile.field_expertise": {"nl": "Expertise", "en": "Expertise"},
    "profile.field_themes": {"nl": "Thema's", "en": "Themes"},
    "profile.field_languages": {"nl": "Talen", "en": "Languages"},
    "profile.field_bio": {"nl": "Korte voorstelling", "en": "Short bio"},
    "profile.hint_expertise": {
        "nl": "Eén onderwerp per regel (of gescheiden door ;), bv. leegstandsheffing",
        "en": "One topic per line (or separated by ;), e.g. vacancy tax",
    },
    "profile.hint_languages": {"nl": "Taalcodes, bv. nl; en; fr", "en": "Language codes, e.g. nl; en; fr"},
    "profile.hint_email": {
        "nl": "Je werkadres: zo herkent het kenniscentrum je in het register.",
        "en": "Your work address: the knowledge centre knows you by it in the register.",
    },
    "profile.home_title": {"nl": "Wie weet? — jouw profiel", "en": "Wie weet? — your profile"},
    "profile.home_not_expert": {
        "nl": "Je staat niet in het expertenregister. Weet je veel over een beleidsthema? Word expert, dan kunnen "
        "collega's uit het netwerk je vinden.",
        "en": "You are not in the expert register. Do you know a lot about a policy theme? Become an expert so that "
        "colleagues in the network can find you.",
    },
    "profile.home_routed": {"nl": "Vragen aan jou", "en": "Questions for you"},
    "profile.home_routed_none": {"nl": "Er werden je nog geen vragen gesteld.", "en": "Nobody has asked you yet."},
    "profile.home_asked": {"nl": "Jouw vragen", "en": "Your questions"},
    "profile.home_asked_none": {
        "nl": "Je stelde nog geen vragen. Typ `/wieweet vraag …` om een expert iets te vragen.",
        "en": "You have not asked anything yet. Type `/wieweet ask …` to ask an expert.",
    },
    "profile.home_staff": {
        "nl": "Kenniscentrum: {stale} profielen te bevestigen, {pending} wachten op goedkeuring — `/wieweet beheer`",
        "en": "Knowledge centre: {stale} profiles to confirm, {pending} awaiting approval — `/wieweet admin`",
    },
    "profile.routing_asked": {"nl": "wacht op jouw antwoord", "en": "waiting for you"},
    "profile.routing_claimed": {"nl": "door jou opgenomen", "en": "taken by you"},
    "profile.routing_declined": {"nl": "afgeslagen", "en": "declined"},
    "profile.routing_forwarded": {"nl": "doorgegeven", "en": "passed on"},
    "profile.routing_expired": {"nl": "verlopen", "en": "expired"},
    "profile.routing_answered": {"nl": "door jou beantwoord", "en": "answered by you"},
    "profile.available": {"nl": "🟢 Beschikbaar voor vragen", "en": "🟢 Available for questions"},
    "profile.away_until": {"nl": "🌴 Afwezig tot en met {date}", "en": "🌴 Away until {date}"},
    "profile.opted_out": {"nl": "⏸️ Wil geen vragen krijgen", "en": "⏸️ Not taking questions"},
    "profile.never_confirmed": {"nl": "⚠️ Vermelding nog niet bevestigd", "en": "⚠️ Listing not confirmed yet"},
    "profile.withdrawn": {"nl": "Niet (meer) opgenomen in het register", "en": "Not listed in the register"},
    "profile.confirmed_no_date": {"nl": "Bevestigd", "en": "Confirmed"},
    "profile.confirmed_on": {"nl": "Laatst bevestigd op {date}", "en": "Last confirmed on {date}"},
    "profile.confirmed_stale": {
        "nl": "⚠️ Laatst bevestigd op {date} — klopt het nog?",
        "en": "⚠️ Last confirmed on {date} — is it still right?",
    },
    "profile.pending_approval": {
        "nl": "⏳ Wacht op goedkeuring door het kenniscentrum",
        "en": "⏳ Awaiting approval by the knowledge centre",
    },
    "profile.btn_join": {"nl": "Word expert", "en": "Become an expert"},
    "profile.btn_edit": {"nl": "Profiel bewerken", "en": "Edit profile"},
    "profile.btn_confirm": {"nl": "Ja, dit klopt", "en": "Yes, this is right"},
    "profile.btn_away": {"nl": "Afwezig tot…", "en": "Away until…"},
    "profile.btn_available": {"nl": "Weer beschikbaar", "en": "Available again"},
    "profile.btn_opt_out": {"nl": "Geen vragen meer", "en": "Stop asking me"},
    "profile.btn_refresh": {"nl": "Vernieuwen", "en": "Refresh"},
    "profile.btn_withdraw": {"nl": "Haal me uit het register", "en": "Remove my listing"},
    "profile.btn_approve": {"nl": "Goedkeuren", "en": "Approve"},
    "profile.btn_reject": {"nl": "Weigeren", "en": "Reject"},
    "profile.btn_remove": {"nl": "Verwijderen", "en": "Remove"},
    "profile.withdraw_confirm_title": {"nl": "Uit het register?", "en": "Remove your listing?"},
    "profile.withdraw_confirm_text": {
        "nl": "Je wordt niet meer getoond en krijgt geen vragen meer. Je kan later opnieuw expert worden.",
        "en": "You will no longer be shown or asked questions. You can become an expert again later.",
    },
    "profile.remove_confirm_title": {"nl": "Expert verwijderen?", "en": "Remove expert?"},
    "profile.remove_confirm_text": {
        "nl": "{name} wordt uit het register verwijderd. Antwoorden en vragen blijven bewaard.",
        "en": "{name} is removed from the register. Answers and questions are kept.",
    },
    "profile.consent_initial": {
        "nl": "Hallo! Het Kenniscentrum Vlaamse Steden nam je op in het expertenregister van *Wie weet?*, zodat "
        "collega's uit het netwerk je kunnen vinden en je soms een beleidsvraag stellen. Klopt dit profiel en vind je "
        "het goed dat je vermeld wordt? Zolang je niet bevestigt, krijg je geen vragen.",
        "en": "Hello! The knowledge centre of the Flemish cities listed you in the *Wie weet?* expert register, so "
        "that colleagues in the network can find you and sometimes ask you a policy question. Is this profile "
        "right, and do you agree to be listed? Until you confirm, you will not be asked questions.",
    },
    "profile.consent_reconfirm": {
        "nl": "Je bevestigde je expertprofiel in *Wie weet?* voor het laatst op {date}. Klopt het nog? Bevestig of "
        "pas het aan; een profiel dat niet bevestigd wordt, komt lager in de resultaten.",
        "en": "You last confirmed your *Wie weet?* expert profile on {date}. Is it still right? Confirm or update it; "
        "unconfirmed profiles are ranked lower.",
    },
    "profile.confirmed_thanks": {
        "nl": "✅ Bedankt! Je vermelding is bevestigd op {date}.",
        "en": "✅ Thank you! Your listing was confirmed on {date}.",
    },
    "profile.withdrawn_done": {
        "nl": "Je staat niet meer in het expertenregister en krijgt geen vragen meer.",
        "en": "You are no longer listed in the expert register and will not be asked questions.",
    },
    "profile.saved": {"nl": "✅ Je profiel is bewaard.", "en": "✅ Your profile was saved."},
    "profile.saved_pending": {
        "nl": "✅ Je profiel is bewaard. Het kenniscentrum keurt het nog goed; je hoort het zodra het zichtbaar is.",
        "en": "✅ Your profile was saved. The knowledge centre still has to approve it; you will hear when it is live.",
    },
    "profile.saved_by_staff": {"nl": "✅ Profiel van {name} bewaard.", "en": "✅ Saved the profile of {name}."},
    "profile.away_set": {
        "nl": "Je bent afwezig tot en met {date}: tot dan krijg je geen vragen.",
        "en": "You are away until {date}: you will not be asked questions until then.",
    },
    "profile.review_intro": {
        "nl": "Nieuw expertprofiel uit Slack, wacht op goedkeuring:",
        "en": "New expert profile from Slack, awaiting approval:",
    },
    "profile.review_approved": {"nl": "✅ Goedgekeurd door {staff}", "en": "✅ Approved by {staff}"},
    "profile.review_rejected": {"nl": "❌ Geweigerd door {staff}: {reason}", "en": "❌ Rejected by {staff}: {reason}"},
    "profile.reject_title": {"nl": "Profiel weigeren", "en": "Reject profile"},
    "profile.field_reject_reason": {
        "nl": "Waarom? (de persoon krijgt dit te lezen)",
        "en": "Why? (the person will read this)",
    },
    "profile.removed": {"nl": "{name} is uit het register verwijderd.", "en": "{name} was removed from the register."},
    "profile.approved_notice": {
        "nl": "✅ Je expertprofiel ({title}) is goedgekeurd en staat nu in *Wie weet?*.",
        "en": "✅ Your expert profile ({title}) was approved and is now in *Wie weet?*.",
    },
    "profile.rejected_notice": {
        "nl": "Je expertprofiel ({title}) werd niet opgenomen door het kenniscentrum. Reden: {note}",
        "en": "The knowledge centre did not list your expert profile ({title}). Reason: {note}",
    },
    "profile.admin_title": {"nl": "Beheer van de registers", "en": "Register management"},
    "profile.admin_pending": {
        "nl": "*Expertprofielen die wachten op goedkeuring:* {count}",
        "en": "*Expert profiles awaiting approval:* {count}",
    },
    "profile.admin_stale": {
        "nl": "*Niet (recent) bevestigde profielen:* {count}",
        "en": "*Profiles not (recently) confirmed:* {count}",
    },
    "profile.admin_more": {"nl": "… en nog {count}.", "en": "… and {count} more."},
    "profile.admin_hint": {
        "nl": "Eén expert bekijken: `/wieweet beheer <e-mailadres of @naam>`. Wijzigingen staan in `wieweet audit`.",
        "en": "One expert: `/wieweet admin <e-mail address or @name>`. Changes are in `wieweet audit`.",
    },
    "profile.admin_not_found": {
        "nl": "Geen expert gevonden voor {who}.",
        "en": "No expert found for {who}.",
    },
    "field.missing": {"nl": "Dit veld is verplicht.", "en": "This field is required."},
    "field.too_long": {"nl": "Dit is te lang.", "en": "This is too long."},
    "field.bad_characters": {
        "nl": "Bevat onzichtbare tekens die geen tekst zijn.",
        "en": "Contains invisible characters that are not text.",
    },
    "field.bad_email": {"nl": "Dit is geen geldig e-mailadres.", "en": "This is not a valid e-mail address."},
    "field.bad_language": {
        "nl": "Gebruik taalcodes van twee letters (nl, en, fr).",
        "en": "Use two-letter language codes (nl, en, fr).",
    },
    "field.unknown_theme": {"nl": "Onbekend thema.", "en": "Unknown theme."},
    "field.email_taken": {
        "nl": "Dit adres hoort bij een ander profiel in het register; vraag het kenniscentrum om het te koppelen.",
        "en": "This address belongs to another profile in the register; ask the knowledge centre to link it.",
    },
    "field.suggestion": {"nl": "Bedoel je {suggestion}?", "en": "Did you mean {suggestion}?"},
    "error.invalid_record": {
        "nl": "Er klopt iets niet in het formulier; kijk de velden na en probeer opnieuw.",
        "en": "Something in the form is not right; check the fields and try again.",
    },
    "error.profile_state": {
        "nl": "Dat kan niet meer: het profiel werd intussen al behandeld.",
        "en": "That is no longer possible: the profile was already handled.",
    },
    "error.no_expert": {
        "nl": "Dat expertprofiel bestaat niet (meer).",
        "en": "That expert profile does not exist (any more).",
    },
}

# practice submissions from chat and their moderation by staff
PRACTICE_CATALOG: Mapping[str, Mapping[str, str]] = {
    "practice.new_title": {"nl": "Praktijk delen", "en": "Share a practice"},
    "practice.edit_title": {"nl": "Praktijk bewerken", "en": "Edit practice"},
    "practice.submit": {"nl": "Indienen", "en": "Submit"},
    "practice.save": {"nl": "Bewaren", "en": "Save"},
    "practice.intro": {
        "nl": "Deel een praktijk van je stad of organisatie: wat werkte, en ook wat niet. "
        "Het kenniscentrum kijkt ze na voor ze in *Wie weet?* verschijnt.",
        "en": "Share a practice of your city or organisation: what worked, and also what did not. "
        "The knowledge centre reviews it before it appears in *Wie weet?*.",
    },
    "practice.from_message": {
        "nl": "Ingevuld op basis van het bericht; vul aan of verbeter waar nodig.",
        "en": "Filled in from the message; complete or correct it where needed.",
    },
    "practice.field_title": {"nl": "Titel", "en": "Title"},
    "practice.field_summary": {"nl": "Beschrijving", "en": "Description"},
    "practice.field_city": {"nl": "Stad of gemeente", "en": "City"},
    "practice.field_organisation": {"nl": "Organisatie", "en": "Organisation"},
    "practice.field_themes": {"nl": "Thema's", "en": "Themes"},
    "practice.field_tags": {"nl": "Trefwoorden", "en": "Keywords"},
    "practice.field_outcome": {"nl": "Resultaat", "en": "Outcome"},
    "practice.field_lessons": {"nl": "Lessen", "en": "Lessons learned"},
    "practice.field_contact_email": {"nl": "Contactadres", "en": "Contact address"},
    "practice.field_url": {"nl": "Link", "en": "Link"},
    "practice.field_year": {"nl": "Jaar", "en": "Year"},
    "practice.hint_tags": {"nl": "Gescheiden door ; bv. heffing; winkels", "en": "Separated by ; e.g. levy; shops"},
    "practice.hint_contact_email": {
        "nl": "Het adres van een expert in het register koppelt de praktijk aan die expert.",
        "en": "The address of an expert in the register links the practice to that expert.",
    },
    "practice.hint_url": {"nl": "Begint met https://", "en": "Starts with https://"},
    "practice.hint_year": {"nl": "Bv. 2024", "en": "E.g. 2024"},
    "practice.outcome_good": {"nl": "Goed", "en": "Good"},
    "practice.outcome_mixed": {"nl": "Gemengd", "en": "Mixed"},
    "practice.outcome_failed": {"nl": "Mislukt", "en": "Failed"},
    "practice.submitted": {
        "nl": "✅ Bedankt! Je praktijk *{title}* is ingediend. Het kenniscentrum kijkt ze na; "
        "je krijgt een bericht zodra ze beslist hebben.",
        "en": "✅ Thank you! Your practice *{title}* was submitted. The knowledge centre reviews it; "
        "you will get a message once they have decided.",
    },
    "practice.saved": {"nl": "✅ Praktijk *{title}* bewaard.", "en": "✅ Saved the practice *{title}*."},
    "practice.review_intro": {
        "nl": "📥 *Nieuwe praktijk* ingediend door {name}, wacht op goedkeuring:",
        "en": "📥 *New practice* submitted by {name}, awaiting approval:",
    },
    "practice.someone": {"nl": "iemand", "en": "someone"},
    "practice.btn_approve": {"nl": "Goedkeuren", "en": "Approve"},
    "practice.btn_edit": {"nl": "Bewerken", "en": "Edit"},
    "practice.btn_reject": {"nl": "Weigeren", "en": "Reject"},
    "practice.btn_remove": {"nl": "Verwijderen", "en": "Remove"},
    "practice.review_approved": {"nl": "✅ Goedgekeurd door {staff}", "en": "✅ Approved by {staff}"},
    "practice.review_rejected": {
        "nl": "❌ Geweigerd door {staff}: {reason}",
        "en": "❌ Rejected by {staff}: {reason}",
    },
    "practice.review_edited": {"nl": "✏️ Bewerkt door {staff}", "en": "✏️ Edited by {staff}"},
    "practice.review_removed": {"nl": "🗑️ Verwijderd door {staff}", "en": "🗑️ Removed by {staff}"},
    "practice.reject_title": {"nl": "Praktijk weigeren", "en": "Reject practice"},
    "practice.field_reject_reason": {
        "nl": "Reden (de indiener krijgt ze te zien)",
        "en": "Reason (the submitter will see it)",
    },
    "practice.approved_done": {"nl": "Praktijk *{title}* goedgekeurd.", "en": "Approved the practice *{title}*."},
    "practice.rejected_done": {"nl": "Praktijk *{title}* geweigerd.", "en": "Rejected the practice *{title}*."},
    "practice.removed": {
        "nl": "Praktijk *{title}* is uit het register verwijderd.",
        "en": "The practice *{title}* was removed from the register.",
    },
    "practice.remove_confirm_title": {"nl": "Praktijk verwijderen?", "en": "Remove practice?"},
    "practice.remove_confirm_text": {
        "nl": "{title} wordt uit het register verwijderd. Dit kan niet ongedaan gemaakt worden.",
        "en": "{title} will be removed from the register. This cannot be undone.",
    },
    "practice.approved_notice": {
        "nl": "✅ Je praktijk *{title}* is goedgekeurd en is nu te vinden in *Wie weet?*. Bedankt om te delen!",
        "en": "✅ Your practice *{title}* was approved and can now be found in *Wie weet?*. Thanks for sharing!",
    },
    "practice.rejected_notice": {
        "nl": "Je praktijk *{title}* werd niet opgenomen door het kenniscentrum. Reden: {note}",
        "en": "The knowledge centre did not include your practice *{title}*. Reason: {note}",
    },
    "practice.status_pending": {"nl": "⏳ Wacht op goedkeuring", "en": "⏳ Awaiting approval"},
    "practice.status_published": {"nl": "✅ Gepubliceerd", "en": "✅ Published"},
    "practice.status_rejected": {"nl": "❌ Geweigerd", "en": "❌ Rejected"},
    "practice.submitted_by": {"nl": "Ingediend door {name}", "en": "Submitted by {name}"},
    "practice.admin_pending": {
        "nl": "*Ingediende praktijken die wachten op goedkeuring:* {count}",
        "en": "*Submitted practices awaiting approval:* {count}",
    },
    "practice.admin_more": {"nl": "… en nog {count}.", "en": "… and {count} more."},
    "field.unknown_outcome": {
        "nl": "Kies goed, gemengd of mislukt.",
        "en": "Choose good, mixed or failed.",
    },
    "field.bad_year": {
        "nl": "Dit is geen geldig jaar (schrijf het als 2019).",
        "en": "This is not a valid year (write it like 2019).",
    },
    "field.bad_url": {
        "nl": "Dit is geen webadres (het moet beginnen met http:// of https://).",
        "en": "This is not a web address (it must start with http:// or https://).",
    },
    "field.practice_taken": {
        "nl": "Er staat al een praktijk met deze titel en stad in het register (of ze wacht op goedkeuring).",
        "en": "A practice with this title and city is already in the register (or awaiting approval).",
    },
    "error.already_moderated": {
        "nl": "Dat kan niet meer: het kenniscentrum heeft deze praktijk al behandeld.",
        "en": "That is no longer possible: the knowledge centre already handled this practice.",
    },
    "error.no_practice": {
        "nl": "Die praktijk bestaat niet (meer).",
        "en": "That practice does not exist (any more).",
    },
}

# privacy rights: "mijn gegevens" (data export) and "vergeet mij" (erasure)
PRIVACY_CATALOG: Mapping[str, Mapping[str, str]] = {
    "privacy.export_comment": {
        "nl": "Dit is alles wat *Wie weet?* over je bewaart, als JSON-bestand. Wat we bewaren, waarom en hoe lang, "
        "staat in de README van wieweet. Wil je dat we je vergeten? Typ `/wieweet vergeet mij`.",
        "en": "This is everything *Wie weet?* stores about you, as a JSON file. What we store, why and for how long is "
        "in wieweet's README. Want us to forget you? Type `/wieweet forget me`.",
    },
    "privacy.export_title": {"nl": "Mijn gegevens in Wie weet?", "en": "My data in Wie weet?"},
    "privacy.export_sent": {
        "nl": "📦 Ik stuurde je een bestand met al je gegevens in een privébericht.",
        "en": "📦 I sent you a file with all your data in a direct message.",
    },
    "privacy.forget_intro": {
        "nl": "*Vergeet mij.* Je expertprofiel wordt verwijderd. Vragen en antwoorden die publiek waren en "
        "beantwoord zijn, blijven bewaard als kennis, maar zonder je naam, Slack-id of e-mailadres. Al de rest over "
        "jou (je andere vragen, zoekopdrachten, feedback, berichten) wordt gewist. Berichten die al in Slack staan, "
        "verwijdert Wie weet? niet. Dit kan niet ongedaan gemaakt worden.",
        "en": "*Forget me.* Your expert profile is removed. Questions and answers that were public and answered are "
        "kept as knowledge, but without your name, Slack id or e-mail address. Everything else about you (your other "
        "questions, searches, feedback, messages) is erased. Messages already in Slack are not deleted by Wie weet?. "
        "This cannot be undone.",
    },
    "privacy.forget_button": {"nl": "Vergeet mij", "en": "Forget me"},
    "privacy.confirm_title": {"nl": "Alles over jou wissen?", "en": "Erase everything about you?"},
    "privacy.confirm_text": {
        "nl": "Wie weet? wist je gegevens nu. Dit kan niet ongedaan gemaakt worden.",
        "en": "Wie weet? erases your data now. This cannot be undone.",
    },
    "privacy.confirm_yes": {"nl": "Ja, wis alles", "en": "Yes, erase it"},
    "privacy.confirm_no": {"nl": "Annuleren", "en": "Cancel"},
    "privacy.forgotten": {
        "nl": "✅ Klaar: Wie weet? heeft je gegevens gewist. Publieke antwoorden blijven anoniem vindbaar als kennis.",
        "en": "✅ Done: Wie weet? erased your data. Public answers stay findable as anonymous knowledge.",
    },
    "error.privacy_input": {
        "nl": "Ik weet niet over wie het gaat: geef een Slack-id of e-mailadres.",
        "en": "I don't know who this is about: give a Slack id or an e-mail address.",
    },
    "error.erasure_incomplete": {
        "nl": "Het wissen is niet gelukt; er werd niets gewijzigd. Het kenniscentrum bekijkt het.",
        "en": "The erasure did not succeed; nothing was changed. The knowledge centre will look into it.",
    },
}


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
