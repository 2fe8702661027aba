"""What a user reads for a domain error: the catalogue key of each ``WieweetError.code``.

One table instead of keys built from the code at run time, so every key is a literal that ``pybabel extract`` finds
(and the i18n tests check). The Slack error handler and the CLI both use ``error_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.errors import DETAIL_CHARS, Count, Detail, Problem, Size, WieweetError
from bot.i18n import N_, format_number, format_size, format_stored_date, t, tn
from bot.register.validation import FieldError
from bot.text import shown_text, shown_value

ERROR_KEYS: Mapping[str, str] = {
    # a "who knows" query that cannot be searched (bot.matching.query)
    "empty": N_("query.empty"),
    "only_stopwords": N_("query.only_stopwords"),
    "too_long": N_("query.too_long"),
    "no_words": N_("query.no_words"),
    "error": N_("query.error"),
    "not_text": N_("query.not_text"),  # bytes that are not text in a query read by the command line (bot.cli)
    # a search's buttons (bot.knowledge): the search log is gone, or is someone else's
    "search_expired": N_("error.search_expired"),
    "not_your_search": N_("error.not_your_search"),
    # routing: stale actions (bot.routing.states, bot.routing.service)
    "not_yours": N_("error.not_yours"),
    "not_asker": N_("error.not_asker"),
    "already_claimed": N_("error.already_claimed"),
    "claimed_by_other": N_("error.claimed_by_other"),
    "already_declined": N_("error.already_declined"),
    "already_forwarded": N_("error.already_forwarded"),
    "already_answered": N_("error.already_answered"),
    "routing_closed": N_("error.routing_closed"),
    "question_closed": N_("error.question_closed"),
    "already_snoozed": N_("error.already_snoozed"),
    "already_asked": N_("error.already_asked"),
    "not_answered": N_("error.not_answered"),
    "not_escalated": N_("error.not_escalated"),
    "concurrent_change": N_("error.concurrent_change"),
    "invalid_transition": N_("error.invalid_transition"),
    # routing: input to fix
    "nul_text": N_("error.nul_text"),  # a NUL the database refused (bot.errors.nul_text_error)
    "empty_question": N_("error.empty_question"),
    "empty_answer": N_("error.empty_answer"),
    "empty_information": N_("error.empty_information"),
    "invalid_rating": N_("error.invalid_rating"),
    "unknown_theme": N_("error.unknown_theme"),
    "desired_date_past": N_("error.desired_date_past"),
    "too_many_questions": N_("error.too_many_questions"),  # the per-asker rate limit (bot.routing.asker)
    "away_date_past": N_("error.away_date_past"),
    "forward_to_self": N_("error.forward_to_self"),
    "forward_to_asker": N_("error.forward_to_asker"),
    "help_own_question": N_("error.help_own_question"),  # the asker pressing "Ik kan helpen" on their question
    "help_withdrawn": N_("error.help_withdrawn"),  # ... someone who removed their listing (bot.routing.chosen)
    "help_opted_out": N_("error.help_opted_out"),  # ... someone who opted out of questions
    "ask_bot": N_("error.ask_bot"),  # forwarding to / assigning a bot (handlers.routing.require_reachable)
    "ask_deactivated": N_("error.ask_deactivated"),  # ... a deactivated Slack account
    "ask_unknown_user": N_("error.ask_unknown_user"),  # ... an id Slack does not know
    "ask_outside_network": N_("error.ask_outside_network"),  # ... someone of another organisation
    "ask_unchecked": N_("error.ask_unchecked"),  # ... while Slack cannot say who they are
    "cannot_ask": N_("error.cannot_ask"),  # anyone who may not be given the question (bot.routing.chosen)
    "too_many_picks": N_("error.too_many_picks"),  # ... after too many such refusals within the hour
    "chosen_away": N_("error.chosen_away"),  # ... someone away (bot.routing.chosen), without a date
    "chosen_away_until": N_("error.chosen_away_until"),  # ... someone away until a date
    "chosen_unconfirmed": N_("error.chosen_unconfirmed"),  # ... staff choosing someone whose listing is unconfirmed
    "invalid_slack_id": N_("error.invalid_slack_id"),
    "not_in_register": N_("error.not_in_register"),
    "not_found": N_("error.not_found"),
    # a channel shared with another organisation: no digest, no work session there (handlers.digests)
    "shared_channel": N_("error.shared_channel"),
    # who may do what (bot.actors)
    "not_staff": N_("error.not_staff"),
    "not_authorized": N_("error.not_authorized"),
    "bad_reference": N_("error.bad_reference"),  # a malformed id or metadata in a payload (handlers.claims)
    "ask_not_member": N_("error.ask_not_member"),  # a public question from a channel one is not in (bot.asking)
    "not_channel_member": N_("error.not_channel_member"),  # a channel's digest (digests.subscriptions)
    # the registers: profiles and practices (bot.register)
    "invalid_record": N_("error.invalid_record"),
    "profile_state": N_("error.profile_state"),
    "profile_changed": N_("error.profile_changed"),
    "profile_replaced": N_("error.profile_replaced"),  # a decision from the review of an earlier submission
    "profile_rejected": N_("error.profile_rejected"),  # available/confirm on a profile staff rejected (bot.register)
    "remove_stopped": N_("error.remove_stopped"),  # removing the entry of someone who withdrew (bot.register)
    "no_expert": N_("error.no_expert"),
    "already_moderated": N_("error.already_moderated"),
    "practice_changed": N_("error.practice_changed"),
    "no_practice": N_("error.no_practice"),
    # privacy rights (bot.privacy)
    "privacy_input": N_("error.privacy_input"),
    "erasure_incomplete": N_("error.erasure_incomplete"),
    # knowledge needs (bot.needs): periods, proposed work sessions, recruiting
    "invalid_period": N_("error.invalid_period"),
    "proposal_closed": N_("error.proposal_closed"),
    "proposal_invited": N_("error.proposal_invited"),  # a second invitation (bot.needs.proposal_actions)
    "proposal_inviting": N_("error.proposal_inviting"),  # an invitation under way (bot.needs.proposal_actions)
    "proposal_inviting_by": N_("error.proposal_inviting_by"),  # ... by {staff}, who holds it
    "proposal_close_inviting": N_("error.proposal_close_inviting"),  # a dismissal or done while it is under way
    "proposal_close_inviting_by": N_("error.proposal_close_inviting_by"),  # ... by {staff}
    "needs_no_label": N_("error.needs_no_label"),
    "no_proposal": N_("error.no_proposal"),
    "no_topic": N_("error.no_topic"),
    "not_a_candidate": N_("error.not_a_candidate"),
    "topic_label_gone": N_("error.topic_label_gone"),  # a recruiting DM's topic no longer shown as asked
    # the command line only (an operator's words): discarding queued messages and timers (bot.restore)
    "unknown_queued": N_("cli.unknown_queued"),
    "not_queued": N_("cli.not_queued"),
    "open_question_timers": N_("cli.open_question_timers"),
    # ... the erasure ledger applied again after a restore (bot.privacy.ledger)
    "ledger_not_one": N_("cli.ledger_not_one"),
    "ledger_damaged": N_("cli.ledger_damaged"),
    "ledger_no_key": N_("cli.ledger_no_key"),
    "ledger_other_key": N_("cli.ledger_other_key"),
    # wieweet privacy / audit (bot.privacy.person, bot.cli.privacy_cmds): nothing stored about them, a typo'd entity
    "no_person": N_("cli.no_person"),
    "unknown_entity": N_("cli.unknown_entity"),
    # ... a register export's file (bot.register.files.write_register_file)
    "export_suffix": N_("cli.export_suffix"),
    "export_no_suffix": N_("cli.export_no_suffix"),
    "export_excel_csv": N_("cli.export_excel_csv"),
    # ... the expert `question assign --expert` names (bot.cli.question_cmds)
    "expert_ref_bad": N_("cli.expert_ref_bad"),
    "expert_not_listed": N_("cli.expert_not_listed"),
    "expert_no_slack": N_("cli.expert_no_slack"),
    # ... `wieweet run`: SLACK_APP_ID is not the app the bot token belongs to (handlers.app.own_app_id)
    "app_id_mismatch": N_("cli.app_id_mismatch"),
}

OPERATOR_CODES = frozenset(  # the command line's own errors: their values are plain text, no people
    {
        "unknown_queued",
        "not_queued",
        "open_question_timers",
        "ledger_not_one",
        "ledger_damaged",
        "ledger_no_key",
        "ledger_other_key",
        "no_person",
        "unknown_entity",
        "export_suffix",
        "export_no_suffix",
        "export_excel_csv",
        "expert_ref_bad",
        "expert_not_listed",
        "expert_no_slack",
        "app_id_mismatch",
    }
)

NOT_FOUND_KEYS: Mapping[tuple[str, str], str] = {
    # a record the command line was given that does not exist, in the operator's words, by the error's code and the
    # value naming it (the Slack text of the same code speaks of a button's record and names nothing)
    ("not_found", "question"): N_("cli.no_question"),  # bot.routing (question show|close|assign)
    ("no_expert", "email"): N_("cli.no_expert_email"),  # bot.register.listing (register show)
    ("no_expert", "expert"): N_("cli.no_expert_id"),  # bot.register.profiles
    ("no_practice", "practice"): N_("cli.no_practice_id"),  # bot.register.submissions
    ("no_topic", "topic"): N_("cli.no_topic_id"),  # bot.needs.recruiting (needs recruit)
    ("not_a_candidate", "experts"): N_("cli.not_a_candidate"),  # ... (needs recruit --ask)
    ("no_proposal", "proposal"): N_("cli.no_proposal_id"),  # bot.needs.proposals (needs dismiss|done)
    ("not_found", "routing"): N_("cli.no_routing"),  # bot.routing (a routing's id: an answer, a claim, a decline)
    ("search_expired", "search"): N_("cli.no_search_log"),  # bot.knowledge.search_access (a search's id)
}


def not_found_text(error: WieweetError, lang: str) -> str | None:
    """What the command line says for a record it was given that does not exist ("vraag 99999 bestaat niet"), in
    ``lang``; None for an error that is not one (or holds no value naming it)."""
    for (code, name), key in NOT_FOUND_KEYS.items():
        if error.code == code and name in error.values:
            try:
                return t(key, lang, **error.values)
            except (KeyError, IndexError):  # a text whose placeholders the error does not fill
                return None
    return None


FIELD_ERROR_KEYS: Mapping[str, str] = {  # FieldError.code (bot.register.validation) in a profile or practice form
    "missing": N_("field.missing"),
    "too_long": N_("field.too_long"),
    "bad_characters": N_("field.bad_characters"),
    "bad_email": N_("field.bad_email"),
    "bad_slack_id": N_("field.bad_slack_id"),
    "bad_key": N_("field.bad_key"),
    "bad_language": N_("field.bad_language"),
    "unknown_theme": N_("field.unknown_theme"),
    "email_taken": N_("field.email_taken"),
    "email_not_yours": N_("field.email_not_yours"),
    "email_unchecked": N_("field.email_unchecked"),
    "email_check_failed": N_("field.email_check_failed"),
    "unknown_outcome": N_("field.unknown_outcome"),
    "bad_year": N_("field.bad_year"),
    "bad_url": N_("field.bad_url"),
    "insecure_url": N_("field.insecure_url"),
    "url_credentials": N_("field.url_credentials"),
    "practice_taken": N_("field.practice_taken"),
    "title_reserved": N_("field.title_reserved"),
}


FIELD_BOUNDS_KEYS: Mapping[str, str] = {  # FieldError.code of a number refused for its range (``FieldError.bounds``)
    "bad_year": N_("field.year_range"),
}


def field_error_text(error: FieldError, lang: str) -> str:
    """A form field's error in ``lang`` (the validation's own message for a code without a text), with the
    suggestion, if any, quoted as a cell's value is (``shown_text``: its secrets masked): "Onbekend thema. Bedoel je
    wonen?". A number out of its range names the range: "Het jaar moet tussen 1990 en 2027 liggen."."""
    key = FIELD_ERROR_KEYS.get(error.code)
    if error.bounds is not None and error.code in FIELD_BOUNDS_KEYS:
        low, high = error.bounds
        text = t(FIELD_BOUNDS_KEYS[error.code], lang, low=str(low), high=str(high))
    else:
        text = t(key, lang) if key else error.message
    if error.suggestion:
        text += " " + t("field.suggestion", lang, suggestion=shown_text(error.suggestion))
    return text


