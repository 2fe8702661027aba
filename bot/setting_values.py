"""One setting's text read into its value: each reader checks one variable and names it in a ``ConfigError``.

``bot.config`` calls them to build the frozen ``Settings``; the defaults a missing or empty variable stands for are
here with their readers. ``normalise_database_url`` also reads the ``--database`` option.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import make_url
from sqlalchemy.dialects import plugins as sqlalchemy_plugins
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot.errors import Amount, Count, setting_refused
from bot.routing.business_time import DEFAULT_YEARLY_HOLIDAYS  # WIEWEET_EXTRA_HOLIDAYS unset: the calendar's default
from bot.text import is_slack_channel_id, is_slack_user_id, shown_value
from storage.db_url import connection_options, unknown_options

DEFAULT_DATABASE_URL = "sqlite:///./wieweet.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TIMEZONE = "Europe/Brussels"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Slack's own payloads stay far below this


def _split_ids(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


def parse_staff_user_ids(value: str | None) -> frozenset[str]:
    """Slack user ids, separated by commas (or semicolons), spaces around each allowed; anything else (``@anna``, an
    e-mail address, a lower-case or space-separated id) is named in the error, the valid ids are not."""
    ids = _split_ids(value)
    bad = sorted(part for part in ids if not is_slack_user_id(part))
    if bad:
        shown = ", ".join(shown_value(part) for part in bad)
        raise setting_refused(
            "bad_staff_user_ids",
            "WIEWEET_STAFF_USER_IDS must list Slack user ids such as U012AB3CD (a member's profile shows it under "
            f"'Copy member ID'), separated by commas, not {shown}",
            "setting_staff_user_ids",
            values=shown,
        )
    return ids


def parse_positive_float(value: str | None, default: float, name: str) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        shown = shown_value(value)
        raise setting_refused(
            "bad_number", f"{name} must be a number of seconds, not {shown}", "setting_seconds", name=name, value=shown
        ) from None
    if number <= 0:
        raise setting_refused(
            "bad_number", f"{name} must be more than 0 seconds", "setting_seconds_positive", name=name
        )
    return number


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def parse_flag(value: str | None, default: bool, name: str) -> bool:
    """The one reading of a boolean setting: true/false, 1/0, yes/no, on/off in any case; unset or empty is the
    default; anything else is an error naming the variable."""
    if value is None or not value.strip():
        return default
    text = value.strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    shown = shown_value(value)
    raise setting_refused(
        "bad_flag",
        f"{name} must be true or false (also 1/0, yes/no, on/off), not {shown}",
        "setting_flag",
        name=name,
        value=shown,
    )


def parse_gap_levels(value: str | None) -> str:
    text = (value or "").strip().lower()
    if not text:
        return "off"
    if text not in {"off", "register"}:
        shown = shown_value(value or "")
        raise setting_refused(
            "bad_choice", f"WIEWEET_GAP_LEVELS must be register or off, not {shown}", "setting_gap_levels", value=shown
        )
    return text


def _units(count: int, unit: str) -> str:
    """'days' for any count but one ('1 day'): operator messages in English."""
    return unit.removesuffix("s") if count == 1 else unit


def parse_positive_int(
    value: str | None, default: int, name: str, *, unit: str = "days", minimum: int = 1, maximum: int | None = None
) -> int:
    if not value or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        shown = shown_value(value)
        raise setting_refused(
            "bad_number",
            f"{name} must be a whole number of {unit}, not {shown}",
            "setting_whole_number",
            name=name,
            unit=unit,
            value=shown,
        ) from None
    if number < minimum:
        raise setting_refused(
            "bad_number",
            f"{name} must be at least {minimum} {_units(minimum, unit)}",
            "setting_at_least",
            name=name,
            amount=Amount(minimum, unit),
        )
    if maximum is not None and number > maximum:
        raise setting_refused(
            "bad_number",
            f"{name} must be at most {maximum} {_units(maximum, unit)}",
            "setting_at_most",
            name=name,
            amount=Amount(maximum, unit),
        )
    return number


def parse_timezone(value: str | None) -> str:
    """An IANA time zone name (``Europe/Brussels``): business days, digest weeks and schedules are in it."""
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = shown_value(value or "")
        raise setting_refused(
            "bad_timezone",
            f"WIEWEET_TIMEZONE must be an IANA time zone name such as Europe/Brussels, not {shown}",
            "setting_timezone",
            value=shown,
        ) from None
    return name


HOLIDAY = re.compile(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})")


def parse_holidays(value: str | None) -> tuple[frozenset[tuple[int, int]], frozenset[date]]:
    """WIEWEET_EXTRA_HOLIDAYS: ``MM-DD`` (every year) and ``YYYY-MM-DD`` (that day only), separated by commas (or
    semicolons, spaces). Yearly days replace the default ones; days on a date are added to the yearly days in effect
    (the default ones unless yearly days are listed): a bridge day alone keeps 11 July and the rest. Unset or empty
    is the default, ``none`` no yearly days beyond Belgium's public holidays (``none,2026-11-10``: that day only);
    ``none`` with yearly days contradicts itself and is refused."""
    text = (value or "").strip()
    yearly: set[tuple[int, int]] = set()
    dated: set[date] = set()
    bad: list[str] = []
    parts = list(filter(None, re.split(r"[\s,;]+", text)))
    nothing_yearly = any(part.casefold() == "none" for part in parts)
    for part in parts:
        if part.casefold() == "none":
            continue
        match = HOLIDAY.fullmatch(part)
        try:
            if match is None:
                raise ValueError(part)
            year, month, day = match.groups()
            when = date(int(year) if year else 2000, int(month), int(day))  # 2000: a leap year, 29 February is one
        except ValueError:
            bad.append(part)
            continue
        if year:
            dated.add(when)
        else:
            yearly.add((when.month, when.day))
    if bad:
        shown = ", ".join(shown_value(part) for part in bad)
        raise setting_refused(
            "bad_holidays",
            "WIEWEET_EXTRA_HOLIDAYS must list days off as MM-DD (every year, such as 07-11) or YYYY-MM-DD (that day "
            f"only), separated by commas, or be none; not a day: {shown}",
            "setting_holidays",
            values=shown,
        )
    if yearly and nothing_yearly:
        days = ", ".join(f"{month:02d}-{day:02d}" for month, day in sorted(yearly))
        raise setting_refused(
            "bad_holidays",
            f"WIEWEET_EXTRA_HOLIDAYS lists none (no yearly days off) together with yearly days ({days}): write the "
            "yearly days without none to replace the default ones, or none with dated days (YYYY-MM-DD) only",
            "setting_holidays_none",
            days=days,
        )
    if not yearly and not nothing_yearly:
        return DEFAULT_YEARLY_HOLIDAYS, frozenset(dated)
    return frozenset(yearly), frozenset(dated)


# hosts the Slack API may be reached on over plain http: this machine only (a local emulator, tests)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def parse_slack_api_url(value: str | None) -> str:
    """The Slack Web API base URL: https with a host (http only to this machine), ending in ``/`` (the client
    appends ``auth.test`` to it). Every call carries the bot token: over http to another host anyone on the way
    could read it. Refused too, without quoting the value: a user name or password (the token goes in a header; a
    password in the URL would be printed wherever the URL is), a query or fragment (the method's name would be added
    after it) and a space or a control character (the HTTP client refuses it with a traceback; an escape acts on the
    terminal that shows it)."""
    url = (value or "").strip() or DEFAULT_SLACK_API_URL
    if not url.isprintable() or any(char.isspace() for char in url):  # a control, format or bidi character too
        raise setting_refused(
            "bad_slack_api_url",
            "SLACK_API_URL holds a space or a control character (copied along?); give the API's address alone, "
            "such as https://slack.com/api/",
            "setting_api_url_characters",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (read for its check: a port that is not a number raises)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise setting_refused(
            "bad_slack_api_url",
            "SLACK_API_URL must be an http(s):// URL such as https://slack.com/api/",
            "setting_api_url",
        )
    if "@" in parts.netloc:
        raise setting_refused(
            "bad_slack_api_url",
            "SLACK_API_URL must not hold a user name or password (…@): every call carries the bot token already, and "
            "the address is shown in messages and logs; give the API's address alone, such as https://slack.com/api/",
            "setting_api_url_userinfo",
        )
    if "?" in url or "#" in url:
        raise setting_refused(
            "bad_slack_api_url",
            "SLACK_API_URL must not hold a query or fragment (?… or #…): the method's name is added at its end; give "
            "the API's address alone, such as https://slack.com/api/",
            "setting_api_url_query",
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise setting_refused(
            "bad_slack_api_url",
            "SLACK_API_URL must be an https:// URL (http:// only to localhost, 127.0.0.1 or ::1, such as a local "
            "emulator): the bot token would travel unencrypted",
            "setting_api_url_http",
        )
    return url if url.endswith("/") else url + "/"


def parse_triage_channel(value: str | None) -> str | None:
    channel = (value or "").strip()
    if not channel:
        return None
    # a public (C…) or private (G…) channel's id, as Slack shows it in the channel's details (``bot.text``'s one
    # check); a name ("#triage", "TRIAGE") is not looked up, and a DM (D…) is no channel for staff
    if not is_slack_channel_id(channel, prefixes="CG"):
        shown = shown_value(channel)
        raise setting_refused(
            "bad_triage_channel",
            "WIEWEET_TRIAGE_CHANNEL must be a channel id such as C0123ABCD (the channel's details show it at the "
            f"bottom), not {shown}",
            "setting_triage_channel",
            value=shown,
        )
    return channel


# a Slack user group's id (S…), as Slack's API names it; its @handle or name is not looked up
USERGROUP_ID = re.compile(r"S[A-Z0-9]{6,}")


def parse_staff_usergroup(value: str | None) -> str | None:
    """The staff user group's id, spaces around it allowed; a handle, a name or a list is a setting to fix."""
    group = (value or "").strip()
    if not group:
        return None
    if not USERGROUP_ID.fullmatch(group):
        shown = shown_value(group)
        raise setting_refused(
            "bad_staff_usergroup",
            "WIEWEET_STAFF_USERGROUP must be one Slack user group id such as S0123ABCD (the group's id, not its "
            f"@handle or name), not {shown}",
            "setting_staff_usergroup",
            value=shown,
        )
    return group


