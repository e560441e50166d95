"""authkit.course.drill: the interview questions, asked and scheduled in Leitner boxes; the Anki deck."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from authkit.course.drill import BOXES, Boxes, Card, cards_of, drill, export_anki, interview_cards, near_duplicates
from authkit.course.notebooks import NOTEBOOK_DIR, ROOT, course_notebooks

SECTION = """## Interview questions

<details><summary>Q1. Why not send the token as <code>?access_token=…</code>?</summary>

URLs end up in logs.
</details>

<details><summary>Q2. What is `jti`?</summary>

The token's ID: a denylist
names it.
</details>"""


def notebook_with(tmp_path: Path, *sources: str) -> Path:
    path = tmp_path / "03_example.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in sources]), path)
    return path


def test_questions_come_from_the_interview_section_only(tmp_path: Path) -> None:
    outside = "<details><summary>Q9. Not an interview question</summary>\nno\n</details>"
    path = notebook_with(tmp_path, "# Title\n" + outside, SECTION, "## Summary\n" + outside)
    assert cards_of(path) == [
        Card("03_example", "Q1", "Why not send the token as `?access_token=…`?", "URLs end up in logs."),
        Card("03_example", "Q2", "What is `jti`?", "The token's ID: a denylist\nnames it."),
    ]


def test_every_course_notebook_gives_its_interview_questions() -> None:
    cards = interview_cards(course_notebooks())
    for path in course_notebooks():
        details = nbformat.read(path, as_version=4)
        expected = sum(c.source.count("<details>") for c in details.cells if "## Interview questions" in c.source)
        assert len([c for c in cards if c.notebook == path.stem]) == expected >= 3, path.name
    assert len({card.id for card in cards}) == len(cards), "each question has its own id"
    assert all(card.question and card.answer and "<details>" not in card.answer for card in cards)


@pytest.fixture
def cards(tmp_path: Path) -> list[Card]:
    return cards_of(notebook_with(tmp_path, SECTION)) + [Card("04_other", "Q1", "Third?", "Yes.")]


def run(cards: list[Card], boxes: Boxes, typed: str, count: int | None = None) -> tuple[str, tuple[int, int]]:
    out = io.StringIO()
    result = drill(cards, boxes, count=count, stdin=io.StringIO(typed), stdout=out)
    return out.getvalue(), result


def test_the_answer_is_shown_only_after_enter(cards: list[Card], tmp_path: Path) -> None:
    out, result = run(cards, Boxes(tmp_path / "drill.json"), "\ny\n", count=1)
    question, answer = out.index("Why not send the token"), out.index("URLs end up in logs.")
    assert question < out.index("(Enter: show the model answer)") < answer < out.index("Did you know it?")
    assert result == (1, 0)


def test_a_known_card_moves_up_a_missed_one_comes_back_next_session(cards: list[Card], tmp_path: Path) -> None:
    boxes = Boxes(tmp_path / "drill.json")
    out, result = run(cards, boxes, "\ny\n\nn\n\ny\n")
    assert result == (2, 1) and boxes.session == 1
    assert [boxes.box(c) for c in cards] == [2, 1, 2]
    saved = Boxes(tmp_path / "drill.json")  # what the next `make drill` reads
    saved.start_session(cards)
    assert saved.session == 2 and saved.due_now(cards) == [cards[1]], "only the missed card is due at once"
    saved.grade(cards[1], knew=True)
    saved.start_session(cards)
    assert saved.session == 3 and saved.due_now(cards) == [cards[0], cards[2]], "known in session 2: due in 4"


def test_missed_cards_are_asked_before_the_others(cards: list[Card], tmp_path: Path) -> None:
    boxes = Boxes(tmp_path / "drill.json")
    boxes.start_session(cards)
    boxes.grade(cards[0], knew=True), boxes.grade(cards[1], knew=True), boxes.grade(cards[2], knew=False)
    boxes.session = 2
    assert boxes.due_now(cards) == [cards[2]]
    boxes.session = 3
    assert boxes.due_now(cards) == [cards[2], cards[0], cards[1]], "box 1 first, then the others"


def test_a_known_card_climbs_to_the_last_box_and_waits_longer_each_time(tmp_path: Path) -> None:
    card, boxes = Card("00_x", "Q1", "Q?", "A."), Boxes(tmp_path / "drill.json")
    waits = []
    for _ in range(BOXES + 1):
        boxes.start_session([card])
        assert boxes.due_now([card]) == [card]
        before = boxes.session
        boxes.grade(card, knew=True)
        waits.append(boxes.due(card) - before)
    assert waits == [2, 4, 8, 16, 16, 16] and boxes.box(card) == BOXES


def test_with_nothing_due_the_drill_skips_to_the_next_session_that_has_cards(cards: list[Card], tmp_path: Path) -> None:
    boxes = Boxes(tmp_path / "drill.json")
    run(cards, boxes, "\ny\n" * 3)
    out, result = run(cards, Boxes(tmp_path / "drill.json"), "\ny\n" * 3)
    assert "Session 3: 3 questions due" in out and result == (3, 0)


def test_quitting_or_the_end_of_input_keeps_what_was_graded(cards: list[Card], tmp_path: Path) -> None:
    _, result = run(cards, Boxes(tmp_path / "drill.json"), "\nn\n\nq\n")
    assert result == (0, 1) and json.loads((tmp_path / "drill.json").read_text())["session"] == 1
    _, result = run(cards, Boxes(tmp_path / "drill.json"), "\n")
    assert result == (0, 0)
    assert json.loads((tmp_path / "drill.json").read_text())["session"] == 1, "nothing graded: nothing saved"


def test_an_unclear_grade_is_asked_again(cards: list[Card], tmp_path: Path) -> None:
    out, result = run(cards, Boxes(tmp_path / "drill.json"), "\n\nmaybe\nyes\n", count=1)
    assert out.count("Please type y, n or q.") == 2 and result == (1, 0)


def test_make_drill_with_piped_input(tmp_path: Path) -> None:
    workspace = tmp_path / "my-course"
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "drill", "NB=00", "N=2", f"WORKSPACE={workspace}"],
                          cwd=ROOT, input="\ny\n\nn\n", capture_output=True, text=True, timeout=120, check=True)
    first, second = interview_cards([NOTEBOOK_DIR / "00_start_here.ipynb"])[:2]
    assert "Session 1: 2 questions due (of 3)" in done.stdout
    assert first.question in done.stdout and second.answer.splitlines()[0] in done.stdout
    assert "1 known, 1 missed. Cards per box 1:2 2:1 3:0 4:0 5:0." in done.stdout
    saved = json.loads((workspace / ".authkit" / "drill.json").read_text())
    assert saved["cards"] == {first.id: {"box": 2, "due": 3}, second.id: {"box": 1, "due": 2}}


def test_an_unknown_notebook_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "authkit.course", "drill", "--notebook", "42",
                           "--workspace", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "no course notebook '42'" in done.stderr


def read_anki(path: Path) -> tuple[dict[str, str], list[list[str]]]:
    """Read a deck as Anki's importer does: '#key:value' header lines, then tab-separated, quoted records."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    headers = {}
    while lines and lines[0].startswith("#"):
        key, _, value = lines.pop(0)[1:].rstrip("\n").partition(":")
        headers[key] = value
    assert not any(line.startswith("#") for line in lines), "Anki would take such a record for a comment"
    return headers, list(csv.reader(lines, delimiter="\t"))