# the error values that are dates ("until": the day an expert chosen is away until)
DATE_VALUES = frozenset({"until"})
# the error values that are counts given as a plain int where the error is raised: a search too long (``length``,
# ``limit``: raised by the matching package, whose code is the gap keys' fingerprint, so it does not format them)
COUNT_VALUES = frozenset({"length", "limit"})


def slack_mention(slack_user_id: str) -> str:
    """A person in a Slack text: Slack shows their name (the error's value is a checked Slack user id)."""
    return f"<@{slack_user_id}>"


def error_text(error: WieweetError, lang: str, *, person: Callable[[str], str] = slack_mention) -> str | None:
    """The user's text for ``error`` in ``lang``; None for a code without one (the caller shows ``error.message``).
    The people it names (``WieweetError.people``) are shown by ``person``: a Slack mention unless the surface
    says otherwise (the command line: their name); a ``Count`` or ``Size`` in its values as ``lang`` writes it."""
    key = ERROR_KEYS.get(error.code)
    if key is None:
        return None
    try:
        values = dict(getattr(error, "values", {}))
        for name in error.people.intersection(values):
            values[name] = person(str(values[name]))
        for name in DATE_VALUES.intersection(values):  # a date the error holds as ISO text, as users read dates
            values[name] = format_stored_date(str(values[name]), lang)
        for name in COUNT_VALUES.intersection(values):
            if type(values[name]) is int:
                values[name] = Count(values[name])
        for name, value in values.items():  # "3.000 tekens", "3,000 characters"
            if isinstance(value, Count | Size):
                values[name] = _said(value, lang)
        return t(key, lang, **values)
    except (KeyError, IndexError):  # a text whose placeholders the error does not fill
        return None


