"""Action ids of the digest messages (the Slack layer registers listeners for them)."""

from __future__ import annotations

from typing import Final

# "Ik kan helpen" on an open question in a digest; the button's value is the question id (decimal string).
ACTION_CAN_HELP: Final = "digest_can_help"
