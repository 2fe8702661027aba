"""The unit of work that a request's or a job's wrapper opens (``Database.session``) and hands to the services.

Named here so the Slack layer can pass it on, and type it, without importing SQLAlchemy or running SQL itself.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

__all__ = ["Session"]
