"""The knobs of question routing, in one frozen object passed in everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import DEFAULT_LANGUAGE
from bot.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class RoutingPolicy(RetryPolicy):
    """Who is asked and when; the timers' and the outbox's retries are ``RetryPolicy``'s (inherited)."""

    # who is asked
    initial_experts: int = 2  # asked at once when a question comes in
    candidate_pool: int = 25  # search hits considered (more than needed: many are filtered out)
    max_experts_per_question: int = 6  # automatic asks stop here (staff and forwards may add more)
    require_confirmed_consent: bool = True  # False: experts with pending consent are asked too
    max_open_per_expert: int = 3  # for experts without a limit of their own (Expert.max_open_questions 0)
    # one asker (staff excepted): questions with experts at once — more are held and routed when one closes — and
    # new questions per hour (0: no limit)
    max_open_per_asker: int = 3
    max_questions_per_hour: int = 5
    decline_penalty: float = 0.5  # score factor per recent decline on a shared theme
    decline_window_days: int = 365  # declines older than this no longer count
    spread_ratio: float = 0.6  # another organisation's candidate is "good" at >= this share of the best score
    # when (business days, see BusinessCalendar)
    remind_after_days: int = 2
    next_expert_after_days: int = 3
    escalate_after_days: int = 5
    # where staff are told (None: the Slack layer's configured triage channel)
    triage_channel_id: str | None = None
    # the network's language (WIEWEET_LANGUAGE): for an expert neither Slack nor the register gives one of
    default_language: str = DEFAULT_LANGUAGE

    def __post_init__(self) -> None:
        if self.initial_experts < 1 or self.max_experts_per_question < self.initial_experts:
            raise ValueError("initial_experts must be >= 1 and <= max_experts_per_question")
        if self.max_open_per_asker < 0 or self.max_questions_per_hour < 0:
            raise ValueError("max_open_per_asker and max_questions_per_hour must be >= 0 (0: no limit)")
        if not 0.0 < self.decline_penalty <= 1.0:
            raise ValueError("decline_penalty must be in (0, 1]")
        if min(self.remind_after_days, self.next_expert_after_days, self.escalate_after_days) < 0:
            raise ValueError("business-day delays must be >= 0")