def test_the_anki_deck_imports_as_plain_text_with_front_back_and_a_tag(tmp_path: Path) -> None:
    cards = interview_cards(course_notebooks())
    deck = tmp_path / "authkit.txt"
    assert export_anki(cards, deck) == len(cards)
    headers, rows = read_anki(deck)
    assert headers == {"separator": "tab", "html": "true", "notetype": "Basic", "deck": "authkit course interview",
                       "columns": "Front\tBack\tTags\tGUID", "tags column": "3", "guid column": "4"}
    assert len(rows) == len(cards) and all(len(row) == 4 for row in rows)
    assert len(deck.read_text().splitlines()) == len(headers) + len(cards), "one line per card"
    for row, card in zip(rows, cards):
        front, back, tags, guid = row
        assert front.startswith("<p>") and card.question.split("`")[0].replace('"', "&quot;")[:20] in front
        assert back.startswith("<p>") and "\t" not in back
        assert tags.split() == [f"authkit::{card.notebook}"]
        assert guid == f"authkit-{card.id}"
    assert {row[2] for row in rows} == {f"authkit::{p.stem}" for p in course_notebooks()}, "one tag per notebook"
    assert "<code>?access_token=…</code>" in "".join(row[0] for row in rows), "Markdown became HTML"


def test_make_drill_anki_writes_the_deck(tmp_path: Path) -> None:
    deck = tmp_path / "deck.txt"
    done = subprocess.run(["make", "-s", "-o", ".venv/.installed", "drill", f"ANKI={deck}",
                           f"WORKSPACE={tmp_path / 'my-course'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert f"cards written to {deck}" in done.stdout and read_anki(deck)[1]
    assert not (tmp_path / "my-course").exists(), "exporting touches no drill state"


def test_missed_cards_come_back_before_new_ones_in_make_drill(tmp_path: Path) -> None:
    """The issue's steps: a fresh workspace, three missed in `make drill NB=01 N=3`, then `make drill` again."""
    workspace = tmp_path / "my-course"
    cards = interview_cards([NOTEBOOK_DIR / "01_jwt_anatomy.ipynb"])
    assert len(cards) > 3, "notebook 01 has new cards left after the first three"

    def make_drill(typed: str) -> str:
        return subprocess.run(["make", "-s", "-o", ".venv/.installed", "drill", "NB=01", "N=3", f"WORKSPACE={workspace}"],
                              cwd=ROOT, input=typed, capture_output=True, text=True, timeout=120, check=True).stdout

    first = make_drill("\nn\n" * 3)
    assert "0 known, 3 missed." in first
    missed = [card for card in cards if card.question in first]
    assert missed == cards[:3]
    second = make_drill("\ny\n" * 3)
    asked = [card for card in cards if card.question in second]
    assert asked == missed, "the three missed cards come back before any new one"
    assert all(f"01_jwt_anatomy · {card.number} · box 1" in second for card in missed)


def test_due_cards_already_seen_come_before_new_ones(cards: list[Card], tmp_path: Path) -> None:
    boxes = Boxes(tmp_path / "drill.json")
    boxes.start_session(cards)
    boxes.grade(cards[2], knew=False)
    boxes.start_session(cards)
    assert boxes.due_now(cards) == [cards[2], cards[0], cards[1]], "the missed card first, then the new ones in order"


def test_no_two_interview_questions_of_the_course_ask_the_same_thing() -> None:
    """Each question once, where the course builds its answer (the drill, the deck and 08's cheat sheet).

    TF-IDF cosine of question and answer >= 0.38: the copies found in the course scored 0.40 to 0.59 (04 Q5 and
    07 Q3 on denylist versus version 0.59, 05 Q2 and 07 Q4 on idle and absolute timeouts 0.55), while the
    highest pair kept, two different questions that share a vocabulary (01 Q8, who can sign with HS256;
    02 Q5, how asymmetric verifiers find their key), scores 0.34. A difflib ratio >= 0.85 of the questions
    alone catches a copied question whose answer was rewritten; the closest pair kept scores 0.61."""
    pairs = near_duplicates(interview_cards(course_notebooks()))
    shown = [f"{a.notebook[:2]} {a.number} ≈ {b.notebook[:2]} {b.number} ({score:.2f})" for score, a, b in pairs]
    assert shown == []


def test_the_duplicate_finder_catches_the_copies_the_course_had() -> None:
    cards = interview_cards(course_notebooks())
    copies = [
        Card("00_start_here", "Q4", "Is a JWT encrypted?",
             "Usually not. A signed JWT (JWS) is only base64url-encoded: anyone holding it can read every claim. The\n"
             "signature protects integrity, not confidentiality — so no secrets go in the payload. Encryption is a\n"
             "separate format (JWE) and rarely what a login needs."),
        Card("07_revocation_windows_and_sliding_expiration", "Q3", "Denylist or token version: which, and when?",
             "A `jti` denylist revokes one token (logout on this device); each entry lives only until that token's "
             "`exp`, so its size is bounded by logouts per access-token lifetime. A per-user version revokes every "
             "token of the user at once with one `INCR` (logout everywhere, password or permission change) but "
             "cannot end one device alone. Both cost one read per request; read both keys in one `MGET` (same "
             "hash tag) to keep it one round trip."),
    ]
    found = {(a.question, b.question) for _, a, b in near_duplicates(cards + copies)}
    assert any(copies[0].question in pair and any("Is a JWT encrypted? What follows" in q for q in pair) for pair in found)
    assert any(copies[1].question in pair and any(q.startswith("Denylist or token version: which one") for q in pair)
               for pair in found)
