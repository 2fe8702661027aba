"""What ``wieweet register check-slack`` prints, in the operator's language (``WIEWEET_LANGUAGE``): each expert
whose address Slack does not confirm for their account, with why, and the count checked. The address Slack holds
is written as an import's conflict line writes it (``echo`` shows any control character in it); the source stays a
code, as stored. Then (``confirm_lines``) whose recruiting DM refused as an unknown id may go again: written only
once the report is out, so a read-only database (a hot standby) still gets it whole; the summary stays last."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from bot.cli import CliContext, cli_actor, database_reason
from bot.i18n import N_, format_number, t, tn
from bot.needs import reachability
from bot.register import identity

PROBLEM_KEYS = {  # why Slack does not confirm a register address (``identity.mismatch_code``)
    identity.NO_TOKEN: N_("cli.check_slack_no_token"),
    identity.NOT_ASKED: N_("cli.check_slack_not_asked"),
    identity.NO_ADDRESS: N_("cli.check_slack_no_address"),
    identity.OTHER_ADDRESS: N_("cli.check_slack_other_address"),
}


def _why(problem: identity.SlackEmailCheck, lang: str) -> str:
    key = PROBLEM_KEYS.get(problem.code)
    return t(key, lang, held=problem.held) if key else problem.problem


def report_lines(checked: int, problems: list[identity.SlackEmailCheck], lang: str) -> list[str]:
    """One line per expert Slack does not confirm, then the summary ("12 Slack-accounts nagekeken, 1 niet bevestigd
    door Slack")."""
    lines = [
        t(
            "cli.check_slack_line",
            lang,
            email=p.email,
            account=p.slack_user_id,
            name=p.name,
            source=p.source,
            problem=_why(p, lang),
        )
        for p in problems
    ]
    accounts = tn(
        "cli.check_slack_checked", "cli.check_slack_checked_plural", checked, lang, count=format_number(checked, lang)
    )
    lines.append(t("cli.check_slack_summary", lang, checked=accounts, unconfirmed=format_number(len(problems), lang)))
    return lines


def confirm_lines(cli: CliContext, emails: list[str], lang: str) -> list[str]:
    """Clear the refusals ``reachability.list_unknown_ids_confirmed`` found (``emails``: Slack confirms their accounts)
    in a unit of work of its own, and say so: one line each, also when the database could not be written."""
    if not emails:
        return []
    try:
        with cli.db.session() as session:
            cleared = reachability.confirm_slack_ids(session, emails=emails, actor=cli_actor(), now=datetime.now(UTC))
    except DBAPIError as exc:  # read-only (a hot standby, a read-only role): the report stands, nothing cleared
        reason = database_reason(exc, cli.settings.database_url)
        return [t("cli.check_slack_not_cleared", lang, email=email, reason=reason) for email in emails]
    return [t("cli.check_slack_cleared", lang, email=email) for email in cleared]