# a Slack app's id (A…), as the app's Basic Information page shows it under App Credentials
APP_ID = re.compile(r"A[0-9A-Z]{8,}")


def parse_slack_app_id(value: str | None) -> str | None:
    """This app's id (SLACK_APP_ID), spaces around it allowed; unset: learnt from Slack at start-up."""
    app_id = (value or "").strip()
    if not app_id:
        return None
    if not APP_ID.fullmatch(app_id):
        shown = shown_value(app_id)
        raise setting_refused(
            "bad_slack_app_id",
            "SLACK_APP_ID must be an app id such as A0123ABCDE (Basic Information → App Credentials → App ID), "
            f"not {shown}",
            "setting_slack_app_id",
            value=shown,
        )
    return app_id


def parse_share(value: str | None, default: float, name: str) -> float:
    if not value or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        shown = shown_value(value)
        raise setting_refused(
            "bad_number",
            f"{name} must be a number between 0 and 1, not {shown}",
            "setting_share",
            name=name,
            value=shown,
        ) from None
    if not 0.0 < number < 1.0:
        shown = shown_value(value)
        raise setting_refused(
            "bad_number",
            f"{name} must be between 0 and 1 (exclusive), not {shown}",
            "setting_share_range",
            name=name,
            value=shown,
        )
    return number


