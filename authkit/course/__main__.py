"""``python -m authkit.course {execute,student,site,workspace,reset,progress,drill} …``: the tools behind the Makefile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authkit.course import notebooks
from authkit.course.state import WORKSPACE_DIR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m authkit.course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="re-run notebooks in place, saving their outputs")
    run.add_argument("paths", nargs="*", type=Path, help="notebooks (default: the whole course)")
    student = commands.add_parser("student", help="write learner copies without solutions")
    student.add_argument("--out", type=Path, default=notebooks.ROOT / "build" / "student")
    site = commands.add_parser("site", help="execute every notebook into a static site (Sphinx, MyST-NB, the book theme)")
    site.add_argument("--out", type=Path, default=notebooks.ROOT / "build" / "site")
    for name, text in (
        ("workspace", "create or update the learner's workspace (never overwrites their work)"),
        ("reset", "replace the learner's copy of one notebook by the course's, keeping a backup"),
        ("progress", "print the exercises done and left, per notebook"),
        ("drill", "ask the interview questions in the terminal (Leitner boxes), or export them for Anki"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--workspace", type=Path, default=WORKSPACE_DIR, help="the learner's folder")
        command.add_argument("--course", type=Path, default=notebooks.NOTEBOOK_DIR, help="the reference notebooks")
    commands.choices["reset"].add_argument("notebook", help="its number (03) or file name")
    drill = commands.choices["drill"]
    drill.add_argument("--notebook", help="only this notebook's questions (its number, e.g. 03)")
    drill.add_argument("--count", type=int, help="at most this many questions")
    drill.add_argument("--anki", type=Path, help="write every question as an Anki deck (tab-separated) and stop")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "execute":
        notebooks.execute_in_place(args.paths or notebooks.course_notebooks())
    elif args.command == "student":
        from authkit.course.student import write_student_copies

        for path in write_student_copies(notebooks.course_notebooks(), args.out):
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    elif args.command == "site":
        from authkit.course.book import build_book

        index = build_book(notebooks.course_notebooks(), args.out)
        print(f"site written: {index}")
    elif args.command == "workspace":
        from authkit.course.workspace import describe, sync

        print(describe(sync(args.workspace, args.course), args.workspace))
    elif args.command == "reset":
        return _reset(args.notebook, args.workspace, args.course)
    elif args.command == "progress":
        from authkit.course.catalog import catalog
        from authkit.course.progress import table

        print(table(catalog().values(), args.workspace, args.course))
    elif args.command == "drill":
        return _drill(args)
    return 0


def _reset(name: str, workspace: Path, course: Path) -> int:
    from authkit.course.workspace import UnknownNotebook, reset

    try:
        target, backup = reset(name, workspace, course)
    except UnknownNotebook as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{target} is the course's current version, exercises to solve (its progress is cleared).")
    print(f"Your previous copy is in {backup}" if backup else "(your copy had no changes of yours: nothing to keep)")
    return 0


def _drill(args: argparse.Namespace) -> int:
    from authkit.course.drill import Boxes, drill, export_anki, interview_cards
    from authkit.course.workspace import UnknownNotebook, find_notebook

    paths = notebooks.course_notebooks(args.course)
    if args.notebook:
        try:
            paths = [find_notebook(args.notebook, args.course)]
        except UnknownNotebook as exc:
            print(exc, file=sys.stderr)
            return 2
    cards = interview_cards(paths)
    if args.anki:
        count = export_anki(cards, args.anki)
        print(f"{count} cards written to {args.anki}: in Anki, File → Import, and pick that file "
              "(it says its own separator, note type, deck and tags).")
        return 0
    drill(cards, Boxes.of(args.workspace), count=args.count, stdin=sys.stdin, stdout=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
