"""``bench/typo_repair.py``, the script behind the README's typo-repair figures: its edit generator makes exactly
one insertion, deletion, substitution or transposition per typo (keyboard edits with neighbouring keys only),
``--generated`` runs on a tiny register and prints its table, and ``--listing`` reads the development sets only."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("parkeerbeleid", "leefloon", "afval", "klimaatplan", "wijkwerking", "zwemvijver", "quota", "mobiliteit")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = list(sys.path)
    try:
        return load_script(ROOT / "bench" / "typo_repair.py", "typo_repair_for_test")
    finally:  # the script puts bench/ first on the path, where a script named like a package would shadow it
        sys.path[:] = path


def explanations(word: str, typo: str) -> set[tuple[str, int, str]]:
    """Every (operation, position, letter) that turns ``word`` into ``typo`` in one edit; the letter is the
    inserted or replacing one ("" for a deletion or transposition)."""
    out: set[tuple[str, int, str]] = set()
    for i in range(len(word) + 1):
        for c in "abcdefghijklmnopqrstuvwxyz":
            if word[:i] + c + word[i:] == typo:
                out.add(("insert", i, c))
    for i in range(len(word)):
        if word[:i] + word[i + 1 :] == typo:
            out.add(("delete", i, ""))
        for c in "abcdefghijklmnopqrstuvwxyz":
            if c != word[i] and word[:i] + c + word[i + 1 :] == typo:
                out.add(("substitute", i, c))
    for i in range(len(word) - 1):
        if word[i] != word[i + 1] and word[:i] + word[i + 1] + word[i] + word[i + 2 :] == typo:
            out.add(("transpose", i, ""))
    return out


def test_neighbouring_keys_on_qwerty_or_azerty(bench: ModuleType) -> None:
    near = bench.NEIGHBOURS
    assert near["g"] == set("rtyfhvbn")  # QWERTY and AZERTY agree here (rows taken as straight, not staggered)
    assert "q" in near["s"]  # AZERTY: q sits left of s
    assert "a" in near["z"]  # ... and z right under a
    assert "n" not in near["d"]  # "padel" is no slip of "panel"
    assert all(c not in near[c] for c in near)


@pytest.mark.parametrize("keyboard", [True, False])
def test_each_edit_is_one_insertion_deletion_substitution_or_transposition(bench: ModuleType, keyboard: bool) -> None:
    rnd = random.Random(5)
    ops: set[str] = set()
    for word in WORDS:
        for _ in range(200):
            typo = bench.edit(word, rnd, keyboard=keyboard)
            found = explanations(word, typo) if typo != word else set()
            # a swap of two equal letters leaves the word as it was: the generator may do that, the matcher skips it
            assert found or typo == word, (word, typo)
            ops |= {op for op, _i, _c in found}
    assert ops == {"insert", "delete", "substitute", "transpose"}


def test_keyboard_edits_use_neighbouring_keys_and_uniform_ones_do_not(bench: ModuleType) -> None:
    near = bench.NEIGHBOURS

    def slip(word: str, explanation: tuple[str, int, str]) -> bool:
        op, i, c = explanation
        if op == "insert":  # next to the letter it is typed before, or that letter doubled
            return i < len(word) and (c == word[i] or c in near[word[i]])
        if op == "substitute":
            return c in near[word[i]]
        return True

    rnd = random.Random(11)
    far = 0
    for word in WORDS:
        for _ in range(200):
            typo = bench.edit(word, rnd, keyboard=True)
            assert typo == word or any(slip(word, e) for e in explanations(word, typo)), (word, typo)
            uniform = bench.edit(word, rnd, keyboard=False)
            far += uniform != word and not any(slip(word, e) for e in explanations(word, uniform))
    assert far > 100  # a random letter is mostly a far key: the check above has teeth


EXPERTS = """name,email,slack_user_id,organisation,city,role,expertise,themes,languages,bio
Koen Verhaegen,koen.verhaegen@aalst.be,U9T0001,Stad Aalst,Aalst,mobiliteitsambtenaar,parkeerbeleid;bewonersparkeren;\
blauwe zone,publieke-ruimte,nl,Koen schreef het parkeerplan en volgt de bezetting van de randparkings op.
Naima Jacobs,naima.jacobs@gent.be,U9T0002,Stad Gent,Gent,maatschappelijk werker,leefloon;budgetbeheer;\
schuldbemiddeling,sociaal,nl,Naima begeleidt jongeren met een leefloon bij hun budgetbeheer.
"""


def test_generated_on_a_tiny_register(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "experts.csv").write_text(EXPERTS, encoding="utf-8")
    register = bench.load_register_db(tmp_path)
    assert len(register.experts) == 2
    assert {"koen", "verhaegen", "naima", "jacobs"} <= bench.name_words(register)  # never edited

    tally = bench.generated([register], keyboard=True, seed=3, words=8, edits=6)
    assert tally == bench.generated([register], keyboard=True, seed=3, words=8, edits=6)  # seeded: reproducible
    rows = {label: counts for label, *counts in tally.rows()}
    total, back, other, left = rows["all"]
    assert 0 < total <= 8 * 6
    assert back + other + left == total
    assert back > total / 2  # a typo of a long word of a two-expert register is mostly repaired back
    assert sum(rows[label][0] for label in rows if label not in {"all", "5–6"}) == total

    bench.main(["--generated", "--register", str(tmp_path), "--words", "8", "--edits", "6", "--seed", "3"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "keyboard edits, seed 3, up to 8 words × 6 edits of 1 register(s)"
    assert out[1].split() == ["letters", "typos", "back", "other", "left"]
    assert out[-1].split() == ["all", str(total), f"{back / total:.1%}", f"{other / total:.1%}", f"{left / total:.1%}"]


def test_listing_reads_the_development_sets_only(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_load_sets(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(kwargs)
        return []

    monkeypatch.setattr(bench, "load_sets", fake_load_sets)
    bench.main(["--listing"])
    assert calls == [{"only_dev": True}]
