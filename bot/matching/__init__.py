"""Matching engine: who knows about X? Finds experts, practices and earlier answers for a question.

Public API::

    from bot.matching import Matcher, MatchConfig, SearchResult
    m = Matcher(themes=themes, places=places)
    m.build(experts=..., practices=..., answers=...)
    result = m.search("wie weet iets over leegstandsheffing in Kortrijk?")
"""

from bot.matching.config import MAX_QUERY_CHARS, MatchConfig
from bot.matching.engine import Matcher, is_available
from bot.matching.results import AnswerHit, ExpertHit, PracticeHit, Reason, SearchResult

__all__ = [
    "MAX_QUERY_CHARS",
    "AnswerHit",
    "ExpertHit",
    "MatchConfig",
    "Matcher",
    "PracticeHit",
    "Reason",
    "SearchResult",
    "is_available",
]
