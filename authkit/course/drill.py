"""``make drill``: the course's interview questions in the terminal, scheduled in Leitner boxes; an Anki export."""

from __future__ import annotations

import collections
import csv
import difflib
import hashlib
import html
import itertools
import json
import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from authkit.course.state import read_json, state_dir, write_json

DRILL_FILE = "drill.json"
#: Box n comes back every 2 ** (n - 1) sessions: box 1 every session, box 5 every 16th.
BOXES = 5
SECTION = "## Interview questions"
_DETAILS = re.compile(r"<details>\s*<summary>(?P<summary>.*?)</summary>(?P<answer>.*?)</details>", re.S)
_NUMBERED = re.compile(r"(?P<number>Q\d+)\.\s*(?P<question>.*)", re.S)
_CODE = re.compile(r"<code>(.*?)</code>", re.S)


@dataclass(frozen=True)
class Card:
    """One interview question and its model answer, as the notebook gives them."""

    notebook: str  # the notebook's file stem, e.g. "03_bearer_tokens_over_http"
    number: str  # "Q2"
    question: str
    answer: str  # Markdown

    @property
    def id(self) -> str:
        """Stable while the question's wording stays: its notebook number and a digest of the question."""
        return f"{self.notebook[:2]}-{hashlib.sha256(self.question.encode()).hexdigest()[:12]}"

    @property
    def tag(self) -> str:
        """The notebook as one Anki tag (no spaces; ``::`` nests it under ``authkit``)."""
        return f"authkit::{self.notebook}"


def markdown_cells(path: Path) -> Iterator[str]:
    """The text of a notebook's Markdown cells, read as plain JSON (reading prose needs no schema check)."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            yield cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def interview_section(markdown: Iterable[str]) -> str:
    """The Markdown from the ``## Interview questions`` heading to the next heading of level 1 or 2."""
    lines: list[str] = []
    inside = False
    for source in markdown:
        for line in source.splitlines():
            if line.strip() == SECTION:
                inside = True
            elif inside and re.match(r"#{1,2} ", line):
                return "\n".join(lines)
            elif inside:
                lines.append(line)
    return "\n".join(lines)


def cards_of(path: Path) -> list[Card]:
    """The interview questions of one notebook, in order."""
    cards = []
    for match in _DETAILS.finditer(interview_section(markdown_cells(path))):
        summary = html.unescape(_CODE.sub(r"`\1`", " ".join(match["summary"].split())))  # back to Markdown
        numbered = _NUMBERED.fullmatch(summary)
        number, question = (numbered["number"], numbered["question"]) if numbered else (f"Q{len(cards) + 1}", summary)
        cards.append(Card(path.stem, number, question, textwrap.dedent(match["answer"]).strip()))
    return cards


def interview_cards(paths: Iterable[Path]) -> list[Card]:
    """Every interview question of the course, in syllabus order."""
    return [card for path in paths for card in cards_of(path)]


# --- duplicates -----------------------------------------------------------------------------------

#: Words too common to tell two questions apart.
_STOP = frozenset("a an and are as at be but by can do does for from how if in into is it its not of on one or "
                  "s so than that the then this to was what when where which who why with you your".split())
#: Two cards whose question and answer share this much rare vocabulary (TF-IDF cosine) ask the same thing.
DUPLICATE_COSINE = 0.38
#: Two questions this alike letter for letter (difflib ratio of the normalised text) are the same question.
DUPLICATE_RATIO = 0.85


