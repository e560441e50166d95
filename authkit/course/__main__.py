"""``python -m authkit.course {execute,student,site} …``: the notebook tools behind the Makefile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authkit.course import notebooks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authkit.course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="re-run notebooks in place, saving their outputs")
    run.add_argument("paths", nargs="*", type=Path, help="notebooks (default: the whole course)")
    student = commands.add_parser("student", help="write learner copies without solutions")
    student.add_argument("--out", type=Path, default=notebooks.ROOT / "build" / "student")
    site = commands.add_parser("site", help="execute every notebook into a static HTML site")
    site.add_argument("--out", type=Path, default=notebooks.ROOT / "build" / "site")
    args = parser.parse_args(argv)

    if args.command == "execute":
        notebooks.execute_in_place(args.paths or notebooks.course_notebooks())
    elif args.command == "student":
        from authkit.course.student import write_student_copies

        for path in write_student_copies(notebooks.course_notebooks(), args.out):
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    elif args.command == "site":
        from authkit.course.site import build_site

        index = build_site(notebooks.course_notebooks(), args.out)
        print(f"site written: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