IMPORT_KEYS: Mapping[str, str] = {  # Problem.code (bot.errors) of an import's problems, warnings and notes
    "at_cell": N_("import.at_cell"),  # bot.register.report.located: file, row, column and the problem
    "duplicate_key": N_("import.duplicate_key"),
    "duplicate_practice": N_("import.duplicate_practice"),
    "duplicate_practice_no_city": N_("import.duplicate_practice_no_city"),
    "duplicate_slack_id": N_("import.duplicate_slack_id"),
    "slack_id_taken": N_("import.slack_id_taken"),  # bot.register.identity
    "theme_name_taken": N_("import.theme_name_taken"),  # bot.register.themes
    "extra_cells": "import.extra_cells",  # a plural: said by ``problem_text``
    "extra_cells_quote": "import.extra_cells_quote",  # ... as this one
    "title_above_header": N_("import.title_above_header"),
    "missing_columns": "import.missing_columns",  # ... and this one
    "missing_column": N_("import.missing_column"),
    "missing_column_found": N_("import.missing_column_found"),
    "no_rows": N_("import.no_rows"),
    "changed_meanwhile": N_("import.changed_meanwhile"),
    # warnings and notes (bot.register.report, bot.register.import_steps, bot.register.practice_import)
    "unknown_column": N_("import.unknown_column"),
    "unknown_column_guess": N_("import.unknown_column_guess"),
    "absent_columns_experts": N_("import.absent_columns_experts"),
    "absent_columns_practices": N_("import.absent_columns_practices"),
    "synonym_row": N_("import.synonym_row"),
    "synonym_rows": N_("import.synonym_rows"),
    "mailbox_row": N_("import.mailbox_row"),
    "mailbox_rows": N_("import.mailbox_rows"),
    # a file refused as a whole: it cannot be read, or is too big (bot.register.files, bot.register.file_guards)
    "empty_file": N_("import.empty_file"),
    "duplicate_column": N_("import.duplicate_column"),
    "cell_too_long": N_("import.cell_too_long"),
    "cell_too_long_csv": N_("import.cell_too_long_csv"),
    "file_too_big": N_("import.file_too_big"),
    "utf16_damaged": N_("import.utf16_damaged"),
    "not_utf8": N_("import.not_utf8"),
    "bad_csv": N_("import.bad_csv"),
    "sheet_too_big": N_("import.sheet_too_big"),
    "no_defusedxml": N_("import.no_defusedxml"),
    "bad_xlsx": N_("import.bad_xlsx"),
    "xml_declarations": N_("import.xml_declarations"),
    "old_xls": N_("import.old_xls"),
    "bad_format": N_("import.bad_format"),
    "no_file": N_("import.no_file"),
    "unreadable": N_("import.unreadable"),
    "too_many_columns": N_("import.too_many_columns"),
    "too_many_columns_tab": N_("import.too_many_columns_tab"),
    "too_many_rows": N_("import.too_many_rows"),
    "xlsx_parts": N_("import.xlsx_parts"),
    "xlsx_unpacked": N_("import.xlsx_unpacked"),
    "xlsx_part_too_big": N_("import.xlsx_part_too_big"),
    "excel_tab_too_wide": N_("import.excel_tab_too_wide"),
    "excel_tab_too_wide_first": N_("import.excel_tab_too_wide_first"),
    "excel_tab_too_long": N_("import.excel_tab_too_long"),
    "excel_tab_too_long_first": N_("import.excel_tab_too_long_first"),
    # a profile made in Slack under a row's address, its account not confirmed by Slack (bot.register.identity)
    "claim_other_address": N_("import.claim_other_address"),
    "claim_no_address": N_("import.claim_no_address"),
    "claim_no_token": N_("import.claim_no_token"),
    "claim_not_asked": N_("import.claim_not_asked"),
    # a row of a person who asked to be forgotten (bot.register.erased)
    "erased_skipped": N_("import.erased_skipped"),
    "erased_relisted": N_("import.erased_relisted"),
    "erased_id_left_out": N_("import.erased_id_left_out"),
    "erased_id_relisted": N_("import.erased_id_relisted"),
}


