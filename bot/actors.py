"""Who is acting, and what they may do: authorization lives here and in the services, never only in the UI.

The Slack layer resolves *who* a request comes from (the user id Slack signed, and whether that user is
knowledge-centre staff); the services decide *whether* that person may do the thing, with the helpers below, and
raise ``NotAuthorized`` before anything is written. Hiding a button is a courtesy, not a check: a forged
interaction payload (another user's id in a value, a staff-only action sent by someone else) reaches the same
service call and is refused there — and logged, by the global error handler, as a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import WieweetError

SYSTEM_LABEL = "system"
CLI_LABEL_PREFIX = "cli:"  # the command line's labels: ``cli:<account>`` or ``cli:<account> by <name>``


class NotAuthorized(WieweetError):
    """The actor may not do this: a refusal, logged as one WARNING line (actor, action, target).

    ``action`` names what was refused and ``target`` what it was about (``"question:12"``, ``"channel:C0123"``), both
    for the log, not for the user; ``code`` picks the user's message (``not_staff`` for staff-only actions).
    """

    code = "not_authorized"
    refusal = True

    def __init__(
        self, action: str, *, staff_only: bool = False, target: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(code or ("not_staff" if staff_only else "not_authorized"), f"not allowed: {action}")
        self.action = action
        self.target = target


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or process) behind a change.

    ``slack_id`` is the Slack user id Slack signed the request for (None on the command line and for jobs);
    ``is_staff`` is true for knowledge-centre staff (configured ids or the staff user group) and for the command
    line, whose users run it on the server. ``label`` is what the audit log records.
    """

    slack_id: str | None
    is_staff: bool = False
    label: str = ""

    @classmethod
    def slack(cls, slack_id: str, *, is_staff: bool) -> Actor:
        return cls(slack_id=slack_id, is_staff=is_staff, label=slack_id)

    @classmethod
    def cli(cls, user: str, *, by: str = "") -> Actor:
        """The command line, run by the operating-system account ``user``; ``by``: the name the operator gave
        (``--by``), recorded beside it (``cli:root by anna``) — their word, not a check."""
        return cls(slack_id=None, is_staff=True, label=f"{CLI_LABEL_PREFIX}{user}" + (f" by {by}" if by else ""))

    @classmethod
    def system(cls) -> Actor:
        return cls(slack_id=None, is_staff=True, label=SYSTEM_LABEL)

    @property
    def audit_label(self) -> str:
        return self.label or self.slack_id or SYSTEM_LABEL

    def require_staff(self, action: str, *, target: str | None = None) -> None:
        if not self.is_staff:
            raise NotAuthorized(action, staff_only=True, target=target)

    def is_self(self, slack_id: str | None) -> bool:
        return bool(self.slack_id) and self.slack_id == slack_id

    def require_self_or_staff(self, owner_slack_id: str | None, action: str, *, target: str | None = None) -> None:
        """Only the owner (by Slack id) or staff; a record without an owner is staff-only."""
        if not (self.is_staff or self.is_self(owner_slack_id)):
            raise NotAuthorized(action, target=target)
