"""Database URLs as wieweet reads and shows them: a URL for a message or log with its secrets masked
(``shown_url``), the secrets a driver's error may quote (``url_secrets``), whether a URL holds a password
(``has_password``), and the connection options libpq knows (``connection_options``, ``unknown_options``), so a
mistyped one is named before connecting. The engine and sessions are ``storage.db``'s."""

from __future__ import annotations

import functools

from psycopg import pq
from sqlalchemy import URL, make_url

# The connection parameters a PostgreSQL URL's query may give (libpq's, passed on by psycopg) whose value is a secret:
# those libpq itself marks as one (``PQconndefaults``: "*" password fields, "D" debug-only keys), as of libpq 18.
SECRET_QUERY_KEYS = frozenset(
    {"password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key"}
)
# ... and those whose value is not shown in the URL either: ``passfile``, no secret, but it says where they are.
HIDDEN_QUERY_KEYS = SECRET_QUERY_KEYS | {"passfile"}


def _query_keys(url: URL, keys: frozenset[str]) -> list[str]:
    return [key for key in url.query if key.lower() in keys]  # libpq's keys are lower case; any case is masked


def shown_url(url: str) -> str:
    """``url`` for messages and logs, its secrets masked: the password (``postgresql+psycopg://wieweet:***@db/wieweet``)
    and the values of ``HIDDEN_QUERY_KEYS`` in its query (``?password=***&sslmode=require``)."""
    try:
        parsed = make_url(url)
    except Exception:  # an unparsable URL is not shown at all: it may hold a password where a parser expects none
        return "(the configured database)"
    hidden = sorted(_query_keys(parsed, HIDDEN_QUERY_KEYS))
    shown = parsed.difference_update_query(hidden).render_as_string(hide_password=True)
    masked = "&".join(f"{key}=***" for key in hidden)  # after the rest: "***" itself would be shown URL-quoted
    return f"{shown}{'&' if parsed.query.keys() - set(hidden) else '?'}{masked}" if hidden else shown


def url_secrets(url: str) -> list[str]:
    """The secrets ``url`` holds (its password, the values of ``SECRET_QUERY_KEYS``), longest first: what a message
    that may quote them (a driver's error) must mask. A passfile's path is left: "password file … has group or world
    access" needs it. An unparsable URL: none known."""
    try:
        parsed = make_url(url)
    except Exception:
        return []
    values: list[str] = [str(parsed.password)] if parsed.password else []
    for key in _query_keys(parsed, SECRET_QUERY_KEYS):
        value = parsed.query[key]
        values += [value] if isinstance(value, str) else list(value)  # a key given twice: a tuple
    return sorted({value for value in values if value}, key=lambda value: (-len(value), value))  # one order each run


@functools.cache
def connection_options() -> frozenset[str]:
    """The connection options (``?sslmode=…`` in a PostgreSQL URL) the installed libpq knows; empty when it cannot
    say (no libpq: nothing is checked beforehand, the driver refuses as it will)."""
    try:
        return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())
    except Exception:  # psycopg or libpq missing or unusable: no list to check against
        return frozenset()


def unknown_options(url: str) -> list[str]:
    """The options in a PostgreSQL ``url``'s query that libpq does not know (it refuses to connect: "invalid
    connection option"), in the URL's order; none for SQLite, an unparsable URL, or when libpq cannot say."""
    try:
        parsed = make_url(url)
    except Exception:
        return []
    known = connection_options()
    if parsed.get_backend_name() != "postgresql" or not known:
        return []
    return [key for key in parsed.query if key not in known]


def has_password(url: str) -> bool:
    """Does ``url`` hold a password (``user:pw@host``, or ``SECRET_QUERY_KEYS`` in its query: ``?password=``,
    ``?sslpassword=``)? An unparsable URL may: it counts as one."""
    try:
        parsed = make_url(url)
    except Exception:
        return "@" in url or "password" in url.lower()
    return bool(parsed.password) or bool(_query_keys(parsed, SECRET_QUERY_KEYS))