DETAIL_KEYS: Mapping[str, str] = {  # Detail.kind (bot.errors): what a library's error means, before its own text
    "csv_after_quote": N_("detail.csv_after_quote"),
    "csv_open_quote": N_("detail.csv_open_quote"),
    "csv_nul": N_("detail.csv_nul"),
    "csv_newline": N_("detail.csv_newline"),
    "csv_other": N_("detail.csv_other"),
    "not_zip": N_("detail.not_zip"),
    "damaged_zip": N_("detail.damaged_zip"),
    "not_xlsx": N_("detail.not_xlsx"),
    "xlsx_part_missing": N_("detail.xlsx_part_missing"),
    "damaged_xml": N_("detail.damaged_xml"),
    "xml_forbidden": N_("detail.xml_forbidden"),
    "no_worksheet": N_("detail.no_worksheet"),
    "no_such_file": N_("detail.no_such_file"),
    "denied": N_("detail.denied"),
    "is_directory": N_("detail.is_directory"),
    "system": N_("detail.system"),
    # ... writing a file (bot.files) and reaching Slack (handlers.app)
    "disk_full": N_("detail.disk_full"),
    "read_only": N_("detail.read_only"),
    "write_denied": N_("detail.write_denied"),
    "write_other": N_("detail.write_other"),
    "unreachable": N_("detail.unreachable"),
    "timeout": N_("detail.timeout"),
    "server_error": N_("detail.server_error"),
    "not_slack": N_("detail.not_slack"),
    "other": N_("detail.other"),
}


