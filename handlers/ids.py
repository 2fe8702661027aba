"""Every callback, block and action id, shared by the Block Kit builders and the listeners."""

from __future__ import annotations

from typing import Final

COMMAND: Final = "/wieweet"

# shortcuts (callback ids, also in manifest.yml)
SHORTCUT_WHO_KNOWS: Final = "wieweet_who_knows"

# actions on a "who knows" answer
ACTION_SHARE: Final = "answer_share"
ACTION_MORE: Final = "answer_more"
ACTION_FEEDBACK_UP: Final = "answer_feedback_up"
ACTION_FEEDBACK_DOWN: Final = "answer_feedback_down"
ACTION_OPEN_PRACTICE: Final = "answer_open_practice"  # link buttons still send an action; acked and ignored

BLOCK_ANSWER_ACTIONS: Final = "answer_actions"
BLOCK_FEEDBACK: Final = "answer_feedback"
