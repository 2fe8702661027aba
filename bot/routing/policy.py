"""The knobs of question routing, in one frozen object passed in everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    # who is asked
    initial_experts: int = 2  # asked at once when a question comes in
    candidate_pool: int = 25  # search hits considered (more than needed: many are filtered out)
    max_experts_per_question: int = 6  # automatic asks stop here (staff and forwards may add more)
    require_confirmed_consent: bool = True  # False: experts with pending consent are asked too
    max_open_per_expert: int = 3  # for experts without a limit of their own (Expert.max_open_questions 0)
    decline_penalty: float = 0.5  # score factor per recent decline on a shared theme
    decline_window_days: int = 365  # declines older than this no longer count
    spread_ratio: float = 0.6  # another organisation's candidate is "good" at >= this share of the best score
    # when (business days, see BusinessCalendar)
    remind_after_days: int = 2
    next_expert_after_days: int = 3
    escalate_after_days: int = 5
    # where staff are told (None: the Slack layer's configured triage channel)
    triage_channel_id: str | None = None
    # timers and outbox
    stale_claim_after: timedelta = timedelta(minutes=10)  # a claim older than this is a crashed worker's
    max_attempts: int = 8  # give up (and keep the error) after this many failures
    retry_base: timedelta = timedelta(minutes=1)  # backoff: base * 2 ** (attempts - 1), capped
    retry_cap: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.initial_experts < 1 or self.max_experts_per_question < self.initial_experts:
            raise ValueError("initial_experts must be >= 1 and <= max_experts_per_question")
        if not 0.0 < self.decline_penalty <= 1.0:
            raise ValueError("decline_penalty must be in (0, 1]")
        if min(self.remind_after_days, self.next_expert_after_days, self.escalate_after_days) < 0:
            raise ValueError("business-day delays must be >= 0")

    def backoff(self, attempts: int) -> timedelta:
        """How long to wait before retry number ``attempts`` (1 = after the first failure)."""
        delay = self.retry_base * (1 << min(max(0, attempts - 1), 30))
        return min(delay, self.retry_cap)
