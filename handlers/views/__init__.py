"""Modal submissions, each read once into its typed form (``handlers.forms``) by the listener wrapper.

Every submission is acked within Slack's 3 s whatever the database does: what needs no database (required fields,
lengths, formats, the typed form) is checked first and refused on the form, which stays open; then the submission
is recorded in the inbox (nothing else is touched) and the modal closes. The inbox worker runs the handler from the
record afterwards, once; what only the database can refuse (not theirs, decided meanwhile, gone) reaches the user
as a direct message quoting what they typed (``handlers.listener``, "Modal submissions").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from slack_bolt import App

from handlers import digests, expert_requests, forms, ids, needs, needs_invite, practices, profiles, routing
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.services import Services
from handlers.turn import Turn

F = TypeVar("F", bound=forms.Form)


def register(app: App, services: Services) -> None:
    def view(
        callback_id: str,
        handler: Callable[[Turn, F], None],
        form: type[F],
        check: Callable[[F, forms.Draft], Mapping[str, str]] | None = None,
    ) -> None:
        app.view(callback_id)(
            listener(services, Kind.VIEW, handler, form=form, deferred=True, check=check, callback_id=callback_id)
        )

    view(ids.VIEW_PROFILE, profiles.handle_profile_submission, forms.ProfileForm, profiles.check_profile_form)
    view(
        ids.VIEW_PROFILE_REJECT, profiles.handle_reject_submission, forms.ProfileRejectForm, profiles.check_reject_form
    )
    view(ids.VIEW_PRACTICE, practices.handle_practice_submission, forms.PracticeForm, practices.check_practice_form)
    view(
        ids.VIEW_PRACTICE_REJECT,
        practices.handle_reject_submission,
        forms.PracticeRejectForm,
        practices.check_reject_form,
    )
    view(ids.VIEW_DIGEST, digests.handle_digest_submission, forms.DigestForm, digests.check_digest_form)
    if services.needs is not None:
        # the people are invited by the inbox worker from the modal's own record (``needs_invite``)
        invite = needs_invite.handle_invite_submission
        app.view(ids.VIEW_NEEDS_INVITE)(listener(services, Kind.VIEW, invite, form=forms.NeedsInviteForm, inbox=True))
        view(ids.VIEW_NEEDS_DONE, needs.handle_done_submission, forms.NeedsDoneForm, needs.check_done_form)
    if services.routing is None:
        return
    # the question is made by the inbox worker from its own record (``routing.ask_question``)
    app.view(ids.VIEW_ASK)(listener(services, Kind.VIEW, routing.handle_ask_submission, form=forms.AskForm, inbox=True))
    view(ids.VIEW_ADD_INFO, routing.handle_add_info_submission, forms.AddInfoForm, routing.check_add_info_form)
    view(ids.VIEW_DECLINE, expert_requests.handle_decline_submission, forms.DeclineForm)
    view(ids.VIEW_ANSWER, expert_requests.handle_answer_submission, forms.AnswerForm, routing.check_answer_form)
    view(ids.VIEW_TRIAGE_CLOSE, routing.handle_triage_close_submission, forms.TriageCloseForm)
