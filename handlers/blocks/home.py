"""Pure Block Kit builders for the bot's Home tab: your profile and its buttons, questions routed to you, questions
you asked; for staff, escalated and held-back questions.

Builders take plain values (``HomeData``, built by ``home_data`` from the core's ``HomeView``) and a language and
return typed blocks (``slack_sdk.models``), which check Slack's limits. Every text from the register or a user is
escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DatePickerElement, DividerBlock
from slack_sdk.models.views import View

from bot.home import HomeView
from bot.i18n import N_, format_date, format_number, t, tn
from bot.routing.queries import HeldQuestion, WaitingQuestion
from handlers import ids
from handlers.blocks.profile import ProfileCard, profile_card, profile_text
from handlers.blocks.routing import REASON_KEYS, status_label
from handlers.kit import HOME_MAX_BLOCKS, button, context, escape_truncate, header, plain, section
from storage.models import RoutingStatus

HOME_LIST = 10  # questions shown per list on the Home tab


@dataclass(frozen=True, slots=True)
class HomeItem:
    text: str
    state: str  # already translated
    date: str


@dataclass(frozen=True, slots=True)
class HomeData:
    profile: ProfileCard | None
    routed: Sequence[HomeItem] = ()
    asked: Sequence[HomeItem] = ()
    is_staff: bool = False
    stale_count: int = 0
    pending_count: int = 0
    waiting: Sequence[HomeItem] = ()  # staff: escalated questions waiting for them (the oldest)
    waiting_count: int = 0
    held: Sequence[HomeItem] = ()  # staff: questions held back while their asker has enough with experts
    held_count: int = 0


ROUTING_STATE_KEYS = {  # a question sent to this expert, as the Home tab lists it
    RoutingStatus.ASKED: N_("profile.routing_asked"),
    RoutingStatus.CLAIMED: N_("profile.routing_claimed"),
    RoutingStatus.DECLINED: N_("profile.routing_declined"),
    RoutingStatus.FORWARDED: N_("profile.routing_forwarded"),
    RoutingStatus.EXPIRED: N_("profile.routing_expired"),
    RoutingStatus.ANSWERED: N_("profile.routing_answered"),
}


def waiting_item(item: WaitingQuestion, lang: str, *, tz: tzinfo | None = None) -> HomeItem:
    """An escalated question on the staff's Home tab: its number, text (or redacted), why, and a warning when the
    triage channel never got it."""
    text = f"#{item.question_id} " + (item.text or t("profile.home_waiting_redacted", lang))
    state = t(REASON_KEYS[item.reason], lang) if item.reason is not None else t("routing.status_escalated", lang)
    if item.triage_error is not None:
        state += " · " + t("profile.home_waiting_not_posted", lang, error=item.triage_error[:60])
    return HomeItem(text, state, format_date(item.escalated_at, lang, year=True, tz=tz) if item.escalated_at else "")


def held_item(item: HeldQuestion, lang: str, *, tz: tzinfo | None = None) -> HomeItem:
    text = f"#{item.question_id} " + (item.text or t("profile.home_waiting_redacted", lang))
    return HomeItem(text, t("routing.status_held", lang), format_date(item.asked_at, lang, year=True, tz=tz))


def held_blocks(items: Sequence[HomeItem], count: int, lang: str) -> list[Block]:
    """The questions held back (staff only), as the Home tab and ``/wieweet beheer`` list them; none: nothing."""
    if not count:
        return []
    return [header(t("profile.home_held", lang, count=format_number(count, lang))), *_items(items, "")]


def home_data(home: HomeView, lang: str, *, tz: tzinfo | None = None) -> HomeData:
    """The Home tab's values in ``lang``, from the core's ``HomeView``; days are local (``tz``)."""
    waiting = home.waiting
    return HomeData(
        profile=profile_card(home.profile, lang, stale=home.stale_profile, tz=tz) if home.profile is not None else None,
        routed=[
            HomeItem(
                r.question.text, t(ROUTING_STATE_KEYS[r.status], lang), format_date(r.asked_at, lang, year=True, tz=tz)
            )
            for r in home.routed
        ],
        asked=[
            HomeItem(q.text, status_label(q.status, lang), format_date(q.created_at, lang, year=True, tz=tz))
            for q in home.asked
        ],
        is_staff=home.is_staff,
        stale_count=home.stale_count,
        pending_count=home.pending_count,
        waiting=[waiting_item(q, lang, tz=tz) for q in waiting.questions] if waiting else [],
        waiting_count=waiting.count if waiting else 0,
        held=[held_item(h, lang, tz=tz) for h in waiting.held] if waiting else [],
        held_count=waiting.held_count if waiting else 0,
    )


# --- the view ----------------------------------------------------------------------------------------------------


def _items(items: Sequence[HomeItem], empty: str) -> list[Block]:
    if not items:
        return [context(empty)]
    return [
        section(f"{escape_truncate(item.text, 280)}\n_{escape_truncate(item.state, 160)}_ · {item.date}")
        for item in items[:HOME_LIST]
    ]


def build_home_view(data: HomeData, lang: str) -> View:
    """The bot's Home tab: your profile and its buttons, questions routed to you, questions you asked."""
    blocks: list[Block] = [header(t("profile.home_title", lang))]
    card = data.profile
    if card is None or card.consent == "withdrawn":
        blocks.append(section(t("profile.home_not_expert", lang)))
        blocks.append(
            ActionsBlock(
                block_id=ids.BLOCK_HOME_PROFILE_ACTIONS,
                elements=[button(t("profile.btn_join", lang), ids.ACTION_PROFILE_JOIN, "join", style="primary")],
            )
        )
    elif card.rejected:  # not listed, nothing to confirm or be available for: filling it in again submits it
        blocks.append(section(profile_text(card, lang)))
        blocks.append(context(t("profile.home_rejected", lang)))
        edit = button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, str(card.expert_id), style="primary")
        blocks.append(ActionsBlock(block_id=ids.BLOCK_HOME_PROFILE_ACTIONS, elements=[edit]))
    else:
        blocks.append(section(profile_text(card, lang)))
        value = str(card.expert_id)
        buttons: list[Any] = [button(t("profile.btn_edit", lang), ids.ACTION_PROFILE_EDIT, value)]
        if card.consent == "pending" or card.stale:
            buttons.insert(
                0, button(t("profile.btn_confirm", lang), ids.ACTION_CONSENT_CONFIRM, value, style="primary")
            )
        buttons.append(
            DatePickerElement(
                action_id=ids.ACTION_HOME_AWAY,
                placeholder=plain(t("profile.btn_away", lang)),
                initial_date=card.away_until if card.availability == "away" else None,
            )
        )
        if card.availability != "available":
            buttons.append(button(t("profile.btn_available", lang), ids.ACTION_HOME_AVAILABLE, value))
        else:
            buttons.append(button(t("profile.btn_opt_out", lang), ids.ACTION_HOME_OPT_OUT, value, style="danger"))
        blocks.append(ActionsBlock(block_id=ids.BLOCK_HOME_PROFILE_ACTIONS, elements=buttons))
    blocks.append(DividerBlock())
    blocks.append(header(t("profile.home_routed", lang)))
    blocks.extend(_items(data.routed, t("profile.home_routed_none", lang)))
    blocks.append(DividerBlock())
    blocks.append(header(t("profile.home_asked", lang)))
    blocks.extend(_items(data.asked, t("profile.home_asked_none", lang)))
    blocks.append(DividerBlock())
    if data.is_staff:  # escalated questions: also those the triage channel never got
        blocks.append(header(t("profile.home_waiting", lang, count=format_number(data.waiting_count, lang))))
        blocks.extend(_items(data.waiting, t("profile.home_waiting_none", lang)))
        blocks.append(DividerBlock())
    if data.is_staff and data.held_count:  # held back: staff see them before they are escalated
        blocks.extend(held_blocks(data.held, data.held_count, lang))
        blocks.append(DividerBlock())
    footer: list[Any] = [button(t("profile.btn_refresh", lang), ids.ACTION_HOME_REFRESH, "refresh")]
    blocks.append(ActionsBlock(block_id=ids.BLOCK_HOME_FOOTER, elements=footer))
    if data.is_staff:
        stale_count, pending_count = format_number(data.stale_count, lang), format_number(data.pending_count, lang)
        stale = tn("profile.home_stale", "profile.home_stale_plural", data.stale_count, lang, count=stale_count)
        pending = tn(
            "profile.home_pending", "profile.home_pending_plural", data.pending_count, lang, count=pending_count
        )
        blocks.append(context(t("profile.home_staff", lang, stale=stale, pending=pending)))
    return View(type="home", blocks=blocks[:HOME_MAX_BLOCKS])
