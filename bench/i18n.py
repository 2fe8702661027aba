"""Cost of the gettext catalogue and of Babel formatting, against the hand-made code they replaced.

Run: ``python bench/i18n.py``. Prints one table: microseconds per call (best of 5 runs), the baseline measured in
the same run (a dict-of-dicts look-up plus ``str.format``, hand-made month tables and joins), and the ratio; then the
one-off cost of reading both catalogues. The hot paths call ``t`` a few dozen times per Slack message and the
formatters a few times per digest, so what matters is that ``t`` stays within a small factor of the dict look-up.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import timeit
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import i18n

OLD_CATALOG = {"routing.asked_by": {"nl": "Gesteld door {name}", "en": "Asked by {name}"}}
OLD_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
OLD_MONTHS = {"nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")}


def old_t(key: str, lang: str, **values: object) -> str:
    entry = OLD_CATALOG[key]
    text = entry.get(lang) or entry["nl"]
    return text.format(**values) if values else text


def old_date(day: date, lang: str) -> str:
    return f"{day.day} {OLD_MONTHS[lang][day.month - 1]} {day.year}"


def old_list(parts: list[str], lang: str) -> str:
    return ", ".join(parts[:-1]) + " en " + parts[-1]


def old_duration(seconds: float, lang: str) -> str:
    hours = round(seconds / 3600)
    days, rest = divmod(hours, 24)
    return f"{days} d {rest} u" if rest else f"{days} d" if days else f"{max(1, math.ceil(seconds / 60))} min"


def per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    started = time.perf_counter()
    messages = i18n.Messages()
    load_ms = (time.perf_counter() - started) * 1000
    i18n.messages()  # warm the package's own instance and the locale cache
    i18n.locale("nl")
    day, items, h26 = date(2026, 11, 16), ["A", "B", "C"], 26 * 3600.0
    rows = [
        (
            "t(key, lang, name=...)",
            lambda: i18n.t("routing.asked_by", "nl", name="An"),
            lambda: old_t("routing.asked_by", "nl", name="An"),
            100_000,
        ),
        (
            "tn(key, plural, n, lang)",
            lambda: i18n.tn("digest.colleagues", "digest.colleagues_plural", 3, "nl", count=3),
            lambda: old_t("routing.asked_by", "nl", name="3"),
            100_000,
        ),
        ("format_date(year=True)", lambda: i18n.format_date(day, "nl", year=True), lambda: old_date(day, "nl"), 10_000),
        ("format_list(3 items)", lambda: i18n.format_list(items, "nl"), lambda: old_list(items, "nl"), 10_000),
        ("format_duration(26 h)", lambda: i18n.format_duration(h26, "nl"), lambda: old_duration(h26, "nl"), 10_000),
        ("weekday_name", lambda: i18n.weekday_name(4, "nl"), lambda: OLD_DAYS[4], 100_000),
    ]
    print(f"{'operation':<28} {'now µs':>9} {'baseline µs':>12} {'ratio':>7}")
    for name, now, baseline, number in rows:
        a, b = per_call_us(now, number), per_call_us(baseline, number)
        print(f"{name:<28} {a:>9.2f} {b:>12.2f} {a / b:>6.1f}×")
    print(f"\nreading both catalogues ({len(messages.languages)} languages, once per process): {load_ms:.0f} ms")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()  # no options: --help says what it does
    main()
