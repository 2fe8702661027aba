"""The network's knowledge needs: questions and gaps grouped into topics, proposed work sessions, recruiting
expertise, and the steering-group report. No Slack here: the CLI and the Slack layer call the same services.

Public API (what the Slack layer calls)::

    from bot.needs import NeedsService, NeedsConfig, parse_period
    service = NeedsService(knowledge, config=NeedsConfig.from_settings(settings))
    service.update_topics(session, now=now)                               # the job: place new questions
    service.overview(session, actor=actor, period=parse_period("2026-Q4"), now=now)   -> NeedsOverview
    service.propose_due(session, now=now, worker_id=worker, from_topic=0, limit=20)  # the job -> Proposed
    service.propose_sessions(session, now=now, worker_id=worker)          # grouping and all proposals at once
    service.proposal / list_proposals / plan_invite / record_invite / dismiss_proposal / complete_proposal
    service.recruiting(session, actor=actor, topic_id=..., now=now)       -> RecruitPlan
    service.ask_to_add_expertise(session, actor=actor, topic_id=..., expert_ids=[...], now=now)
    service.add_topic_to_profile(session, actor=actor, topic_id=..., now=now)  -> label (or TopicLabelGone)

    from bot.needs.report import collect_report, render_xlsx, render_html, render_chart_png
    collect_report_to_share(session, database=db, service=service, actor=actor, period=period, now=now)
        # collected, then read again in a fresh unit of work: what the Slack upload and ``wieweet report`` use
"""

from bot.needs.core import (
    AlreadyInvited,
    CloseWhileInviting,
    InviteUnderWay,
    NeedsConfig,
    NoShareableWording,
    ProposalClosed,
)
from bot.needs.model import (
    InvitePlan,
    NeedsOverview,
    PersonRef,
    PracticeRef,
    ProposalView,
    RecruitPlan,
    RecruitRequest,
    TopicView,
    UpdateReport,
)
from bot.needs.periods import InvalidPeriod, Period, parse_period
from bot.needs.recruiting import TopicLabelGone, end_if_label_gone, redraw_if_label_erased
from bot.needs.service import NeedsService

__all__ = [
    "AlreadyInvited",
    "CloseWhileInviting",
    "InvalidPeriod",
    "InvitePlan",
    "InviteUnderWay",
    "NeedsConfig",
    "NeedsOverview",
    "NeedsService",
    "NoShareableWording",
    "Period",
    "PersonRef",
    "PracticeRef",
    "ProposalClosed",
    "ProposalView",
    "RecruitPlan",
    "RecruitRequest",
    "TopicLabelGone",
    "TopicView",
    "UpdateReport",
    "end_if_label_gone",
    "parse_period",
    "redraw_if_label_erased",
]