def _words(text: str) -> list[str]:
    """Lower-case content words, a plural's final s dropped (tokens, token)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOP]


def near_duplicates(cards: list[Card]) -> list[tuple[float, Card, Card]]:
    """Pairs of cards that ask the same question, most alike first: by TF-IDF cosine of question (counted
    twice) and answer, or by difflib ratio of the questions alone."""
    documents = [_words(f"{card.question} {card.question} {card.answer}") for card in cards]
    frequency = collections.Counter(word for words in documents for word in set(words))
    vectors = []
    for words in documents:
        weights = {w: (1 + math.log(n)) * math.log(len(cards) / frequency[w]) for w, n in collections.Counter(words).items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        vectors.append({w: v / norm for w, v in weights.items()})
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(cards), 2):
        cosine = sum(v * vectors[j].get(w, 0.0) for w, v in vectors[i].items())
        ratio = difflib.SequenceMatcher(None, " ".join(_words(a.question)), " ".join(_words(b.question))).ratio()
        if cosine >= DUPLICATE_COSINE or ratio >= DUPLICATE_RATIO:
            pairs.append((max(cosine, ratio), a, b))
    return sorted(pairs, key=lambda pair: -pair[0])


# --- Anki -----------------------------------------------------------------------------------------


def _html(markdown: str) -> str:
    """One line of HTML for an Anki field (Anki's importer reads one record per line)."""
    from nbconvert.filters import markdown2html_mistune

    return " ".join(markdown2html_mistune(markdown).split())


def export_anki(cards: Iterable[Card], path: Path) -> int:
    """Write a deck Anki imports as plain text: front, back, one tag per notebook, a stable GUID; return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cards = list(cards)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("#separator:tab\n#html:true\n#notetype:Basic\n#deck:authkit course interview\n")
        out.write("#columns:Front\tBack\tTags\tGUID\n#tags column:3\n#guid column:4\n")
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        for card in cards:
            writer.writerow([_html(card.question), _html(card.answer), card.tag, f"authkit-{card.id}"])
    return len(cards)


# --- Leitner boxes --------------------------------------------------------------------------------


class Boxes:
    """Which box each card is in and the session it is next due, kept in the workspace."""

    def __init__(self, path: Path) -> None:
        self.path = path
        state = read_json(path)
        self.session: int = int(state.get("session", 0))
        self.cards: dict[str, dict[str, int]] = state.get("cards", {})

    @classmethod
    def of(cls, workspace: Path) -> Boxes:
        """The boxes stored in ``workspace``."""
        return cls(state_dir(workspace) / DRILL_FILE)

    def box(self, card: Card) -> int:
        """1 for a new card."""
        return self.cards.get(card.id, {}).get("box", 1)

    def due(self, card: Card) -> int:
        """The session from which ``card`` is asked again (0: never asked)."""
        return self.cards.get(card.id, {}).get("due", 0)

    def start_session(self, cards: list[Card]) -> None:
        """Open the next session; if nothing would be due in it, skip ahead to the first session that has cards."""
        self.session += 1
        if cards:
            self.session = max(self.session, min(self.due(card) for card in cards))

    def seen(self, card: Card) -> bool:
        """True once ``card`` has been graded."""
        return card.id in self.cards

    def due_now(self, cards: list[Card]) -> list[Card]:
        """The cards due this session: cards already graded before new ones (a missed card, in box 1, comes back
        first), then lower boxes first, then the most overdue, then syllabus order."""
        order = {card.id: n for n, card in enumerate(cards)}
        due = [card for card in cards if self.due(card) <= self.session]
        return sorted(due, key=lambda card: (not self.seen(card), self.box(card), self.due(card), order[card.id]))

    def grade(self, card: Card, knew: bool) -> int:
        """Move ``card``: up one box if the learner knew it, back to box 1 if not; return its new box."""
        box = min(self.box(card) + 1, BOXES) if knew else 1
        self.cards[card.id] = {"box": box, "due": self.session + 2 ** (box - 1)}
        return box

    def counts(self, cards: list[Card]) -> list[int]:
        """How many of ``cards`` sit in each box, 1 to BOXES."""
        return [sum(self.box(card) == n for card in cards) for n in range(1, BOXES + 1)]

    def save(self) -> None:
        write_json(self.path, {"session": self.session, "cards": self.cards})


# --- the drill ------------------------------------------------------------------------------------


def _ask(prompt: str, stdin: TextIO, stdout: TextIO) -> str | None:
    """One line of input after ``prompt``; None at the end of input."""
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        stdout.write("\n")
        return None
    return line.strip().lower()


def _grade(stdin: TextIO, stdout: TextIO) -> str | None:
    """``"y"``, ``"n"`` or ``"q"`` from the learner; None at the end of input."""
    while True:
        answer = _ask("Did you know it? [y]es / [n]o / [q]uit: ", stdin, stdout)
        if answer is None or answer[:1] in ("y", "n", "q"):
            return None if answer is None else answer[:1]
        stdout.write("Please type y, n or q.\n")


def drill(cards: list[Card], boxes: Boxes, *, count: int | None, stdin: TextIO, stdout: TextIO) -> tuple[int, int]:
    """Ask the due cards (at most ``count``); Enter reveals the answer, the learner grades it; return (known, missed)."""
    boxes.start_session(cards)
    queue = boxes.due_now(cards)[:count]
    stdout.write(f"Session {boxes.session}: {len(queue)} question{'s' if len(queue) != 1 else ''} due "
                 f"(of {len(cards)}). Answer in your head or aloud, then press Enter.\n")
    known = missed = 0
    for n, card in enumerate(queue, start=1):
        stdout.write(f"\n[{n}/{len(queue)}] {card.notebook} · {card.number} · box {boxes.box(card)}\n")
        stdout.write(textwrap.fill(card.question, width=100) + "\n")
        if _ask("(Enter: show the model answer) ", stdin, stdout) is None:
            break
        stdout.write("\n" + card.answer + "\n\n")
        grade = _grade(stdin, stdout)
        if grade in (None, "q"):
            break
        box = boxes.grade(card, knew=grade == "y")
        known, missed = known + (grade == "y"), missed + (grade == "n")
        when = "next session" if box == 1 else f"in {2 ** (box - 1)} sessions"
        stdout.write(f"→ box {box}: asked again {when}.\n")
    if known or missed:
        boxes.save()
    counts = " ".join(f"{n}:{c}" for n, c in enumerate(boxes.counts(cards), start=1))
    stdout.write(f"\n{known} known, {missed} missed. Cards per box {counts}.\n")
    return known, missed
