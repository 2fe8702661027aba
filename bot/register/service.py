"""The expert and practice registers: import, export, listing and profiles (``bot.register.listing``).

The same functions serve the command line and, later, Slack; they know nothing about either. They never commit:
the caller's ``db.session()`` block is the one transaction, so an import is all or nothing — every row is
validated first and any problem raises ``ImportFailed`` (listing every problem, each located by file, row and
column) before anything is written.

Imports upsert by key (experts: email, case-insensitive; practices: title + city, case-insensitive) and never
delete. A column absent from the file leaves that field of existing records untouched (the key and required
columns must be present). Every added or changed record gets an audit log row. Experts created by an import get
``consent=pending``; the consent of existing experts is never touched by an import, except that it belongs to a
Slack account: an expert whose Slack account changes (or goes) starts again at ``pending``, availability reset.
The rows of people who asked to be forgotten are skipped and reported (``bot.register.erased``).

An e-mail address is an identity claim (``bot.register.identity``): a file without a ``slack_user_id`` column that
matches a profile made in Slack keeps its account only when Slack confirms the address for it; otherwise the row
is imported without that account and the conflict is in the report.

Exports are deterministic (experts by email; practices by city then title, case-insensitively), in the import
format, so export → import changes nothing and export → import → export gives the same bytes.

This module is the registers' one door (import from here): the expert import is ``bot.register.expert_import``,
the practice import ``bot.register.practice_import``, the steps both take ``bot.register.import_steps``; exports
are ``bot.register.export``, listing ``bot.register.listing``, themes ``bot.register.themes``.
"""

from __future__ import annotations

from bot.register.expert_import import import_experts
from bot.register.export import export_experts, export_practices
from bot.register.listing import ExpertProfile, get_expert_profile, list_experts, list_practices, resolve_theme
from bot.register.practice_import import import_practices
from bot.register.report import ImportReport, Progress, RecordChange
from bot.register.themes import import_themes

__all__ = [
    "ExpertProfile",
    "ImportReport",
    "Progress",
    "RecordChange",
    "export_experts",
    "export_practices",
    "get_expert_profile",
    "import_experts",
    "import_practices",
    "import_themes",
    "list_experts",
    "list_practices",
    "resolve_theme",
]
