"""Typo repair measured two ways: genuine typos of register words, and every repair made on the development sets.

Usage::

    python bench/typo_repair.py --generated                  # keyboard slips (the default), seed 13
    python bench/typo_repair.py --generated --uniform        # any letter as likely
    python bench/typo_repair.py --generated --seed 7 --words 200 --edits 10
    python bench/typo_repair.py --generated --register bench/eval/dev4   # one register instead of the four
    python bench/typo_repair.py --listing                    # the repairs on the development query sets

``--generated``: for each register (by default the demo register and dev4–dev7's), up to ``--words`` (600)
of its words of 5–12 letters, drawn at random — words of people's names (experts, practice contacts, answerers) and
generic words left out — each get ``--edits`` (20) random single edits: a letter inserted, deleted or replaced, or two
neighbours swapped. An edit shorter than 5 letters or one the register knows (a register word, a glossary word, a
word the index holds the stem or every compound part of) is no typo and is skipped. Each typo is analysed as a
question of its own and counted as repaired back (onto the word, or another form of it: the same stem), repaired
into another word, or left as typed; the table gives the rates by the word's length (9+ together) and over all.
With ``--keyboard`` an inserted or replacing letter is one next to the original on a QWERTY or AZERTY keyboard (an
inserted one may also double it); with ``--uniform`` any letter is as likely (mostly a far key). One random
generator (``--seed``) serves all registers in turn, so the counts are the same on every run of the same code.

``--listing``: every repair the parser makes on the development query sets (dev, dev3–dev7, real dev:
``eval_matching.load_sets(..., only_dev=True)``, which never reads the held-out, blind or real-text sets), one line
each: set, query id, kind, "typo → repair", typo or cognate, and the query.

Lexical analysis only (no meaning signal). The generator reaches a few private members of the matcher (its surface
vocabulary, stemmer, generic-word and known-word tests) that the product has no public use for; see ``_Probe``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import DEMO, Register, load_register_db
from eval_matching import BLIND_DIR, OWN_REGISTER_SETS, REALTEXT_DIR, load_sets, wieweet_matcher

from bot.errors import QueryError
from bot.matching import Matcher
from bot.matching.analysis import fold
from bot.matching.keyboard import keys_next_to

LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LEN, MAX_LEN = 5, 12  # the words edited; and no typo shorter than MIN_LEN (the matcher repairs none)
LONG = 9  # lengths from here on share a row
OPS = "idst"  # insertion, deletion, substitution, transposition
_WORD = re.compile(r"[a-z]+")


NEIGHBOURS = keys_next_to()  # the product's keyboard map (its slip rule adds sound-alike letters)


def edit(word: str, rnd: random.Random, *, keyboard: bool) -> str:
    """One random single edit of ``word`` (2+ letters): an insertion before a random position, a deletion, a
    substitution or a transposition of two neighbouring letters. With ``keyboard`` an inserted letter is the one at
    that position or a key next to it, a replacing letter a key next to the one replaced; otherwise any letter."""
    i = rnd.randrange(len(word))
    op = rnd.choice(OPS)
    c = word[i]
    if op == "i":
        new = rnd.choice(sorted(NEIGHBOURS[c] | {c})) if keyboard and c in NEIGHBOURS else rnd.choice(LETTERS)
        return word[:i] + new + word[i:]
    if op == "d":
        return word[:i] + word[i + 1 :]
    if op == "s":
        new = rnd.choice(sorted(NEIGHBOURS[c])) if keyboard and c in NEIGHBOURS else rnd.choice(LETTERS)
        return word[:i] + new + word[i + 1 :]
    if i == len(word) - 1:
        i -= 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


class _Probe:
    """What the generator asks the matcher beyond its public API. The product needs none of it (the parser calls
    these internally), so the bench reads the private members rather than widen ``Matcher`` for a measurement."""

    def __init__(self, m: Matcher) -> None:
        self.m = m

    def vocabulary(self) -> list[str]:
        """Folded surface words of the register's documents (what a typo may be repaired onto)."""
        return sorted(self.m._surface_df)

    def stem(self, word: str) -> str:
        return self.m._stem(word)

    def generic(self, word: str) -> bool:
        return self.m._generic(self.m._stem(word))

    def known(self, word: str) -> bool:
        """A word the parser takes as it is (never repairs): so an edit that lands on one is no typo."""
        return self.m._known(word)


def name_words(reg: Register) -> set[str]:
    """Folded words of people's names and mailboxes: experts' names and e-mail local parts, practice contacts' and
    answerers' local parts."""
    texts = [e.name + " " + e.email.split("@")[0] for e in reg.experts]
    texts += [p.contact_email.split("@")[0] for p in reg.practices]
    texts += [a.answered_by.split("@")[0] for a in reg.answers]
    return {w for t in texts for w in _WORD.findall(fold(t))}


