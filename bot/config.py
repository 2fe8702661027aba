"""Settings: read once from the environment into a frozen object that is passed in everywhere.

Listeners, services and jobs never read ``os.environ`` themselves; ``load_settings`` is called once by the
CLI entry point.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_of
from bot.network import parse_allowed_teams
from bot.text import is_slack_channel_id, is_slack_user_id

DEFAULT_DATABASE_URL = "sqlite:///./wieweet.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TIMEZONE = "Europe/Brussels"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Slack's own payloads stay far below this
# Days off every year besides Belgium's ten public holidays (WIEWEET_EXTRA_HOLIDAYS), as (month, day): 11 July, the
# Flemish Community's day, and 2 November, 15 November and 26 December, which public services give as well
DEFAULT_YEARLY_HOLIDAYS = frozenset({(7, 11), (11, 2), (11, 15), (12, 26)})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Settings:
    # Secrets (and the database URL, which may hold a password) are left out of repr(settings): a traceback with
    # locals, a debugger or an error tracker must not copy them into a log.
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    timezone: str = DEFAULT_TIMEZONE  # an IANA zone name (WIEWEET_TIMEZONE), checked when read
    default_language: str = DEFAULT_LANGUAGE
    # WIEWEET_EXTRA_HOLIDAYS: days off besides Belgium's public holidays, every year (month, day) or on one date;
    # reminders and escalations skip them as they skip weekends
    yearly_holidays: frozenset[tuple[int, int]] = DEFAULT_YEARLY_HOLIDAYS
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    staff_user_ids: frozenset[str] = field(default_factory=frozenset)
    staff_usergroup_id: str | None = None
    triage_channel_id: str | None = None
    # WIEWEET_ALLOWED_TEAMS: Slack teams whose people are inside the network besides the installation's own team and
    # its Enterprise Grid organisation (``bot.network``)
    allowed_teams: frozenset[str] = field(default_factory=frozenset)
    # WIEWEET_GUESTS_INSIDE: the guests of those teams (single- and multi-channel) are inside too; default: outside
    guests_inside: bool = False
    echo_sql: bool = False  # WIEWEET_ECHO_SQL: log every SQL statement ...
    echo_sql_parameters: bool = False  # WIEWEET_ECHO_SQL_PARAMETERS: ... with its values (private texts, emails)
    job_interval_seconds: float = 30.0  # WIEWEET_JOB_INTERVAL: how often timers run and the outbox is sent
    # TEST ONLY (WIEWEET_FAKE_NOW_FILE): a file holding an ISO datetime that the bot's clock returns instead of the
    # real time, so end-to-end tests can move time forward by rewriting the file. Never set it in production.
    fake_now_file: str | None = None
    # TEST ONLY (WIEWEET_TEST_TX_GUARD_FILE): report every Slack call made inside a database transaction that has
    # written to this file (``handlers.txguard``); the end-to-end tests fail on any. Never set it in production.
    tx_guard_file: str | None = None
    # self-service (issue 7)
    require_consent: bool = True  # WIEWEET_REQUIRE_CONSENT: only experts who confirmed their listing are routed
    expert_approval: bool = False  # WIEWEET_EXPERT_APPROVAL: profiles made in Slack wait for staff approval
    reconfirm_days: int = 182  # WIEWEET_RECONFIRM_DAYS: ask experts to re-confirm their profile this often
    # one member cannot use up the experts (staff are not limited; 0: no limit)
    max_open_per_asker: int = 3  # WIEWEET_MAX_OPEN_PER_ASKER: questions with experts at once; more wait their turn
    max_questions_per_hour: int = 5  # WIEWEET_MAX_QUESTIONS_PER_HOUR: new questions per hour
    # the HTTP edge (``wieweet run --http``, issue 11)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # WIEWEET_MAX_BODY_BYTES: larger request bodies get 413 unread
    http_timeout: int = 15  # WIEWEET_HTTP_TIMEOUT: seconds a connection may stay silent before it is closed
    http_connection_limit: int = 500  # WIEWEET_HTTP_CONNECTIONS: open connections before new ones wait
    # WIEWEET_SOCKET_DOWN_SECONDS: Socket Mode without a connection this long (the app token revoked, Socket Mode
    # turned off) ends ``wieweet run`` with an ERROR and a non-zero exit, for the supervisor to restart it
    socket_down_seconds: int = 300
    # WIEWEET_SEMANTIC: the meaning-based matching signal (multilingual-e5-small, embedded in the background)
    semantic: bool = True
    # WIEWEET_GAP_LEVELS: "register" reads "nobody knows" against the register's own levels (bot.matching.levels,
    # measured in the background; an option under evaluation), "off" (default) as shipped
    gap_levels: str = "off"
    # WIEWEET_THEME_NAMES_ONCE: a recognised theme's other names searched once a question, not under each word that
    # named it (MatchConfig.theme_names_once; on by default, false searches them under each word as before round 19)
    theme_names_once: bool = True
    # knowledge needs (issue 15)
    needs_min_organisations: int = 3  # WIEWEET_NEEDS_MIN_ORGANISATIONS: propose a work session from this many ...
    needs_window_weeks: int = 8  # WIEWEET_NEEDS_WINDOW_WEEKS: ... organisations asking within this many weeks
    needs_similarity: float = 0.2  # WIEWEET_NEEDS_SIMILARITY: how close a question must be to join a topic (0-1)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _split_ids(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


def _staff_user_ids(value: str | None) -> frozenset[str]:
    """Slack user ids, separated by commas (or semicolons), spaces around each allowed; anything else (``@anna``, an
    e-mail address, a lower-case or space-separated id) is named in the error, the valid ids are not."""
    ids = _split_ids(value)
    bad = sorted(part for part in ids if not is_slack_user_id(part))
    if bad:
        raise ConfigError(
            "bad_staff_user_ids",
            "WIEWEET_STAFF_USER_IDS must list Slack user ids such as U012AB3CD (a member's profile shows it under "
            f"'Copy member ID'), separated by commas, not {', '.join(repr(part) for part in bad)}",
        )
    return ids


def _positive_float(value: str | None, default: float, name: str) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError("bad_number", f"{name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise ConfigError("bad_number", f"{name} must be more than 0 seconds")
    return number


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _flag(value: str | None, default: bool, name: str) -> bool:
    """The one reading of a boolean setting: true/false, 1/0, yes/no, on/off in any case; unset or empty is the
    default; anything else is an error naming the variable."""
    if value is None or not value.strip():
        return default
    text = value.strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ConfigError("bad_flag", f"{name} must be true or false (also 1/0, yes/no, on/off), not {value!r}")


def _gap_levels(value: str | None) -> str:
    text = (value or "").strip().lower()
    if not text:
        return "off"
    if text not in {"off", "register"}:
        raise ConfigError("bad_choice", f"WIEWEET_GAP_LEVELS must be register or off, not {value!r}")
    return text


def _units(count: int, unit: str) -> str:
    """'days' for any count but one ('1 day'): operator messages in English."""
    return unit.removesuffix("s") if count == 1 else unit


def _positive_int(
    value: str | None, default: int, name: str, *, unit: str = "days", minimum: int = 1, maximum: int | None = None
) -> int:
    if not value or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError("bad_number", f"{name} must be a whole number of {unit}, not {value!r}") from None
    if number < minimum:
        raise ConfigError("bad_number", f"{name} must be at least {minimum} {_units(minimum, unit)}")
    if maximum is not None and number > maximum:
        raise ConfigError("bad_number", f"{name} must be at most {maximum} {_units(maximum, unit)}")
    return number


def _timezone(value: str | None) -> str:
    """An IANA time zone name (``Europe/Brussels``): business days, digest weeks and schedules are in it."""
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            "bad_timezone", f"WIEWEET_TIMEZONE must be an IANA time zone name such as Europe/Brussels, not {value!r}"
        ) from None
    return name


HOLIDAY = re.compile(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})")


def _holidays(value: str | None) -> tuple[frozenset[tuple[int, int]], frozenset[date]]:
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
        raise ConfigError(
            "bad_holidays",
            "WIEWEET_EXTRA_HOLIDAYS must list days off as MM-DD (every year, such as 07-11) or YYYY-MM-DD (that day "
            f"only), separated by commas, or be none; not a day: {', '.join(repr(part) for part in bad)}",
        )
    if yearly and nothing_yearly:
        days = ", ".join(f"{month:02d}-{day:02d}" for month, day in sorted(yearly))
        raise ConfigError(
            "bad_holidays",
            f"WIEWEET_EXTRA_HOLIDAYS lists none (no yearly days off) together with yearly days ({days}): write the "
            "yearly days without none to replace the default ones, or none with dated days (YYYY-MM-DD) only",
        )
    if not yearly and not nothing_yearly:
        return DEFAULT_YEARLY_HOLIDAYS, frozenset(dated)
    return frozenset(yearly), frozenset(dated)


# hosts the Slack API may be reached on over plain http: this machine only (a local emulator, tests)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _slack_api_url(value: str | None) -> str:
    """The Slack Web API base URL: https with a host (http only to this machine), ending in ``/`` (the client
    appends ``auth.test`` to it). Every call carries the bot token: over http to another host anyone on the way
    could read it."""
    url = (value or "").strip() or DEFAULT_SLACK_API_URL
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError("bad_slack_api_url", "SLACK_API_URL must be an http(s):// URL such as https://slack.com/api/")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(
            "bad_slack_api_url",
            "SLACK_API_URL must be an https:// URL (http:// only to localhost, 127.0.0.1 or ::1, such as a local "
            "emulator): the bot token would travel unencrypted",
        )
    return url if url.endswith("/") else url + "/"


def _triage_channel(value: str | None) -> str | None:
    channel = (value or "").strip()
    if not channel:
        return None
    # a public (C…) or private (G…) channel's id, as Slack shows it in the channel's details (``bot.text``'s one
    # check); a name ("#triage", "TRIAGE") is not looked up, and a DM (D…) is no channel for staff
    if not is_slack_channel_id(channel, prefixes="CG"):
        raise ConfigError(
            "bad_triage_channel",
            "WIEWEET_TRIAGE_CHANNEL must be a channel id such as C0123ABCD (the channel's details show it at the "
            f"bottom), not {channel!r}",
        )
    return channel


# a Slack user group's id (S…), as Slack's API names it; its @handle or name is not looked up
USERGROUP_ID = re.compile(r"S[A-Z0-9]{6,}")


def _staff_usergroup(value: str | None) -> str | None:
    """The staff user group's id, spaces around it allowed; a handle, a name or a list is a setting to fix."""
    group = (value or "").strip()
    if not group:
        return None
    if not USERGROUP_ID.fullmatch(group):
        raise ConfigError(
            "bad_staff_usergroup",
            "WIEWEET_STAFF_USERGROUP must be one Slack user group id such as S0123ABCD (the group's id, not its "
            f"@handle or name), not {group!r}",
        )
    return group