# a URL with its "://" mangled, as opposed to a file path that may hold ":" or "@" ("/srv/db@prod.sqlite",
# "C:\\wieweet.db"): a scheme or host of two characters or more followed by ":", or "user@host/..." before any "/"
_MANGLED_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+:|[^/\\@]+@[^/\\]+/")


def normalise_database_url(url: str, *, source: str = "WIEWEET_DATABASE_URL") -> str:
    """Accept the URL forms people paste and pick the drivers wieweet ships with.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://`` (psycopg 3); a bare file path becomes
    a SQLite URL. The result is one SQLAlchemy's ``make_url`` reads. ``source`` names where ``url`` came from
    (the variable, or the ``--database`` option) in the error.
    """
    url = url.strip()
    if not url:
        raise setting_refused("bad_database_url", f"{source} is empty", "setting_db_empty", source=source)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if "://" not in url:
        return _file_url(url, source)
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        scheme = shown_value(url.split("://")[0] + "://…")
        raise setting_refused(
            "bad_database_url",
            f"{source} must be a sqlite:/// or postgresql:// URL, not {scheme}",
            "setting_db_scheme",
            source=source,
            scheme=scheme,
        )
    try:
        parsed = make_url(url)
    except ValueError:  # int() of the port
        raise setting_refused(
            "bad_database_url", f"{source} has a port that is not a number", "setting_db_port", source=source
        ) from None
    except ArgumentError:
        raise setting_refused(
            "bad_database_url",
            f"{source} is not a database URL (check the ://, @ and /)",
            "setting_db_url",
            source=source,
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_url(url, parsed.database, source)
    _check_options(url, source)
    return url


# Not libpq's, yet not unknown: SQLAlchemy itself takes ``plugin`` (the CreateEnginePlugin to load; each plugin takes
# its own options off the URL) before the psycopg dialect passes the rest of the query on
# (``URL._instantiate_plugins``); the dialect itself takes nothing else. ``plugins`` SQLAlchemy drops from a URL
# unread (only ``create_engine``'s argument of that name loads plugins): the plugin meant would silently not be
# loaded, so it is refused.
SQLALCHEMY_URL_OPTIONS = frozenset({"plugin"})
# psycopg.connect()'s own arguments: the dialect would pass them from the URL as text, which psycopg misreads
# (?autocommit=false turns autocommit on; ?prepare_threshold=0 fails at the first query).
PSYCOPG_ARGUMENTS = frozenset({"autocommit", "prepare_threshold", "context", "row_factory", "cursor_factory"})


def _check_options(url: str, source: str) -> None:
    """Refuse a PostgreSQL URL with an option libpq does not know (``?sslmod=require``), naming it (never its value:
    it may be a password) with the option meant where one is close (``storage.db_url.unknown_options``). SQLAlchemy's
    own ``plugin`` is not refused, nor, once one is named, any other option (it may be the plugin's); ``plugins``
    (which SQLAlchemy ignores in a URL) and psycopg's own arguments are, saying what they are."""
    if "plugins" in make_url(url).query:
        raise setting_refused(
            "bad_database_url",
            f"{source} holds 'plugins', which SQLAlchemy ignores in a URL: name each plugin with ?plugin=NAME "
            "(plugin, not plugins)",
            "setting_db_plugins",
            source=source,
        )
    unknown = [key for key in unknown_options(url) if key not in SQLALCHEMY_URL_OPTIONS]
    driver = [key for key in unknown if key in PSYCOPG_ARGUMENTS]
    if driver:
        raise setting_refused(
            "bad_database_url",
            f"{source} holds {shown_value(driver[0])}, an argument of the psycopg driver, not a connection option: "
            "from a URL it would be passed as text, which psycopg misreads; leave it out",
            "setting_db_driver_argument",
            source=source,
            option=shown_value(driver[0]),
        )
    named = make_url(url).query.get("plugin", ())
    for plugin in [named] if isinstance(named, str) else named:
        try:
            sqlalchemy_plugins.load(plugin)  # what create_engine does first; a traceback there otherwise
        except NoSuchModuleError:
            raise setting_refused(
                "bad_database_url",
                f"{source} names the SQLAlchemy plugin {shown_value(plugin)}, which is not installed",
                "setting_db_plugin",
                source=source,
                plugin=shown_value(plugin),
            ) from None
    if not unknown or named:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key.lower(), sorted(connection_options()), n=1, cutoff=0.7)
    hint = f"; did you mean {close[0]}?" if close else " (see PostgreSQL's list of connection parameters)"
    more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
    raise setting_refused(
        "bad_database_url",
        f"{source} holds the connection option {shown_value(key)}{more}, which PostgreSQL does not know{hint}",
        "setting_db_option_close" if close else "setting_db_option",
        source=source,
        option=shown_value(key),
        more=Count(len(unknown) - 1),
        **({"close": close[0]} if close else {}),
    )