@dataclass
class Tally:
    """Typos by length row: total, repaired back, repaired into another word, left as typed."""

    typos: Counter[int] = field(default_factory=Counter)
    back: Counter[int] = field(default_factory=Counter)
    other: Counter[int] = field(default_factory=Counter)
    left: Counter[int] = field(default_factory=Counter)

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        """(label, typos, back, other, left) per length, then 5–6 letters together, then all."""

        def row(label: str, keys: Iterable[int]) -> tuple[str, int, int, int, int]:
            ks = list(keys)
            typos, back, other, left = (sum(c[k] for k in ks) for c in (self.typos, self.back, self.other, self.left))
            return label, typos, back, other, left

        lengths = sorted(self.typos)
        out = [row(f"{n}{'+' if n == LONG else ''}", [n]) for n in lengths]
        out.append(row(f"{MIN_LEN}–{MIN_LEN + 1}", [n for n in lengths if n <= MIN_LEN + 1]))
        out.append(row("all", lengths))
        return out


def generated(registers: Sequence[Register], *, keyboard: bool, seed: int, words: int, edits: int) -> Tally:
    rnd = random.Random(seed)
    tally = Tally()
    for reg in registers:
        m = wieweet_matcher(reg, semantic=False)
        probe = _Probe(m)
        names = name_words(reg)
        vocab = [
            w
            for w in probe.vocabulary()
            if w.isalpha() and MIN_LEN <= len(w) <= MAX_LEN and not probe.generic(w) and w not in names
        ]
        rnd.shuffle(vocab)
        for w in vocab[:words]:
            stem = probe.stem(w)
            row = min(len(w), LONG)
            for _ in range(edits):
                typo = edit(w, rnd, keyboard=keyboard)
                if len(typo) < MIN_LEN or probe.known(typo):
                    continue
                tally.typos[row] += 1
                try:
                    repair = dict(m.analyse(typo).repairs).get(typo)
                except QueryError:  # nothing left to search for: left as typed
                    repair = None
                if repair is None:
                    tally.left[row] += 1
                elif repair == w or probe.stem(repair) == stem:
                    tally.back[row] += 1
                else:
                    tally.other[row] += 1
    return tally


def print_tally(tally: Tally) -> None:
    print(f"{'letters':<8} {'typos':>6} {'back':>7} {'other':>7} {'left':>7}")
    for label, typos, back, other, left in tally.rows():
        if typos:
            print(f"{label:<8} {typos:>6} {back / typos:>7.1%} {other / typos:>7.1%} {left / typos:>7.1%}")


def listing() -> None:
    """The development sets' repairs (held-out, blind and real-text sets are never read: ``only_dev``)."""
    for s in load_sets(BLIND_DIR, REALTEXT_DIR, only_dev=True):
        m = wieweet_matcher(s.register, semantic=False)
        for q in s.queries:
            try:
                pq = m.analyse(q.query)
            except QueryError:
                continue
            for typo, repair in pq.repairs:
                kind = "cognate" if typo in pq.cognates else "typo"
                print(f"{s.name}\t{q.id}\t{q.kind}\t{typo} → {repair}\t{kind}\t{q.query}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--generated", action="store_true", help="random single edits of register words")
    mode.add_argument("--listing", action="store_true", help="every repair on the development query sets")
    letters = ap.add_mutually_exclusive_group()
    letters.add_argument(
        "--keyboard", dest="keyboard", action="store_true", default=True, help="neighbouring keys (default)"
    )
    letters.add_argument("--uniform", dest="keyboard", action="store_false", help="any letter as likely")
    ap.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    ap.add_argument("--words", type=int, default=600, help="words edited per register (default 600)")
    ap.add_argument("--edits", type=int, default=20, help="edits per word (default 20)")
    ap.add_argument(
        "--register",
        type=Path,
        action="append",
        help="a register directory (experts.csv, practices.csv, answers.csv); repeatable; "
        "default: the demo register, dev4–dev7",
    )
    args = ap.parse_args(argv)
    if args.listing:
        listing()
        return
    dirs = args.register or [DEMO, *(d for _n, d in OWN_REGISTER_SETS)]
    registers = [load_register_db(d) for d in dirs]
    tally = generated(registers, keyboard=args.keyboard, seed=args.seed, words=args.words, edits=args.edits)
    print(
        f"{'keyboard' if args.keyboard else 'uniform'} edits, seed {args.seed}, up to {args.words} words × "
        f"{args.edits} edits of {len(registers)} register(s)"
    )
    print_tally(tally)


if __name__ == "__main__":
    main()