def _share(value: str | None, default: float, name: str) -> float:
    if not value or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError("bad_number", f"{name} must be a number between 0 and 1, not {value!r}") from None
    if not 0.0 < number < 1.0:
        raise ConfigError("bad_number", f"{name} must be between 0 and 1 (exclusive), not {value!r}")
    return number


def read_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, object] | None = None
) -> tuple[Settings, list[str]]:
    """The settings from ``environ`` (default: the process environment) and explicit overrides, and every problem
    found in them (one line each). A malformed value is listed and replaced by its default, so that all problems
    can be reported at once; ``load_settings`` refuses to go on with any."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def checked(read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except ConfigError as exc:
            problems.append(exc.message)
            return default

    yearly_holidays, extra_holidays = checked(
        lambda: _holidays(env.get("WIEWEET_EXTRA_HOLIDAYS")), (DEFAULT_YEARLY_HOLIDAYS, frozenset[date]())
    )
    values: dict[str, object] = {
        # not read when overridden (``--database``): a malformed variable the option replaces stops nothing
        "database_url": DEFAULT_DATABASE_URL
        if "database_url" in (overrides or {})
        else checked(
            lambda: normalise_database_url(env.get("WIEWEET_DATABASE_URL") or DEFAULT_DATABASE_URL),
            DEFAULT_DATABASE_URL,
        ),
        "slack_bot_token": env.get("SLACK_BOT_TOKEN") or None,
        "slack_app_token": env.get("SLACK_APP_TOKEN") or None,
        "slack_signing_secret": env.get("SLACK_SIGNING_SECRET") or None,
        "slack_api_url": checked(lambda: _slack_api_url(env.get("SLACK_API_URL")), DEFAULT_SLACK_API_URL),
        "timezone": checked(lambda: _timezone(env.get("WIEWEET_TIMEZONE")), DEFAULT_TIMEZONE),
        "default_language": env.get("WIEWEET_LANGUAGE") or DEFAULT_LANGUAGE,
        "yearly_holidays": yearly_holidays,
        "extra_holidays": extra_holidays,
        "staff_user_ids": checked(lambda: _staff_user_ids(env.get("WIEWEET_STAFF_USER_IDS")), frozenset[str]()),
        "staff_usergroup_id": checked(lambda: _staff_usergroup(env.get("WIEWEET_STAFF_USERGROUP")), None),
        "triage_channel_id": checked(lambda: _triage_channel(env.get("WIEWEET_TRIAGE_CHANNEL")), None),
        "allowed_teams": checked(lambda: parse_allowed_teams(env.get("WIEWEET_ALLOWED_TEAMS")), frozenset[str]()),
        "guests_inside": checked(
            lambda: _flag(env.get("WIEWEET_GUESTS_INSIDE"), False, "WIEWEET_GUESTS_INSIDE"), False
        ),
        "echo_sql": checked(lambda: _flag(env.get("WIEWEET_ECHO_SQL"), False, "WIEWEET_ECHO_SQL"), False),
        "echo_sql_parameters": checked(
            lambda: _flag(env.get("WIEWEET_ECHO_SQL_PARAMETERS"), False, "WIEWEET_ECHO_SQL_PARAMETERS"), False
        ),
        "job_interval_seconds": checked(
            lambda: _positive_float(env.get("WIEWEET_JOB_INTERVAL"), 30.0, "WIEWEET_JOB_INTERVAL"), 30.0
        ),
        "fake_now_file": env.get("WIEWEET_FAKE_NOW_FILE") or None,
        "tx_guard_file": env.get("WIEWEET_TEST_TX_GUARD_FILE") or None,
        "require_consent": checked(
            lambda: _flag(env.get("WIEWEET_REQUIRE_CONSENT"), True, "WIEWEET_REQUIRE_CONSENT"), True
        ),
        "expert_approval": checked(
            lambda: _flag(env.get("WIEWEET_EXPERT_APPROVAL"), False, "WIEWEET_EXPERT_APPROVAL"), False
        ),
        "reconfirm_days": checked(
            lambda: _positive_int(env.get("WIEWEET_RECONFIRM_DAYS"), 182, "WIEWEET_RECONFIRM_DAYS"), 182
        ),
        "semantic": checked(lambda: _flag(env.get("WIEWEET_SEMANTIC"), True, "WIEWEET_SEMANTIC"), True),
        "gap_levels": checked(lambda: _gap_levels(env.get("WIEWEET_GAP_LEVELS")), "off"),
        "theme_names_once": checked(
            lambda: _flag(env.get("WIEWEET_THEME_NAMES_ONCE"), True, "WIEWEET_THEME_NAMES_ONCE"), True
        ),
        "max_body_bytes": checked(
            lambda: _positive_int(
                env.get("WIEWEET_MAX_BODY_BYTES"),
                DEFAULT_MAX_BODY_BYTES,
                "WIEWEET_MAX_BODY_BYTES",
                unit="bytes",
                minimum=4096,
                maximum=64 * 1024 * 1024,
            ),
            DEFAULT_MAX_BODY_BYTES,
        ),
        "http_timeout": checked(
            lambda: _positive_int(
                env.get("WIEWEET_HTTP_TIMEOUT"), 15, "WIEWEET_HTTP_TIMEOUT", unit="seconds", maximum=600
            ),
            15,
        ),
        "http_connection_limit": checked(
            lambda: _positive_int(
                env.get("WIEWEET_HTTP_CONNECTIONS"), 500, "WIEWEET_HTTP_CONNECTIONS", unit="connections", minimum=10
            ),
            500,
        ),
        "socket_down_seconds": checked(
            lambda: _positive_int(
                env.get("WIEWEET_SOCKET_DOWN_SECONDS"),
                300,
                "WIEWEET_SOCKET_DOWN_SECONDS",
                unit="seconds",
                maximum=86400,
            ),
            300,
        ),
        "max_open_per_asker": checked(
            lambda: _positive_int(
                env.get("WIEWEET_MAX_OPEN_PER_ASKER"), 3, "WIEWEET_MAX_OPEN_PER_ASKER", unit="questions", minimum=0
            ),
            3,
        ),
        "max_questions_per_hour": checked(
            lambda: _positive_int(
                env.get("WIEWEET_MAX_QUESTIONS_PER_HOUR"),
                5,
                "WIEWEET_MAX_QUESTIONS_PER_HOUR",
                unit="questions",
                minimum=0,
            ),
            5,
        ),
        "needs_min_organisations": checked(
            lambda: _positive_int(
                env.get("WIEWEET_NEEDS_MIN_ORGANISATIONS"), 3, "WIEWEET_NEEDS_MIN_ORGANISATIONS", unit="organisations"
            ),
            3,
        ),
        "needs_window_weeks": checked(
            lambda: _positive_int(env.get("WIEWEET_NEEDS_WINDOW_WEEKS"), 8, "WIEWEET_NEEDS_WINDOW_WEEKS", unit="weeks"),
            8,
        ),
        "needs_similarity": checked(
            lambda: _share(env.get("WIEWEET_NEEDS_SIMILARITY"), 0.2, "WIEWEET_NEEDS_SIMILARITY"), 0.2
        ),
    }
    values.update(overrides or {})
    if (language := language_of(str(values["default_language"]))) is None:  # any case, a region allowed: "en-GB"
        given, choices = values["default_language"], " or ".join(repr(code) for code in LANGUAGES)
        problems.append(f"WIEWEET_LANGUAGE must be {choices} (any case; a region such as en-GB allowed), not {given!r}")
    values["default_language"] = language or DEFAULT_LANGUAGE
    return Settings(**values), problems  # type: ignore[arg-type]


# Every variable wieweet reads (``read_settings``), and those its tests and benchmarks read: any other WIEWEET_*
# variable, or a SLACK_* one spelled almost like one of these, is most likely a typo that would be silently ignored.
SETTING_NAMES = frozenset(
    {
        "WIEWEET_DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "WIEWEET_TIMEZONE",
        "WIEWEET_EXTRA_HOLIDAYS",
        "WIEWEET_LANGUAGE",
        "WIEWEET_STAFF_USER_IDS",
        "WIEWEET_STAFF_USERGROUP",
        "WIEWEET_TRIAGE_CHANNEL",
        "WIEWEET_ALLOWED_TEAMS",
        "WIEWEET_ECHO_SQL",
        "WIEWEET_ECHO_SQL_PARAMETERS",
        "WIEWEET_JOB_INTERVAL",
        "WIEWEET_FAKE_NOW_FILE",
        "WIEWEET_TEST_TX_GUARD_FILE",
        "WIEWEET_REQUIRE_CONSENT",
        "WIEWEET_EXPERT_APPROVAL",
        "WIEWEET_RECONFIRM_DAYS",
        "WIEWEET_MAX_OPEN_PER_ASKER",
        "WIEWEET_MAX_QUESTIONS_PER_HOUR",
        "WIEWEET_SEMANTIC",
        "WIEWEET_GAP_LEVELS",
        "WIEWEET_THEME_NAMES_ONCE",
        "WIEWEET_MAX_BODY_BYTES",
        "WIEWEET_HTTP_TIMEOUT",
        "WIEWEET_HTTP_CONNECTIONS",
        "WIEWEET_SOCKET_DOWN_SECONDS",
        "WIEWEET_NEEDS_MIN_ORGANISATIONS",
        "WIEWEET_NEEDS_WINDOW_WEEKS",
        "WIEWEET_NEEDS_SIMILARITY",
    }
)
_TOOL_PREFIXES = ("WIEWEET_TEST_", "WIEWEET_BENCH_", "WIEWEET_REQUIRE_POSTGRES")  # the test suite's and bench's own


def unknown_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per variable that looks like a misspelt setting (named, never its value): an unknown WIEWEET_*
    variable, or a SLACK_* one close to a real one (``SLACK_BOT_TOKN``)."""
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    for name in sorted(env):
        if name in SETTING_NAMES or name.startswith(_TOOL_PREFIXES):
            continue
        close = difflib.get_close_matches(name, SETTING_NAMES, n=1, cutoff=0.8)
        if name.startswith("WIEWEET_") or (name.startswith("SLACK_") and close):
            hint = f" (did you mean {close[0]}?)" if close else ""
            warnings.append(f"{name} is not a wieweet setting and is ignored{hint}")
    return warnings