def _file_url(path: str, source: str) -> str:
    """A bare file path as a SQLite URL."""
    if path == ":memory:":
        _check_sqlite_url("sqlite://", None, source)
    if _MANGLED_URL.match(path):  # "postgresql:/user@host/db", "host:5432/db", "user@host/db": not a file name
        raise setting_refused(
            "bad_database_url",
            f"{source} is neither a sqlite:/// or postgresql:// URL nor a file path (check the ://)",
            "setting_db_mangled",
            source=source,
        )
    return "sqlite:///" + str(Path(path))


def _check_sqlite_url(url: str, database: str | None, source: str) -> None:
    """A SQLite URL names a file after three slashes; an in-memory database would keep nothing the command does."""
    if not url.split("://", 1)[1].startswith("/") and url.split("://", 1)[1]:  # sqlite://./w.db: a host, no path
        raise setting_refused(
            "bad_database_url",
            f"{source}: a SQLite URL takes three slashes and then the file: sqlite:///./wieweet.db (relative) or "
            "sqlite:////srv/wieweet.db (absolute)",
            "setting_db_sqlite_slashes",
            source=source,
        )
    if not database or database == ":memory:" or "mode=memory" in url:
        raise setting_refused(
            "bad_database_url",
            f"{source} names a SQLite database in memory, which keeps nothing after the command; give a file such "
            "as sqlite:///./wieweet.db",
            "setting_db_memory",
            source=source,
        )
