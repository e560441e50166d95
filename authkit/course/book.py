"""``make course``: the executed notebooks as a Sphinx site (MyST-NB, the book theme) that opens offline."""

from __future__ import annotations

import base64
import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Iterable

from authkit.course.notebooks import execute

_MARKER = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*\n?", re.M)
#: A Markdown link to another course notebook, which the site serves as its page.
_NOTEBOOK_HREF = re.compile(r'href="(?P<stem>\d\d_\w+)\.ipynb')
_NOTEBOOK_LINK = re.compile(r"\]\((?P<stem>\d\d_\w+)\.ipynb(?P<fragment>#[^)]*)?\)")

CONF = '''project = "authkit course"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # make course has executed every notebook already
html_theme = "sphinx_book_theme"
html_title = "authkit course"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {"show_navbar_depth": 1, "use_download_button": False, "use_fullscreen_button": False}
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]
'''

#: Wide tables and long lines scroll inside their own box instead of widening the page.
CSS = """table { display: block; max-width: 100%; overflow-x: auto; }
div.highlight pre, div.output pre, .cell_output pre { overflow-x: auto; white-space: pre; }
.cell_output img, figure img { max-width: 100%; height: auto; }
"""


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def _pages(text: str) -> str:
    """Links to a course notebook, Markdown or HTML, pointed at its page."""
    return _NOTEBOOK_HREF.sub(r'href="\g<stem>.html', _NOTEBOOK_LINK.sub(r"](\g<stem>.html)", text))


def _caption(cells: list[dict], index: int) -> str:
    """The sentence that introduces a figure: the last line of the Markdown cell before its code cell."""
    for cell in reversed(cells[:index]):
        if cell["cell_type"] == "markdown":
            lines = [line for line in _text(cell["source"]).splitlines() if line.strip()]
            return " ".join(lines[-2:]).strip().rstrip(":") if lines else ""
    return ""


def prepare(notebook: dict, stem: str, figures: Path) -> list[tuple[str, str]]:
    """Strip the solution markers from ``notebook`` in place; write its PNG figures; return (file, caption)."""
    found = []
    cells = notebook["cells"]
    for n, cell in enumerate(cells):
        cell["source"] = _MARKER.sub("", _text(cell["source"]))
        if cell["cell_type"] == "markdown":
            cell["source"] = _pages(cell["source"])
        for output in cell.get("outputs", []):
            for kind in ("text/markdown", "text/html"):
                if kind in output.get("data", {}):
                    output["data"][kind] = _pages(_text(output["data"][kind]))
            png = output.get("data", {}).get("image/png")
            if png:
                name = f"{stem}-fig{len(found) + 1}.png"
                (figures / name).write_bytes(base64.b64decode(_text(png)))
                found.append((name, _caption(cells, n)))
    return found


def _gallery(entries: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    parts = ["# Figure gallery\n\nEvery figure of the course, with the sentence that introduces it.\n"]
    for stem, title, figures in entries:
        if figures:
            parts.append(f"\n## {title}\n")
        for name, caption in figures:
            parts.append(f"\n```{{figure}} figures/{name}\n:width: 100%\n\n{caption} ([{title}]({stem}.ipynb))\n```\n")
    return "".join(parts)


def build_book(paths: Iterable[Path], out_dir: Path, *, run: bool = True) -> Path:
    """Execute each notebook (or take its committed outputs), then build the site; return its index page."""
    from sphinx.cmd.build import build_main

    paths = list(paths)
    source = out_dir.parent / f"{out_dir.name}-source"
    shutil.rmtree(source, ignore_errors=True)
    (source / "figures").mkdir(parents=True)
    (source / "_static").mkdir()
    entries = []
    for path in paths:
        if run:
            execute(path, output=source / path.name)
            notebook = json.loads((source / path.name).read_text(encoding="utf-8"))
        else:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        figures = prepare(notebook, path.stem, source / "figures")
        (source / path.name).write_text(json.dumps(notebook), encoding="utf-8")
        titles = [line[2:] for c in notebook["cells"] if c["cell_type"] == "markdown"
                  for line in _text(c["source"]).splitlines() if line.startswith("# ")]
        entries.append((path.stem, titles[0] if titles else path.stem, figures))
    (source / "gallery.md").write_text(_gallery(entries), encoding="utf-8")
    toc = "\n".join([p.stem for p in paths] + ["gallery"])
    (source / "index.md").write_text(
        "# authkit course\n\nJWT bearer tokens versus server-side sessions behind a cookie, built step by step and "
        "measured. Every page was produced by executing its notebook.\n\n"
        f"```{{toctree}}\n:caption: Syllabus\n:maxdepth: 1\n\n{toc}\n```\n", encoding="utf-8")
    (source / "conf.py").write_text(CONF, encoding="utf-8")
    (source / "_static" / "course.css").write_text(CSS, encoding="utf-8")
    with warnings.catch_warnings():  # the theme's and MyST's use of Sphinx APIs that Sphinx 11 removes: not ours
        warnings.filterwarnings("ignore", message=r".*is deprecated\. Check CHANGES for Sphinx API modifications")
        status = build_main(["-q", "-b", "html", str(source), str(out_dir)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed on {source}")
    return out_dir / "index.html"
