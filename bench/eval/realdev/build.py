"""Build the real-text development set (practices.csv, queries.jsonl, experts.csv) from the copies in ``raw/``.

Each ``raw/*.md`` file is one published question-and-answer page, copied byte for byte from a public repository of
the Dutch Ministry of Health, Welfare and Sport (VWS): a header naming the repository, path and commit (and, where
the page pulled its text from an include file, that file and its commit), then the page source itself (front
matter and body). See README.md for the sources and the licence. Run from the repository root::

    python bench/eval/realdev/build.py

The rules (the same as the report set's, see README.md):

* query = the page's question (its ``title``) exactly as published; ``<br />`` read as a space, a trailing footnote
  ``*`` dropped;
* summary = the answer in the source's wording: Liquid tags, HTML comments, images and "Lees ook"/"Zie ook" link
  lists dropped, links and HTML tags reduced to their text, headings and list items kept as plain lines; every
  sentence that quotes a published question (its own or another page's) verbatim is dropped, so no query text
  occurs in any practice; at most 2500 characters, by dropping whole sections from the end;
* title = the answer's first sentence, trimmed to at most 120 characters at a word boundary (``…`` when cut), a
  first sentence under 15 characters joined with the next; duplicates get the page's subject in parentheses
  (and a number, in file order, where they share the subject);
* grades: the page itself 3; a page of the set that the answer body explicitly sends the reader to 2.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw"
ORGANISATION = "Ministerie van Volksgezondheid, Welzijn en Sport"
MAX_SUMMARY = 2500
MAX_TITLE = 120
MIN_FIRST_SENTENCE = 15
SUBJECTS = {  # raw file prefix -> subject (the practice's tag)
    "cc": "CoronaCheck",
    "cca": "CoronaCheck",
    "cm": "CoronaMelder",
    "app": "CoronaMelder-app",
}
SITES = {
    "minvws/nl-covid19-coronacheck-website": "https://coronacheck.nl",
    "minvws/nl-covid19-notification-app-website": "https://coronamelder.nl",
}
# a link target that is neither a page's own file name nor one of its redirects (the site's permalink at the time)
ALIASES = {"3-5-waarom-heb-ik-voor-elke-prik-een-internationale-qr-code": "cc-2-5b"}
EXPERT_HEADER = ["name", "email", "slack_user_id", "organisation", "city", "role", "expertise", "themes"]
PRACTICE_HEADER = ["title", "summary", "city", "organisation", "themes", "tags", "outcome", "lessons"]
PRACTICE_HEADER += ["contact_email", "url", "year"]


@dataclass
class Page:
    key: str  # raw file stem
    subject: str
    question: str
    url: str
    lines: list[tuple[bool, str]]  # (is_heading, text) after cleaning
    links: list[str] = field(default_factory=list)  # FAQ slugs the answer body sends the reader to
    slugs: set[str] = field(default_factory=set)  # the names this page was published under
    summary: str = ""
    title: str = ""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _split_raw(text: str) -> tuple[dict[str, str], str, str]:
    """(header fields, front matter, body) of one raw file."""
    head, rest = text.split("\n---\n", 1)
    header = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    front, body = rest.split("\n---", 1)
    return header, front, body.split("\n", 1)[1] if "\n" in body else ""


def _front(front: str, name: str) -> str:
    m = re.search(rf"^{name}:[ \t]*(.*)$", front, flags=re.MULTILINE)
    return m.group(1).strip() if m else ""


def _question(front: str) -> str:
    title = _front(front, "title")
    if len(title) >= 2 and title[0] == title[-1] and title[0] in "'\"":
        title = title[1:-1]
    title = re.sub(r"<br\s*/?>", " ", title)
    title = re.sub(r"\s+\*$", "", title.strip())
    return re.sub(r"\s+", " ", title).strip()


def _redirects(front: str) -> set[str]:
    return {m.group(1).lower() for m in re.finditer(r"/nl/faq(?:-in-app)?/([^/\s#]+)", front)}


FAQ_LINK = re.compile(r"/(?:nl|\{\{\s*page\.lang\s*\}\})/faq(?:-in-app)?/([^/)\s\"#]+)")
RELATED = re.compile(r"^(lees ook|zie ook)\b", flags=re.IGNORECASE)


def _clean_body(body: str) -> tuple[list[tuple[bool, str]], list[str]]:
    """The answer as (is_heading, text) lines, and the FAQ pages it sends the reader to."""
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    body = re.sub(r"\{%.*?%\}", "", body, flags=re.DOTALL)
    body = re.sub(r"^\[comment\]:.*$", "", body, flags=re.MULTILINE)
    body = re.sub(r"<br\s*/?>|</br>", "\n", body)
    lines: list[tuple[bool, str]] = []
    links: list[str] = []
    related = False
    for raw_line in body.splitlines():
        line = raw_line.strip()
        heading = bool(re.match(r"#{1,6}\s", line))
        text = re.sub(r"^#{1,6}\s*", "", line)
        if heading or re.match(r"^<summary>", text):
            related = bool(RELATED.match(re.sub(r"<[^>]+>", "", text).strip()))
            heading = True
        if related or RELATED.match(text):
            continue
        links += [m.lower() for m in FAQ_LINK.findall(text)]
        text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # markdown links -> their text
        text = re.sub(r"\{\{.*?\}\}", "", text)  # Liquid output: site links and the page title
        text = re.sub(r"<[^>]+>", "", text)  # HTML tags -> their text
        text = re.sub(r"^(?:[-*·]|\d+\.)\s+", "", text.strip())  # list markers
        text = text.replace("**", "").replace("__", "")
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)  # the space left by a dropped Liquid link
        if text and re.search(r"\w", text):
            lines.append((heading, text))
    return lines, links


SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ý“\"'(])")


def _drop_questions(lines: list[tuple[bool, str]], questions: list[str]) -> list[tuple[bool, str]]:
    """Every sentence that quotes a published question verbatim dropped (lines left empty go too)."""
    out: list[tuple[bool, str]] = []
    for heading, text in lines:
        low = text.lower()  # lines are whitespace-collapsed already, so offsets match _norm's
        quoted = [(m.start(), m.start() + len(q)) for q in questions for m in re.finditer(re.escape(q), low)]
        kept, start = [], 0
        for sentence in SENTENCE.split(text):
            begin = text.index(sentence, start)
            end = start = begin + len(sentence)
            if not any(b < end and begin < e for b, e in quoted):  # a question may span two sentences
                kept.append(sentence)
        joined = " ".join(kept).strip()
        if joined and re.search(r"\w", joined):
            out.append((heading, joined))
    return out


def _sections(lines: list[tuple[bool, str]]) -> list[list[str]]:
    sections: list[list[str]] = [[]]
    for heading, text in lines:
        if heading and sections[-1]:
            sections.append([])
        sections[-1].append(text)
    return [s for s in sections if s]


def _summary(lines: list[tuple[bool, str]]) -> str:
    sections = _sections(lines)
    while len(sections) > 1 and len("\n".join(x for s in sections for x in s)) > MAX_SUMMARY:
        sections.pop()
    flat = [x for s in sections for x in s]
    while len(flat) > 1 and len("\n".join(flat)) > MAX_SUMMARY:
        flat.pop()
    return "\n".join(flat)[:MAX_SUMMARY]


def _title(summary: str) -> str:
    sentences = [s for line in summary.splitlines() for s in SENTENCE.split(line) if s.strip()]
    first = sentences[0]
    i = 1
    while len(first) < MIN_FIRST_SENTENCE and i < len(sentences):
        first = f"{first} {sentences[i]}"
        i += 1
    if len(first) <= MAX_TITLE:
        return first
    cut = first[: MAX_TITLE - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–")
    return f"{cut}…"


def _url(header: dict[str, str], key: str) -> str:
    repo, path = header["repo"], header["path"]
    if repo in SITES:
        collection = "faq-in-app" if "/_questions-in-app/" in f"/{path}" else "faq"
        return f"{SITES[repo]}/nl/{collection}/{Path(path).stem}/"
    return f"https://github.com/{repo}/blob/{header['commit']}/{path}"


def load_pages() -> list[Page]:
    pages: list[Page] = []
    for path in sorted(RAW.glob("*.md")):
        header, front, body = _split_raw(path.read_text(encoding="utf-8"))
        if _front(front, "published") == "false":
            continue
        lines, links = _clean_body(body)
        page = Page(
            key=path.stem,
            subject=SUBJECTS[path.stem.split("-", 1)[0]],
            question=_question(front),
            url=_url(header, path.stem),
            lines=lines,
            links=links,
            slugs={Path(header["path"]).stem.lower(), *_redirects(front)},
        )
        pages.append(page)
    for slug, key in ALIASES.items():
        next(p for p in pages if p.key == key).slugs.add(slug)
    return pages


def build(pages: list[Page]) -> list[Page]:
    questions = sorted({_norm(p.question) for p in pages}, key=len, reverse=True)
    for page in pages:
        page.summary = _summary(_drop_questions(page.lines, questions))
    pages = [p for p in pages if len(p.summary) >= 40]  # a page whose answer was only a link carries no text
    for page in pages:
        page.title = _title(page.summary)
    seen: dict[str, int] = {}
    for page in pages:
        seen[page.title] = seen.get(page.title, 0) + 1
    tagged: dict[str, int] = {}
    for page in pages:
        if seen[page.title] > 1:
            page.title = f"{page.title} ({page.subject})"
            tagged[page.title] = tagged.get(page.title, 0) + 1
    count: dict[str, int] = {}
    for page in pages:  # the same subject does not tell them apart: number them in file order
        if tagged.get(page.title, 0) > 1:
            count[page.title] = count.get(page.title, 0) + 1
            page.title = f"{page.title[:-1]}, {count[page.title]})"
    titles = [p.title for p in pages]
    dupes = sorted({t for t in titles if titles.count(t) > 1})
    if dupes:
        sys.exit(f"duplicate titles left: {dupes}")
    return pages


def write(pages: list[Page]) -> None:
    with (HERE / "practices.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(PRACTICE_HEADER)
        for p in pages:
            w.writerow([p.title, p.summary, "", ORGANISATION, "", p.subject, "", "", "", p.url, ""])
    by_slug = {slug: p for p in pages for slug in p.slugs}
    with (HERE / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for i, p in enumerate(pages, start=1):
            grades = {f"{p.title}|": 3}
            for slug in p.links:
                target = by_slug.get(slug)
                if target is not None and target is not p:
                    grades.setdefault(f"{target.title}|", 2)
            row = {"id": f"v{i:03d}", "query": p.question, "kind": "question", "lang": "nl", "experts": {}}
            row |= {"practices": grades, "gap": False}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (HERE / "experts.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([*EXPERT_HEADER, "languages", "bio"])
        w.writerow(
            [
                "Placeholder Realdev",
                "placeholder@realdev.example.org",
                "",
                ORGANISATION,
                "",
                "placeholder",
                "",
                "",
                "nl",
                "A placeholder so the register can be built; never graded.",
            ]
        )


def main() -> None:
    pages = build(load_pages())
    write(pages)
    subjects = {s: sum(p.subject == s for p in pages) for s in dict.fromkeys(p.subject for p in pages)}
    graded2 = sum(1 for p in pages for s in p.links if s not in p.slugs)
    print(f"{len(pages)} pages {subjects}; links to other FAQ pages in answers: {graded2}")


if __name__ == "__main__":
    main()
