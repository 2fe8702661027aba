"""What readers of a digest see, in Dutch (default) and English.

Same shape as ``bot.i18n.CATALOG`` (``{key: {"nl": ..., "en": ...}}``); ``tr(key, lang, **values)`` picks the
language (falling back to Dutch) and fills in ``str.format`` placeholders. Values are inserted as given: callers
escape user and register text before it goes in.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import DEFAULT_LANGUAGE, render

CATALOG: Mapping[str, Mapping[str, str]] = {
    "digest.title": {"nl": "Weekoverzicht wieweet · {range}", "en": "wieweet weekly digest · {range}"},
    "digest.fallback": {"nl": "Weekoverzicht wieweet {range}", "en": "wieweet weekly digest {range}"},
    "digest.intro": {
        "nl": "Wat er nieuw is in het netwerk van de centrumsteden — {themes}.",
        "en": "What's new in the network of the centre cities — {themes}.",
    },
    "digest.all_themes": {"nl": "alle thema's", "en": "all themes"},
    "digest.part": {"nl": "deel {part}/{parts}", "en": "part {part} of {parts}"},
    "digest.continued": {"nl": "{theme} (vervolg)", "en": "{theme} (continued)"},
    "digest.quiet": {
        "nl": ":zzz: Een rustige week: niets nieuws over {themes}.",
        "en": ":zzz: A quiet week: nothing new on {themes}.",
    },
    "digest.practices": {"nl": ":books: *Praktijken*", "en": ":books: *Practices*"},
    "digest.practice_new": {"nl": "nieuw", "en": "new"},
    "digest.practice_updated": {"nl": "bijgewerkt", "en": "updated"},
    "digest.answered": {
        "nl": ":white_check_mark: *Beantwoorde vragen*",
        "en": ":white_check_mark: *Answered questions*",
    },
    "digest.answered_by": {"nl": "beantwoord door {names}", "en": "answered by {names}"},
    "digest.open": {
        "nl": ":raising_hand: *Open vragen — wie kan helpen?*",
        "en": ":raising_hand: *Open questions — who can help?*",
    },
    "digest.open_since": {"nl": "gesteld op {date}", "en": "asked on {date}"},
    "digest.open_days": {"nl": "{days} dagen open", "en": "open for {days} days"},
    "digest.can_help": {"nl": "Ik kan helpen", "en": "I can help"},
    "digest.experts": {"nl": ":wave: *Nieuwe experts*", "en": ":wave: *New experts*"},
    "digest.gaps": {
        "nl": ":mag: *Kennislacunes* — vragen waarvoor niemand gevonden werd",
        "en": ":mag: *Knowledge gaps* — questions that matched nobody",
    },
    "digest.more": {"nl": "… en nog {count}", "en": "… and {count} more"},
    "digest.figures": {
        "nl": ":bar_chart: Vragen gesteld: *{asked}* (vorige week: {prev_asked}) · beantwoord: *{answered}* "
        "({prev_answered}) · mediane antwoordtijd: *{median}* ({prev_median})",
        "en": ":bar_chart: Questions asked: *{asked}* (previous week: {prev_asked}) · answered: *{answered}* "
        "({prev_answered}) · median time to answer: *{median}* ({prev_median})",
    },
    "digest.trend": {
        "nl": "Vragen per week, laatste 8 weken: {spark}",
        "en": "Questions per week, last 8 weeks: {spark}",
    },
    "digest.thanks": {
        "nl": ":pray: Dank je wel, {names}, voor de antwoorden deze week!",
        "en": ":pray: Thank you, {names}, for this week's answers!",
    },
    "digest.colleague": {"nl": "een collega", "en": "a colleague"},
    "digest.colleagues": {"nl": "{count} collega's", "en": "{count} colleagues"},
    "digest.others": {"nl": "{count} anderen", "en": "{count} others"},
    "digest.and": {"nl": "en", "en": "and"},
    "digest.footer": {
        "nl": "Elke {day} om {time} · alleen openbare vragen en antwoorden komen in dit overzicht.",
        "en": "Every {day} at {time} · only public questions and answers appear in this digest.",
    },
    "digest.other_theme": {"nl": "Overige", "en": "Other"},
    "digest.none": {"nl": "—", "en": "—"},
    "duration.minutes": {"nl": "{minutes} min", "en": "{minutes} min"},
    "duration.hours": {"nl": "{hours} u", "en": "{hours} h"},
    "duration.days": {"nl": "{days} d", "en": "{days} d"},
    "duration.days_hours": {"nl": "{days} d {hours} u", "en": "{days} d {hours} h"},
}

WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

MONTHS: Mapping[str, tuple[str, ...]] = {
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def tr(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    return render(CATALOG, key, lang, values)


def weekday_name(weekday: int, lang: str) -> str:
    return WEEKDAYS.get(lang, WEEKDAYS[DEFAULT_LANGUAGE])[weekday]


def month_name(month: int, lang: str) -> str:
    return MONTHS.get(lang, MONTHS[DEFAULT_LANGUAGE])[month - 1]
