"""Generated material shared by the matching tests: a random register, the words queries are made of, and random
documents for a bare ``Collection``."""

from __future__ import annotations

import random
from collections.abc import Sequence

from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc

# the words the random queries over ``random_register`` are made of: its words and a few it does not have
QUERY_WORDS = [
    "leegstandsheffing",
    "ontharding",
    "warmtenet",
    "wonen",
    "stad",
    "wijk",
    "beleid",
    "project",
    "zwerfvuil",
    "burgerbegroting",
    "huisvesting",
    "sociaal verhuurkantoor",
    "woonwinkel",
    "Gent",
]


def random_register(seed: int, n: int) -> tuple[list[ExpertDoc], list[PracticeDoc], list[AnswerDoc]]:
    """``n`` experts and practices and ``2n`` answers made of a few common and rare words at random (many equal
    scores: ties everywhere), the same for the same ``seed``."""
    rng = random.Random(seed)
    common = ["wonen", "stad", "beleid", "project", "wijk", "samenwerking"]
    rare = [
        "leegstandsheffing",
        "ontharding",
        "warmtenet",
        "burgerbegroting",
        "huisjesmelkerij",
        "deelfietsen",
        "schuldbemiddeling",
        "inburgering",
        "kernversterking",
        "circulatieplan",
        "zwerfvuil",
        "woonwinkel",
    ]

    def text(k: int) -> str:
        return " ".join(rng.choice(common) if rng.random() < 0.6 else rng.choice(rare) for _ in range(k))

    experts = [
        ExpertDoc(
            id=i,
            email=f"e{i}@x.org",
            name=f"E{i}",
            organisation="Stad Gent",
            city=rng.choice(["Gent", ""]),
            role=text(2),
            expertise=tuple(text(1) for _ in range(3)),
            themes=("wonen",),
            bio=text(12),
        )
        for i in range(1, n + 1)
    ]
    practices = [
        PracticeDoc(id=i, title=text(4), summary=text(20), tags=(text(1),), contact_expert_id=i)
        for i in range(1, n + 1)
    ]
    answers = [
        AnswerDoc(id=i, question=text(6), answer=text(25), expert_id=rng.randint(1, n)) for i in range(1, 2 * n + 1)
    ]
    return experts, practices, answers


def field_doc(rng: random.Random, words: Sequence[str]) -> list[tuple[dict[str, float], int]]:
    """A random document of a two-field ``Collection`` (title, text): each field's term frequencies and length."""
    title = dict.fromkeys(rng.sample(words, 2), 1.0)
    text = {w: float(rng.randint(1, 3)) for w in rng.sample(words, 3)}
    return [(title, len(title)), (text, int(sum(text.values())))]
