"""Settings: read once from the environment into a frozen object that is passed in everywhere.

Listeners, services and jobs never read ``os.environ`` themselves; ``load_settings`` is called once by the
CLI entry point. How each variable's text becomes its value (and its default) is ``bot.setting_values``; here are
the ``Settings`` they make up, the reading of them all at once with every problem listed, and the warnings about
variables wieweet does not know and settings that leave part of the bot without anyone to act on it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from bot.errors import ConfigError, Problem
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_of
from bot.network import parse_allowed_teams
from bot.routing.business_time import DEFAULT_YEARLY_HOLIDAYS
from bot.setting_values import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SLACK_API_URL,
    DEFAULT_TIMEZONE,
    normalise_database_url,
    parse_flag,
    parse_gap_levels,
    parse_holidays,
    parse_positive_float,
    parse_positive_int,
    parse_share,
    parse_slack_api_url,
    parse_slack_app_id,
    parse_staff_user_ids,
    parse_staff_usergroup,
    parse_timezone,
    parse_triage_channel,
)
from bot.text import shown_value

# the defaults and the database URL's reading are named here too, where their callers have always found them
__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SLACK_API_URL",
    "DEFAULT_TIMEZONE",
    "DEFAULT_YEARLY_HOLIDAYS",
    "SETTING_NAMES",
    "Settings",
    "environment_language",
    "load_settings",
    "normalise_database_url",
    "read_settings",
    "settings_error",
    "settings_warnings",
    "unknown_settings",
]

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
    # SLACK_APP_ID: this app's id; unset, it is learnt from Slack at start-up (``handlers.app.own_app_id``), and a
    # request naming another app in ``api_app_id`` is dropped only when it could be
    slack_app_id: str | None = None
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
            problems.append(exc.args[0] if isinstance(exc.args[0], Problem) else exc.message)  # said per language
            return default

    yearly_holidays, extra_holidays = checked(
        lambda: parse_holidays(env.get("WIEWEET_EXTRA_HOLIDAYS")), (DEFAULT_YEARLY_HOLIDAYS, frozenset[date]())
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
        "slack_api_url": checked(lambda: parse_slack_api_url(env.get("SLACK_API_URL")), DEFAULT_SLACK_API_URL),
        "slack_app_id": checked(lambda: parse_slack_app_id(env.get("SLACK_APP_ID")), None),
        "timezone": checked(lambda: parse_timezone(env.get("WIEWEET_TIMEZONE")), DEFAULT_TIMEZONE),
        "default_language": env.get("WIEWEET_LANGUAGE") or DEFAULT_LANGUAGE,
        "yearly_holidays": yearly_holidays,
        "extra_holidays": extra_holidays,
        "staff_user_ids": checked(lambda: parse_staff_user_ids(env.get("WIEWEET_STAFF_USER_IDS")), frozenset[str]()),
        "staff_usergroup_id": checked(lambda: parse_staff_usergroup(env.get("WIEWEET_STAFF_USERGROUP")), None),
        "triage_channel_id": checked(lambda: parse_triage_channel(env.get("WIEWEET_TRIAGE_CHANNEL")), None),
        "allowed_teams": checked(lambda: parse_allowed_teams(env.get("WIEWEET_ALLOWED_TEAMS")), frozenset[str]()),
        "guests_inside": checked(
            lambda: parse_flag(env.get("WIEWEET_GUESTS_INSIDE"), False, "WIEWEET_GUESTS_INSIDE"), False
        ),
        "echo_sql": checked(lambda: parse_flag(env.get("WIEWEET_ECHO_SQL"), False, "WIEWEET_ECHO_SQL"), False),
        "echo_sql_parameters": checked(
            lambda: parse_flag(env.get("WIEWEET_ECHO_SQL_PARAMETERS"), False, "WIEWEET_ECHO_SQL_PARAMETERS"), False
        ),
        "job_interval_seconds": checked(
            lambda: parse_positive_float(env.get("WIEWEET_JOB_INTERVAL"), 30.0, "WIEWEET_JOB_INTERVAL"), 30.0
        ),
        "fake_now_file": env.get("WIEWEET_FAKE_NOW_FILE") or None,
        "tx_guard_file": env.get("WIEWEET_TEST_TX_GUARD_FILE") or None,
        "require_consent": checked(
            lambda: parse_flag(env.get("WIEWEET_REQUIRE_CONSENT"), True, "WIEWEET_REQUIRE_CONSENT"), True
        ),
        "expert_approval": checked(
            lambda: parse_flag(env.get("WIEWEET_EXPERT_APPROVAL"), False, "WIEWEET_EXPERT_APPROVAL"), False
        ),
        "reconfirm_days": checked(
            lambda: parse_positive_int(env.get("WIEWEET_RECONFIRM_DAYS"), 182, "WIEWEET_RECONFIRM_DAYS"), 182
        ),
        "semantic": checked(lambda: parse_flag(env.get("WIEWEET_SEMANTIC"), True, "WIEWEET_SEMANTIC"), True),
        "gap_levels": checked(lambda: parse_gap_levels(env.get("WIEWEET_GAP_LEVELS")), "off"),
        "theme_names_once": checked(
            lambda: parse_flag(env.get("WIEWEET_THEME_NAMES_ONCE"), True, "WIEWEET_THEME_NAMES_ONCE"), True
        ),
        "max_body_bytes": checked(
            lambda: parse_positive_int(
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
            lambda: parse_positive_int(
                env.get("WIEWEET_HTTP_TIMEOUT"), 15, "WIEWEET_HTTP_TIMEOUT", unit="seconds", maximum=600
            ),
            15,
        ),
        "http_connection_limit": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_HTTP_CONNECTIONS"), 500, "WIEWEET_HTTP_CONNECTIONS", unit="connections", minimum=10
            ),
            500,
        ),
        "socket_down_seconds": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_SOCKET_DOWN_SECONDS"),
                300,
                "WIEWEET_SOCKET_DOWN_SECONDS",
                unit="seconds",
                maximum=86400,
            ),
            300,
        ),
        "max_open_per_asker": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_MAX_OPEN_PER_ASKER"), 3, "WIEWEET_MAX_OPEN_PER_ASKER", unit="questions", minimum=0
            ),
            3,
        ),
        "max_questions_per_hour": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_MAX_QUESTIONS_PER_HOUR"),
                5,
                "WIEWEET_MAX_QUESTIONS_PER_HOUR",
                unit="questions",
                minimum=0,
            ),
            5,
        ),
        "needs_min_organisations": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_NEEDS_MIN_ORGANISATIONS"), 3, "WIEWEET_NEEDS_MIN_ORGANISATIONS", unit="organisations"
            ),
            3,
        ),
        "needs_window_weeks": checked(
            lambda: parse_positive_int(
                env.get("WIEWEET_NEEDS_WINDOW_WEEKS"), 8, "WIEWEET_NEEDS_WINDOW_WEEKS", unit="weeks"
            ),
            8,
        ),
        "needs_similarity": checked(
            lambda: parse_share(env.get("WIEWEET_NEEDS_SIMILARITY"), 0.2, "WIEWEET_NEEDS_SIMILARITY"), 0.2
        ),
    }
    values.update(overrides or {})
    if (language := language_of(str(values["default_language"]))) is None:  # any case, a region allowed: "en-GB"
        given, choices = shown_value(str(values["default_language"])), " or ".join(repr(code) for code in LANGUAGES)
        english = f"WIEWEET_LANGUAGE must be {choices} (any case; a region such as en-GB allowed), not {given}"
        problems.append(Problem(english, "setting_language", {"value": given}))
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
        "SLACK_APP_ID",
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
            english = f"{name} is not a wieweet setting and is ignored{hint}"
            values = {"name": name, "close": close[0]} if close else {"name": name}
            warnings.append(Problem(english, "setting_unknown_close" if close else "setting_unknown", values))
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
    """One error for every problem: a single one as it is, several as a list. The problems are kept as they are
    (``values["problems"]``) for the command line to say each in the operator's language."""
    if len(problems) == 1:
        return ConfigError("bad_settings", problems[0], values={"problems": tuple(problems)})
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return ConfigError(
        "bad_settings", f"{len(problems)} settings to fix:\n{lines}", values={"problems": tuple(problems)}
    )


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The operator's language from ``WIEWEET_LANGUAGE`` alone (Dutch when unset or not a language): what the command
    line speaks before the settings are read, or when reading them failed."""
    env = os.environ if environ is None else environ
    return language_of(env.get("WIEWEET_LANGUAGE")) or DEFAULT_LANGUAGE


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Build the settings from ``environ`` (default: the process environment) and explicit overrides.

    Raises one ``ConfigError`` that lists every malformed setting."""
    settings, problems = read_settings(environ, overrides=overrides)
    if problems:
        raise settings_error(problems)
    return settings
