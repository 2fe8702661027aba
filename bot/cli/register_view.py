"""What ``wieweet register list`` and ``register show`` print, in the operator's language (``WIEWEET_LANGUAGE``).

The table headers, the labels of a profile, an expert's availability, consent and listing state and a practice's
outcome are words for a person; the register's keys (e-mail addresses, theme keys, a Slack id, a mark's reason)
stay as stored. A state shows its stored code beside its word in every language ("nog niet bevestigd (pending)",
"pending (pending)"), the code the import file, `--consent-on-paper` and the audit log use. Times are in
``WIEWEET_TIMEZONE`` as ``question show`` and ``queued list`` write them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.cli.wording import local_time, state
from bot.i18n import N_, format_number, local_day, t, theme_label, tn
from bot.register.listing import ExpertProfile
from bot.register.marked import AwayMark, slack_said
from storage.enums import Availability, Consent, Outcome, RecordStatus
from storage.models import Expert, Practice

OUTCOME_KEYS = {  # a practice's outcome, in the words the import also reads ("goed", "gemengd", "mislukt")
    Outcome.GOOD: N_("cli.outcome_good"),
    Outcome.MIXED: N_("cli.outcome_mixed"),
    Outcome.FAILED: N_("cli.outcome_failed"),
}
AVAILABILITY_KEYS = {
    Availability.AVAILABLE: N_("availability.available"),
    Availability.AWAY: N_("availability.away"),
    Availability.OPTED_OUT: N_("availability.opted_out"),
}
CONSENT_KEYS = {
    Consent.PENDING: N_("cli.consent_pending"),
    Consent.CONFIRMED: N_("cli.consent_confirmed"),
    Consent.WITHDRAWN: N_("cli.consent_withdrawn"),
}
STATUS_KEYS = {  # an expert's listing (RecordStatus)
    RecordStatus.PUBLISHED: N_("cli.record_published"),
    RecordStatus.PENDING: N_("cli.record_pending"),
    RecordStatus.REJECTED: N_("cli.record_rejected"),
}
EXPERT_COLUMNS = (  # the headers of `register list experts`
    N_("cli.col_email"),
    N_("cli.col_name"),
    N_("cli.col_organisation"),
    N_("cli.col_city"),
    N_("cli.col_themes"),
)
PRACTICE_COLUMNS = (
    N_("cli.col_city"),
    N_("cli.col_year"),
    N_("cli.col_outcome"),
    N_("cli.col_title"),
    N_("cli.col_themes"),
)
LABEL_KEYS = {  # a profile's labels, in this order
    "organisation": N_("cli.profile_organisation"),
    "role": N_("cli.profile_role"),
    "slack": N_("cli.profile_slack"),
    "expertise": N_("cli.profile_expertise"),
    "themes": N_("cli.profile_themes"),
    "languages": N_("cli.profile_languages"),
    "availability": N_("cli.profile_availability"),
    "consent": N_("cli.profile_consent"),
    "confirmed": N_("cli.profile_confirmed"),
    "max_open": N_("cli.profile_max_open"),
    "status": N_("cli.profile_status"),
    "bio": N_("cli.profile_bio"),
    "practices": N_("cli.profile_practices"),
}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def outcome_word(outcome: Outcome | None, lang: str) -> str:
    return t(OUTCOME_KEYS[outcome], lang) if outcome is not None else "-"


def expert_table(experts: Sequence[Expert], lang: str, *, filtered: bool) -> list[str]:
    """``register list experts``: a header, a line per expert (e-mail, name, organisation, city, theme keys) and
    their count; one line saying there are none when there are none."""
    if not experts:
        return [t("cli.register_no_experts_match" if filtered else "cli.register_no_experts", lang)]
    email, name, organisation, city, themes = (t(key, lang) for key in EXPERT_COLUMNS)
    lines = [f"{email:<40} {name:<28} {organisation:<28} {city:<14} {themes}"]
    for e in experts:
        themes = ",".join(theme.key for theme in e.themes) or "-"
        lines.append(
            f"{_cut(e.email, 40):<40} {_cut(e.name, 28):<28} {_cut(e.organisation, 28):<28} "
            f"{_cut(e.city or '-', 14):<14} {themes}"
        )
    n, count = len(experts), format_number(len(experts), lang)
    return [*lines, tn("cli.register_experts", "cli.register_experts_plural", n, lang, count=count)]


def practice_table(practices: Sequence[Practice], lang: str, *, filtered: bool) -> list[str]:
    """``register list practices``: a header, a line per practice (city, year, outcome, title, theme keys) and
    their count; one line saying there are none when there are none."""
    if not practices:
        return [t("cli.register_no_practices_match" if filtered else "cli.register_no_practices", lang)]
    city, year, outcome, title, themes = (t(key, lang) for key in PRACTICE_COLUMNS)
    lines = [f"{city:<14} {year:<5} {outcome:<8} {title:<60} {themes}"]
    for p in practices:
        themes = ",".join(theme.key for theme in p.themes) or "-"
        shown_year = str(p.year) if p.year else "-"
        lines.append(
            f"{_cut(p.city or '-', 14):<14} {shown_year:<5} {outcome_word(p.outcome, lang):<8} "
            f"{_cut(p.title, 60):<60} {themes}"
        )
    n, count = len(practices), format_number(len(practices), lang)
    return [*lines, tn("cli.register_practices", "cli.register_practices_plural", n, lang, count=count)]


def _availability(expert: Expert, mark: AwayMark | None, lang: str, tz: ZoneInfo) -> str:
    shown = state(t(AVAILABILITY_KEYS[expert.availability], lang), expert.availability.value)
    if expert.away_until:
        shown += " " + t("cli.profile_until", lang, date=expert.away_until.isoformat())
    if mark is None:
        return shown
    kept = ""  # a kept mark too: its reason, not a bare "away"
    if mark.kept_at is not None:
        kept = t("cli.profile_mark_kept", lang, day=local_day(mark.kept_at, tz).isoformat())
    day = local_day(mark.marked_at, tz).isoformat()
    return f"{shown} " + t(
        "cli.profile_marked", lang, day=day, reason=slack_said(mark.reason, lang), kept=kept, email=expert.email
    )


def profile_lines(profile: ExpertProfile, mark: AwayMark | None, lang: str, tz: ZoneInfo) -> list[str]:
    """``register show``: one expert's profile, each label in the operator's language, aligned."""
    expert = profile.expert
    labels = {name: t(key, lang) + ":" for name, key in LABEL_KEYS.items()}
    width = max(len(label) for label in labels.values()) + 1

    def line(name: str, value: str) -> str:
        return f"  {labels[name]:<{width}}{value}"

    themes = ", ".join(f"{theme.key} ({theme_label(theme, lang)})" for theme in expert.themes)
    confirmed = local_time(expert.last_confirmed_at, tz) if expert.last_confirmed_at else t("cli.profile_never", lang)
    slack = expert.slack_user_id or "- " + t("cli.profile_not_in_slack", lang)
    status = state(t(STATUS_KEYS[expert.status], lang), expert.status.value)
    lines = [
        f"{expert.name} <{expert.email}>",
        line("organisation", expert.organisation + (f" ({expert.city})" if expert.city else "")),
        line("role", expert.role or "-"),
        line("slack", slack),
        line("expertise", "; ".join(expert.expertise) or "-"),
        line("themes", themes or "-"),
        line("languages", ", ".join(expert.languages) or "-"),
        line("availability", _availability(expert, mark, lang, tz)),
        line("consent", state(t(CONSENT_KEYS[expert.consent], lang), expert.consent.value)),
        line("confirmed", confirmed),
        line("max_open", format_number(expert.max_open_questions, lang)),
        line("status", f"{status}; " + t("cli.profile_source", lang, source=expert.source)),
    ]
    if expert.bio:
        lines.append(f"  {labels['bio']}")
        lines += textwrap.wrap(expert.bio, width=100, initial_indent="    ", subsequent_indent="    ")
    else:
        lines.append(line("bio", "-"))
    lines.append(line("practices", format_number(len(profile.practices), lang)))
    for p in profile.practices:
        outcome = f", {outcome_word(p.outcome, lang)}" if p.outcome else ""
        year = f", {p.year}" if p.year else ""
        lines.append(f"    - {p.title} ({p.city or p.organisation or '-'}{year}{outcome})")
    return lines
