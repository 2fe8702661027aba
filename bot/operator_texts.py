"""What the command line says to its operator about a setting refused, a file it cannot write and a value given to a
command in the wrong form, in ``WIEWEET_LANGUAGE``: the catalogue key of each ``Problem`` code
(``bot.errors.setting_refused``, ``bot.files``, ``handlers.slack_settings``, ``bot.cli.options``,
``digests.subscriptions``) and the words for the values they hold.

The problem itself stays an English line (logs, ``load_settings`` in a test); the values it quotes went through
``bot.text.shown_value`` where they were refused, so no text here shows a secret. A library's or the system's own
text (``Detail``) comes after what it means, masked (``bot.error_texts.detail_text``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from babel.lists import format_list

from bot.error_texts import detail_text
from bot.errors import Amount, Count, Detail, Problem
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, format_number, locale, t, tn

OPERATOR_KEYS: Mapping[str, str] = {
    # a setting's value refused (bot.setting_values, bot.network, bot.config)
    "setting_staff_user_ids": N_("setting.staff_user_ids"),
    "setting_seconds": N_("setting.seconds"),
    "setting_seconds_positive": N_("setting.seconds_positive"),
    "setting_flag": N_("setting.flag"),
    "setting_gap_levels": N_("setting.gap_levels"),
    "setting_whole_number": N_("setting.whole_number"),
    "setting_at_least": N_("setting.at_least"),
    "setting_at_most": N_("setting.at_most"),
    "setting_timezone": N_("setting.timezone"),
    "setting_holidays": N_("setting.holidays"),
    "setting_holidays_none": N_("setting.holidays_none"),
    "setting_api_url": N_("setting.api_url"),
    "setting_api_url_http": N_("setting.api_url_http"),
    "setting_api_url_userinfo": N_("setting.api_url_userinfo"),
    "setting_api_url_query": N_("setting.api_url_query"),
    "setting_api_url_characters": N_("setting.api_url_characters"),
    "setting_triage_channel": N_("setting.triage_channel"),
    "setting_staff_usergroup": N_("setting.staff_usergroup"),
    "setting_share": N_("setting.share"),
    "setting_share_range": N_("setting.share_range"),
    "setting_allowed_teams": N_("setting.allowed_teams"),
    "setting_language": N_("setting.language"),
    "setting_slack_app_id": N_("setting.slack_app_id"),
    "setting_unknown": N_("setting.unknown"),
    "setting_unknown_close": N_("setting.unknown_close"),
    # ... the database URL (bot.setting_values.normalise_database_url: WIEWEET_DATABASE_URL or --database)
    "setting_db_empty": N_("setting.db_empty"),
    "setting_db_scheme": N_("setting.db_scheme"),
    "setting_db_port": N_("setting.db_port"),
    "setting_db_url": N_("setting.db_url"),
    "setting_db_driver_argument": N_("setting.db_driver_argument"),
    "setting_db_plugin": N_("setting.db_plugin"),
    "setting_db_plugins": N_("setting.db_plugins"),
    "setting_db_option": N_("setting.db_option"),
    "setting_db_option_close": N_("setting.db_option_close"),
    "setting_db_mangled": N_("setting.db_mangled"),
    "setting_db_sqlite_slashes": N_("setting.db_sqlite_slashes"),
    "setting_db_memory": N_("setting.db_memory"),
    # ... Slack's tokens and signing secret (handlers.slack_settings)
    "setting_no_bot_token": N_("setting.no_bot_token"),
    "setting_no_app_token": N_("setting.no_app_token"),
    "setting_no_signing_secret": N_("setting.no_signing_secret"),
    "setting_secret_characters": "setting.secret_characters",  # a plural: said by ``_one``
    "setting_secret_short": N_("setting.secret_short"),
    "setting_token_kind": N_("setting.token_kind"),
    "setting_token_bearer": N_("setting.token_bearer"),
    "setting_token_before": "setting.token_before",  # a plural: said by ``_one``
    "setting_token_prefix_only": N_("setting.token_prefix_only"),
    "setting_token_quoted": N_("setting.token_quoted"),
    "setting_token_pasted": N_("setting.token_pasted"),
    "setting_token_copied": N_("setting.token_copied"),
    "setting_chars_line_breaks": "setting.chars_line_breaks",  # ... these four: plurals, said by ``_one``
    "setting_chars_spaces": "setting.chars_spaces",
    "setting_chars_quotes": "setting.chars_quotes",
    "setting_chars_other": "setting.chars_other",
    "setting_token_refused": N_("setting.token_refused"),
    "setting_slack_unreachable": N_("setting.slack_unreachable"),
    # ... a command that needs the bot token (digest --send-due, register check-slack)
    "setting_no_token_digest": N_("setting.no_token_digest"),
    "setting_no_token_check": N_("setting.no_token_check"),
    # a file that cannot be written (bot.files)
    "file_no_folder": N_("file.no_folder"),
    "file_folder_not_folder": N_("file.folder_not_folder"),
    "file_is_folder": N_("file.is_folder"),
    "file_not_writable": N_("file.not_writable"),
    "file_folder_write_failed": N_("file.folder_write_failed"),
    "file_write_failed": N_("file.write_failed"),
    # a value given to a command in the wrong form (bot.cli.options, digests.subscriptions): the value as given,
    # quoted by ``shown_value``
    "input_time_format": N_("cli.input_time_format"),
    "input_time_offset": N_("cli.input_time_offset"),
    "input_time_year": N_("cli.input_time_year"),
    "input_channel_id": N_("cli.input_channel_id"),
    "input_day": N_("cli.input_day"),
    "input_time": N_("cli.input_time"),
    "input_weekday": N_("cli.input_weekday"),
    "input_clock": N_("cli.input_clock"),
    "input_language": N_("cli.input_language"),
    "input_themes": "cli.input_themes",  # a plural: said by ``_one`` (digests.subscriptions.resolve_themes)
    "input_theme": N_("cli.input_theme"),
    "input_theme_close": N_("cli.input_theme_close"),
    "input_no_themes": N_("cli.input_no_themes"),
    "theme_filter": N_("cli.theme_filter"),  # bot.register.listing (register list --theme)
    "theme_filter_close": N_("cli.theme_filter_close"),
    "input_week": N_("cli.input_week"),  # digests.period
    "input_week_year": N_("cli.input_week_year"),
    "input_week_number": N_("cli.input_week_number"),
    "input_period": N_("cli.input_period"),  # bot.needs.periods
    "input_period_year": N_("cli.input_period_year"),
    "input_period_order": N_("cli.input_period_order"),
    "input_period_span": N_("cli.input_period_span"),
    # the command line's own (bot.cli.digest_cmds, bot.cli.database)
    "digest_not_subscribed": N_("cli.digest_not_subscribed"),
    "digest_future_week": N_("cli.digest_future_week"),  # digests.restored (digest mark-posted)
    "no_database": N_("cli.no_database"),
    "no_database_folder": N_("cli.no_database_folder"),
}

UNIT_KEYS: Mapping[str, str] = {  # a number of these, as "a whole number of days" names them
    "days": N_("setting.unit_days"),
    "seconds": N_("setting.unit_seconds"),
    "bytes": N_("setting.unit_bytes"),
    "connections": N_("setting.unit_connections"),
    "questions": N_("setting.unit_questions"),
    "organisations": N_("setting.unit_organisations"),
    "weeks": N_("setting.unit_weeks"),
}

TOKEN_KIND_KEYS: Mapping[str, str] = {  # a Slack token by its prefix (handlers.slack_settings.token_problem)
    "xoxb-": N_("setting.kind_bot_token"),
    "xapp-": N_("setting.kind_app_token"),
}


def _amount(amount: Amount, lang: str) -> str:
    """ "1 dag", "30 seconden", "4.096 bytes": a limit of a setting with its unit."""
    n, count = int(amount), format_number(int(amount), lang)
    amounts: dict[str, Callable[[], str]] = {
        "days": lambda: tn("setting.amount_days", "setting.amount_days_plural", n, lang, count=count),
        "seconds": lambda: tn("setting.amount_seconds", "setting.amount_seconds_plural", n, lang, count=count),
        "bytes": lambda: tn("setting.amount_bytes", "setting.amount_bytes_plural", n, lang, count=count),
        "connections": lambda: tn(
            "setting.amount_connections", "setting.amount_connections_plural", n, lang, count=count
        ),
        "questions": lambda: tn("setting.amount_questions", "setting.amount_questions_plural", n, lang, count=count),
        "organisations": lambda: tn(
            "setting.amount_organisations", "setting.amount_organisations_plural", n, lang, count=count
        ),
        "weeks": lambda: tn("setting.amount_weeks", "setting.amount_weeks_plural", n, lang, count=count),
        "characters": lambda: tn("setting.amount_characters", "setting.amount_characters_plural", n, lang, count=count),
    }
    said = amounts.get(amount.unit)
    return said() if said is not None else f"{count} {amount.unit}"


def _value(name: str, value: object, lang: str) -> object:
    """One value of a problem as ``lang`` says it."""
    if isinstance(value, Detail):
        return detail_text(value, lang)
    if isinstance(value, Amount):
        return _amount(value, lang)
    if isinstance(value, Count):
        return format_number(value, lang)
    if isinstance(value, Problem):
        return operator_text(value, lang)
    if isinstance(value, tuple):
        return ", ".join(operator_text(part, lang) for part in value)
    if name == "unit" and str(value) in UNIT_KEYS:
        return t(UNIT_KEYS[str(value)], lang)
    if name == "kind" and str(value) in TOKEN_KIND_KEYS:
        return t(TOKEN_KIND_KEYS[str(value)], lang)
    return value


def _one(line: Problem, lang: str) -> str:
    values = {name: _value(name, value, lang) for name, value in line.values.items()}
    if line.code in {"setting_language", "input_language"}:
        values["choices"] = format_list([repr(code) for code in LANGUAGES], style="or", locale=locale(lang))
    if line.code == "setting_secret_short":  # "1 teken", "10 tekens" (handlers.slack_settings holds the count alone)
        values["count"] = _amount(Amount(int(line.values.get("count", 0)), "characters"), lang)  # type: ignore[call-overload]
    if line.code in {"setting_db_option", "setting_db_option_close"}:
        more = int(line.values.get("more", 0))  # type: ignore[call-overload]
        values["more"] = (
            tn("setting.db_option_more", "setting.db_option_more_plural", more, lang, count=format_number(more, lang))
            if more
            else ""
        )
    if line.code == "input_themes":  # the refused themes past the first few, counted: " en nog 3 andere"
        more = int(line.values.get("more", 0))  # type: ignore[call-overload]
        values["more"] = (
            tn("cli.input_themes_more", "cli.input_themes_more_plural", more, lang, count=format_number(more, lang))
            if more
            else ""
        )
    n = int(line.values.get("count", 0))  # type: ignore[call-overload]
    counted: dict[str, Callable[[], str]] = {  # the texts whose words follow their count: "1 teken", "3 tekens"
        "setting_secret_characters": lambda: tn(
            "setting.secret_characters", "setting.secret_characters_plural", n, lang, **values
        ),
        "setting_token_before": lambda: tn("setting.token_before", "setting.token_before_plural", n, lang, **values),
        "setting_chars_line_breaks": lambda: tn(
            "setting.chars_line_breaks", "setting.chars_line_breaks_plural", n, lang, **values
        ),
        "setting_chars_spaces": lambda: tn("setting.chars_spaces", "setting.chars_spaces_plural", n, lang, **values),
        "setting_chars_quotes": lambda: tn("setting.chars_quotes", "setting.chars_quotes_plural", n, lang, **values),
        "setting_chars_other": lambda: tn("setting.chars_other", "setting.chars_other_plural", n, lang, **values),
        "input_themes": lambda: tn("cli.input_themes", "cli.input_themes_plural", n, lang, **values),
    }
    said = counted.get(line.code)
    return said() if said is not None else t(OPERATOR_KEYS[line.code], lang, **values)


def operator_text(line: str, lang: str) -> str:
    """A refused setting, a warning about one, a file that cannot be written or a value in the wrong form, in
    ``lang``; the English line itself for one without a text. A ``WIEWEET_LANGUAGE`` that is no language is said in
    every language, the default first: the operator who set it reads the default language, which may not be
    theirs."""
    if not isinstance(line, Problem) or line.code not in OPERATOR_KEYS:
        return str(line)
    try:
        if line.code == "setting_language":
            languages = sorted(LANGUAGES, key=lambda code: code != DEFAULT_LANGUAGE)
            return " / ".join(_one(line, language) for language in languages)
        return _one(line, lang)
    except (KeyError, IndexError):  # a text whose placeholders the problem does not fill
        return str(line)


def settings_text(problems: tuple[str, ...], lang: str) -> str:
    """Every refused setting of one start in ``lang``: one as it is, several as a list under a count."""
    if len(problems) == 1:
        return operator_text(problems[0], lang)
    count = format_number(len(problems), lang)
    head = tn("cli.settings_to_fix", "cli.settings_to_fix_plural", len(problems), lang, count=count)
    return head + "".join(f"\n  - {operator_text(problem, lang)}" for problem in problems)
