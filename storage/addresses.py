"""What an e-mail address is, for finding one in stored text and for redacting one (the erasure, a reapply)."""

from __future__ import annotations

import re
from collections.abc import Sequence

# One rule for what an e-mail address is, for finding one (``privacy_repo.list_identities_stored``) and for
# redacting one (``address_pattern``): a whole run of address characters, so ``jan.anna@gent.be`` does not hold
# ``anna@gent.be``.
# Quotes, dots and dashes before it belong to the text around it (``'a@b.be'``, ``..a@b.be``, ``contact:-a@b.be``),
# and so does a sentence's last dot (``a@b.be.``).
_ADDRESS_CHARS = r"\w.%+'-"
_BEFORE_ADDRESS = rf"(?<![{_ADDRESS_CHARS}])(?P<lead>['.-]*)"
_AFTER_ADDRESS = r"(?![\w-]|\.[\w-])"
ADDRESS = re.compile(rf"{_BEFORE_ADDRESS}([{_ADDRESS_CHARS}]+@[\w-]+(?:\.[\w-]+)+){_AFTER_ADDRESS}")


def address_pattern(addresses: Sequence[str]) -> str:
    """A regular expression for any of ``addresses`` where it stands as a whole address (the rule above); what stands
    before it and is kept is in the group ``lead``."""
    alternatives = "|".join(re.escape(a) for a in sorted(addresses, key=len, reverse=True))
    return rf"{_BEFORE_ADDRESS}(?:{alternatives}){_AFTER_ADDRESS}"
