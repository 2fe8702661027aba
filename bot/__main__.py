"""``python -m bot`` is the same as the ``wieweet`` command."""

from bot.cli import main

main()