def settings_warnings(settings: Settings) -> list[str]:
    """What ``wieweet run`` warns about at start (one line each): settings that are valid but leave part of the bot
    without anyone to act on it."""
    warnings: list[str] = []
    if not settings.staff_user_ids and not settings.staff_usergroup_id:
        warnings.append(
            "neither WIEWEET_STAFF_USER_IDS nor WIEWEET_STAFF_USERGROUP is set: nobody is staff, so nobody can approve "
            "profiles or practices, take up escalated questions or act on knowledge-need proposals, and nobody is "
            "told when the triage channel cannot be reached"
        )
    if not settings.triage_channel_id:
        warnings.append(
            "WIEWEET_TRIAGE_CHANNEL is not set: escalated questions, reviews and proposals are posted in no channel; "
            "each staff member gets them by DM, and escalated questions wait on staff's Home tab and in "
            "`wieweet escalated`"
        )
    return warnings


def settings_error(problems: Sequence[str]) -> ConfigError:
    """One error for every problem: a single one as it is, several as a list."""
    if len(problems) == 1:
        return ConfigError("bad_settings", problems[0])
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return ConfigError("bad_settings", f"{len(problems)} settings to fix:\n{lines}")


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Build the settings from ``environ`` (default: the process environment) and explicit overrides.

    Raises one ``ConfigError`` that lists every malformed setting."""
    settings, problems = read_settings(environ, overrides=overrides)
    if problems:
        raise settings_error(problems)
    return settings


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
        raise ConfigError("bad_database_url", f"{source} is empty")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if "://" not in url:
        return _file_url(url, source)
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(
            "bad_database_url",
            f"{source} must be a sqlite:/// or postgresql:// URL, not {url.split('://')[0]}://…",
        )
    try:
        parsed = make_url(url)
    except ValueError:  # int() of the port
        raise ConfigError("bad_database_url", f"{source} has a port that is not a number") from None
    except ArgumentError:
        raise ConfigError("bad_database_url", f"{source} is not a database URL (check the ://, @ and /)") from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_url(url, parsed.database, source)
    return url


def _file_url(path: str, source: str) -> str:
    """A bare file path as a SQLite URL."""
    if path == ":memory:":
        _check_sqlite_url("sqlite://", None, source)
    if _MANGLED_URL.match(path):  # "postgresql:/user@host/db", "host:5432/db", "user@host/db": not a file name
        raise ConfigError(
            "bad_database_url",
            f"{source} is neither a sqlite:/// or postgresql:// URL nor a file path (check the ://)",
        )
    return "sqlite:///" + str(Path(path))


def _check_sqlite_url(url: str, database: str | None, source: str) -> None:
    """A SQLite URL names a file after three slashes; an in-memory database would keep nothing the command does."""
    if not url.split("://", 1)[1].startswith("/") and url.split("://", 1)[1]:  # sqlite://./w.db: a host, no path
        raise ConfigError(
            "bad_database_url",
            f"{source}: a SQLite URL takes three slashes and then the file: sqlite:///./wieweet.db (relative) or "
            "sqlite:////srv/wieweet.db (absolute)",
        )
    if not database or database == ":memory:" or "mode=memory" in url:
        raise ConfigError(
            "bad_database_url",
            f"{source} names a SQLite database in memory, which keeps nothing after the command; give a file such "
            "as sqlite:///./wieweet.db",
        )
