"""What ``wieweet register check-slack`` prints, in the operator's language (``WIEWEET_LANGUAGE``): each expert
whose address Slack does not confirm for their account, with why, and the count checked. The address Slack holds
is written as an import's conflict line writes it (``echo`` shows any control character in it); the source stays a
code, as stored."""

from __future__ import annotations

from bot.i18n import N_, format_number, t, tn
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
