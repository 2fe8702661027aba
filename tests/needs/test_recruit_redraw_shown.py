"""The redraw of a sent recruiting DM (an erasure took its label: an outbox row ``expertise_redraw:<id>`` that
updates the DM in Slack) is shown as what it is — a redraw of that DM, not a second request — in the person's data
export and in ``wieweet queued list``."""

from __future__ import annotations

from bot.actors import Actor
from bot.privacy import export_personal_data
from storage.models import OutboxKind, OutboxMessage
from tests.cli import wieweet_in
from tests.needs.conftest import NOW, Network
from tests.needs.test_recruit_label_gone import _asked, _erased


def _redrawn(network: Network) -> tuple[int, int]:
    """The recruiting DM sent to Els Jacobs and the row that draws it again after an erasure took its label."""
    topic_id, _, _ = _asked(network)
    with network.database.session() as session:
        _erased(session, topic_id)
    with network.database.session() as session:
        sent, redraw = (
            session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).order_by(OutboxMessage.id)
        )
        assert redraw.dedupe_key == f"expertise_redraw:{sent.id}" and redraw.sent_at is None
        return sent.id, redraw.id


def test_the_export_shows_a_redraw_as_a_redraw_of_the_dm_sent(network: Network) -> None:
    sent, redraw = _redrawn(network)
    with network.database.session() as session:
        data = export_personal_data(session=session, actor=Actor.cli("test"), slack_user_id="UAALST", now=NOW)
    rows = {m["id"]: m for m in data["messages_to_you"]}
    assert set(rows) == {sent, redraw}
    assert rows[sent]["kind"] == "expertise_request" and "redraws_message" not in rows[sent]
    assert rows[redraw]["kind"] == "expertise_redraw" and rows[redraw]["redraws_message"] == sent
    assert [m["kind"] for m in data["messages_to_you"]].count("expertise_request") == 1


def test_the_queued_list_shows_a_redraw_as_a_redraw_of_the_dm_sent(network: Network) -> None:
    sent, redraw = _redrawn(network)
    done = wieweet_in(network.database, "en", "queued", "list", "--now", NOW.isoformat())
    assert done.exit_code == 0, done.output
    messages = done.output.split("messages (", 1)[1].split("timers (", 1)[0]  # a timer may have the same id
    [line] = [line for line in messages.splitlines() if line.split()[:1] == [str(redraw)]]
    assert f"expertise_redraw:{sent}" in line and "expertise_request" not in line
