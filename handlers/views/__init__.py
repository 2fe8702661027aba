"""Modal submissions, each read once into its typed form (``handlers.forms``) by the listener wrapper.

A form the service refuses (not the user's, decided meanwhile, invalid) stays open with the reason on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from slack_bolt import App

from handlers import digests, forms, ids, needs, practices, profiles, routing
from handlers.listener import Kind, listener
from handlers.services import Services
from handlers.turn import Turn

F = TypeVar("F", bound=forms.Form)


def register(app: App, services: Services) -> None:
    def view(callback_id: str, handler: Callable[[Turn, F], None], form: type[F]) -> None:
        app.view(callback_id)(listener(services, Kind.VIEW, handler, form=form))

    view(ids.VIEW_PROFILE, profiles.handle_profile_submission, forms.ProfileForm)
    view(ids.VIEW_PROFILE_REJECT, profiles.handle_reject_submission, forms.ProfileRejectForm)
    view(ids.VIEW_PRACTICE, practices.handle_practice_submission, forms.PracticeForm)
    view(ids.VIEW_PRACTICE_REJECT, practices.handle_reject_submission, forms.PracticeRejectForm)
    view(ids.VIEW_DIGEST, digests.handle_digest_submission, forms.DigestForm)
    if services.needs is not None:
        view(ids.VIEW_NEEDS_INVITE, needs.handle_invite_submission, forms.NeedsInviteForm)
        view(ids.VIEW_NEEDS_DONE, needs.handle_done_submission, forms.NeedsDoneForm)
    if services.routing is None:
        return
    # recorded in the inbox before the ack (its dedupe claim): nothing on the main database before the ack
    app.view(ids.VIEW_ASK)(listener(services, Kind.VIEW, routing.handle_ask_submission, form=forms.AskForm, inbox=True))
    view(ids.VIEW_ADD_INFO, routing.handle_add_info_submission, forms.AddInfoForm)
    view(ids.VIEW_DECLINE, routing.handle_decline_submission, forms.DeclineForm)
    view(ids.VIEW_ANSWER, routing.handle_answer_submission, forms.AnswerForm)
    view(ids.VIEW_TRIAGE_CLOSE, routing.handle_triage_close_submission, forms.TriageCloseForm)
