"""Small wording promises: the product's name in every language, a refusal that says what to do, and where themes
are changed (not in Slack)."""

from __future__ import annotations

import json

import pytest

from bot.actors import NotAuthorized
from bot.i18n import t
from handlers.blocks.profile import AdminData, build_admin_blocks
from handlers.errors import user_message

LANGS = pytest.mark.parametrize("lang", ["nl", "en"])


@LANGS
def test_the_help_title_names_the_product_as_the_home_tab_does(lang: str) -> None:
    assert t("slack.help_title", lang).startswith("Wie weet?")


@LANGS
def test_the_staff_only_refusal_says_whom_to_ask(lang: str) -> None:
    said = user_message(NotAuthorized("approve a practice", staff_only=True), lang, "")
    why, _, what = said.partition(". ")
    assert why and ("kenniscentrum" in what if lang == "nl" else "Ask the knowledge centre" in what)


@LANGS
def test_the_admin_overview_says_themes_are_changed_outside_slack(lang: str) -> None:
    shown = json.dumps([b.to_dict() for b in build_admin_blocks(AdminData(), lang)], ensure_ascii=False)
    assert "`wieweet themes import`" in shown
