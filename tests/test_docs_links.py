"""Every relative link in the project's documents resolves: the file exists, and an anchor names a heading of it.

The documents are README.md, SECURITY.md and docs/*.md (the measurement history the README links to). Anchors
follow GitHub's rule: the heading in lower case, punctuation dropped, spaces as hyphens, a repeated heading
suffixed -1, -2, ... External links (http, https, mailto) are not checked.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading anchors on its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: Counter[str] = Counter()
    found = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(path: Path) -> list[str]:
    return [
        target
        for line in prose_lines(path.read_text(encoding="utf-8"))
        for target in LINK.findall(CODE_SPAN.sub("", line))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)
    ]


def test_the_slug_rule() -> None:
    assert slug("How matching works, and how well") == "how-matching-works-and-how-well"
    assert slug("Durability: nothing lost, always on time") == "durability-nothing-lost-always-on-time"
    assert slug('Round 13: a learned "same need" similarity') == "round-13-a-learned-same-need-similarity"
    assert slug("Speed, round 5: incremental runs") == "speed-round-5-incremental-runs"


def test_the_documents_link_somewhere() -> None:
    readme = links(ROOT / "README.md")
    assert {"docs/matching-evaluation.md", "docs/speed.md", "docs/needs-evaluation.md"} <= {
        target.split("#")[0] for target in readme
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(document: Path) -> None:
    checked = set(DOCUMENTS)
    broken = []
    for target in links(document):
        file_part, _, anchor = target.partition("#")
        path = (document.parent / file_part).resolve() if file_part else document
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path in checked and anchor not in anchors(path):
            broken.append(f"{target}: no such heading")
        elif anchor and path not in checked:
            broken.append(f"{target}: an anchor into a document this test does not read")
    assert not broken, f"{document.relative_to(ROOT)}: {broken}"
