"""The "who knows" service: one in-memory index per process, kept in step with the database.

``KnowledgeBase`` builds the matcher from the database once, then follows every committed change to experts,
practices, themes and answered questions made through this process's sessions (SQLAlchemy session events), so
the index is never rebuilt per query. ``ask`` is what the CLI, the console and Slack all call.

The modules: ``index`` (``KnowledgeBase``: building, following changes, asking), ``vectors`` (the meaning
signal's stored vectors and their background filling), ``gap_keys`` (knowledge gaps' grouping keys, rebuilt when
the analysis changes) and ``search_access`` (who may use a search's buttons).
"""

from bot.knowledge.gap_keys import GAP_KEY_WINDOW, analysis_version, current_gap_key, rebuild_gap_keys
from bot.knowledge.index import (
    SYNC_OVERLAP,
    AskOutcome,
    KnowledgeBase,
    normalise_gap_query,
    result_summary,
    searchable_start,
)
from bot.knowledge.search_access import (
    SEARCH_ASK,
    SEARCH_FEEDBACK,
    SEARCH_MORE,
    SEARCH_SHARE,
    MemberOf,
    claim_search_share,
    get_search_for,
    mark_search_posted,
    record_feedback,
    release_search_share,
)
from bot.knowledge.vectors import BackgroundEmbedding, DatabaseVectorStore, semantic_enabled

__all__ = [
    "GAP_KEY_WINDOW",
    "SEARCH_ASK",
    "SEARCH_FEEDBACK",
    "SEARCH_MORE",
    "SEARCH_SHARE",
    "SYNC_OVERLAP",
    "AskOutcome",
    "BackgroundEmbedding",
    "DatabaseVectorStore",
    "KnowledgeBase",
    "MemberOf",
    "analysis_version",
    "claim_search_share",
    "current_gap_key",
    "get_search_for",
    "mark_search_posted",
    "normalise_gap_query",
    "rebuild_gap_keys",
    "record_feedback",
    "release_search_share",
    "result_summary",
    "searchable_start",
    "semantic_enabled",
]