def detail_text(detail: Detail, lang: str) -> str:
    """A library's error in ``lang``: what its kind means, then its own (English) text as a detail, masked."""
    reason = t(DETAIL_KEYS.get(detail.kind, DETAIL_KEYS["other"]), lang)
    text = shown_text(detail, DETAIL_CHARS)
    return t("import.detail", lang, reason=reason, text=text) if text else reason


def _said(value: object, lang: str) -> object:
    """One value of an import's problem as ``lang`` says it (a library's error, a size, a count, a problem in it)."""
    if isinstance(value, Detail):
        return detail_text(value, lang)
    if isinstance(value, Size):
        return format_size(value, lang)
    if isinstance(value, Count):
        return format_number(value, lang)
    if isinstance(value, Problem):
        return problem_text(value, lang)
    if isinstance(value, tuple):
        return ", ".join(problem_text(v, lang) for v in value)
    return value


def problem_text(line: str, lang: str) -> str:
    """An import's problem, warning or note in ``lang`` (a row's refused cell value quoted by ``shown_value``, a
    library's error explained before its own text); the English line itself for one without a text."""
    if not isinstance(line, Problem) or line.code not in IMPORT_KEYS:
        return str(line)
    values: dict[str, object] = {}
    key = IMPORT_KEYS[line.code]
    for name, value in line.values.items():
        if isinstance(value, FieldError):
            values[name] = field_error_text(value, lang)
            if value.value and value.code in FIELD_ERROR_KEYS:  # the value refused (the English message quotes it)
                key, values["value"] = N_("import.at_cell_value"), shown_value(value.value)
        else:
            values[name] = _said(value, lang)
    # the texts whose words follow a count: "1 cel", "2 cellen"; "de verplichte kolom 'email'", "… kolommen …"
    cells, columns = int(line.values.get("count", 0)), line.values.get("columns", 0)  # type: ignore[call-overload]
    if line.code == "extra_cells_quote" and isinstance(columns, int):
        count = format_number(columns, lang)
        values["columns"] = tn("import.header_columns", "import.header_columns_plural", columns, lang, count=count)
    missing = len(line.values.get("missing", ()))  # type: ignore[arg-type]
    counted: dict[str, Callable[[], str]] = {
        "extra_cells": lambda: tn("import.extra_cells", "import.extra_cells_plural", cells, lang, **values),
        "extra_cells_quote": lambda: tn(
            "import.extra_cells_quote", "import.extra_cells_quote_plural", cells, lang, **values
        ),
        "missing_columns": lambda: tn(
            "import.missing_columns", "import.missing_columns_plural", missing, lang, **values
        ),
    }
    try:
        said = counted.get(line.code)
        return said() if said is not None else t(key, lang, **values)
    except (KeyError, IndexError):  # a text whose placeholders the problem does not fill
        return str(line)
