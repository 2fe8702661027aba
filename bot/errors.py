"""Domain errors. Each carries a ``code`` the UI turns into a message in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class WieweetError(Exception):
    """Base class for errors that are the user's to fix (bad input, a stale button, a missing setting).

    ``values`` fill in the placeholders of the user's message for ``code`` (e.g. ``{length}`` and ``{limit}``).
    ``keep_changes``: a refusal whose record stands — the request's transaction commits what was written before it
    (e.g. an expert Slack reports deactivated is marked away) instead of rolling back, then the user is told.
    ``refusal``: the request was understood but cannot be done (the record's state, another's change first, a rule),
    as opposed to input that is wrong or names nothing that exists (``NotFoundError``); the command line exits 1 for a
    refusal and 2 otherwise (``bot.cli.exit_code``).
    ``people``: the names of ``values`` that are a person's Slack user id, shown per surface by ``error_text`` (a
    mention in Slack, their name on the command line): one text, whoever reads it.
    """

    code: str = "error"
    refusal: ClassVar[bool] = False
    people: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        values: Mapping[str, object] | None = None,
        keep_changes: bool = False,
    ) -> None:
        if code is not None:
            self.code = code
        super().__init__(message or self.code)
        self.values: dict[str, object] = dict(values or {})
        self.keep_changes = keep_changes

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(WieweetError):
    code = "config"


def setting_refused(code: str, message: str, problem: str, **values: object) -> ConfigError:
    """A setting refused: ``message`` in English (logs, a test's ``load_settings``), said in the operator's language
    from ``problem`` (a code of ``bot.operator_texts``) and ``values`` (each quoted value through ``shown_value``)."""
    return ConfigError(code, Problem(message, problem, values))


class QueryError(WieweetError):
    """A "who knows" query that cannot be searched (empty, only stopwords, too long, no words).

    ``values`` fill the user's text (``too_long``: the query's ``length`` and the ``limit``)."""

    code = "query"


class NotFoundError(WieweetError):
    code = "not_found"


class Problem(str):
    """One line of an import's result (a problem, a warning, a note): the English line itself, as logs and the
    audit read it, and a ``code`` with ``values`` that a surface says in its reader's language
    (``bot.error_texts.problem_text``). A value may itself be a ``Problem``, a tuple of them, or a form field's
    error (``bot.register.validation.FieldError``)."""

    code: str
    values: Mapping[str, object]

    def __new__(cls, message: str, code: str, values: Mapping[str, object] | None = None) -> Problem:
        line = super().__new__(cls, message)
        line.code = code
        line.values = dict(values or {})
        return line


class Count(int):
    """A number in an import's problem that a reader's language groups in thousands (``10,000``, ``10.000``); a
    plain ``int`` value (a row number) is shown as it is."""


class Amount(int):
    """A number of ``unit`` (days, seconds, bytes ...) in a setting's problem, said with the unit in the reader's
    language ("1 dag", "2 days")."""

    unit: str

    def __new__(cls, value: int, unit: str) -> Amount:
        amount = super().__new__(cls, value)
        amount.unit = unit
        return amount


class Size(int):
    """A file's size in bytes in an import's problem, shown in the reader's language (``bot.i18n.format_size``:
    "20,0 MB", "20.0 MB")."""


DETAIL_CHARS = 300  # how much of a library's error text a problem line shows


class Detail(str):
    """A library's own error text in an import's problem (the CSV reader, openpyxl, the zip reader, the XML parser,
    the operating system): English, and unknown to the reader's language. A surface says what its ``kind`` means in
    the reader's language (``bot.error_texts``) and this text, its secrets masked, only after it as a detail."""

    kind: str

    def __new__(cls, text: str, kind: str) -> Detail:
        detail = super().__new__(cls, text)
        detail.kind = kind
        return detail


class ImportFailed(WieweetError):
    """A register import with errors: nothing was written. ``errors`` lists every problem found."""

    code = "import_failed"

    def __init__(self, code: str | None = None, message: str | None = None, errors: list[str] | None = None) -> None:
        super().__init__(code, message)
        self.errors: list[str] = errors or ([message] if message else [])


def file_refused(code: str, message: str, problem: str | None = None, **values: object) -> ImportFailed:
    """An import refused for its file as a whole (it cannot be read, it is too big): one line, ``message`` in English,
    said in the reader's language from ``problem`` (the catalogue's ``Problem`` code, ``code`` unless given) and
    ``values``."""
    return ImportFailed(code, Problem(message, problem or code, values))


def nul_text_error(error: BaseException) -> WieweetError | None:
    """The user's error (``nul_text``) for a database that refused a NUL character in text, else None.

    PostgreSQL cannot store U+0000 in a text field (SQLite can); the same text fails on every attempt, so it is
    refused once instead of retried. Slack payloads lose their control characters where they come in
    (``handlers.slack_text``): this is the backstop for any other way in.
    """
    cause: BaseException | None = error
    while cause is not None:
        if "cannot contain NUL" in str(cause):
            return WieweetError("nul_text", "the text contains a NUL character (U+0000), which cannot be stored")
        cause = cause.__cause__ or cause.__context__
    return None
