"""``make course``: execute every notebook headless into a static site that opens offline."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Iterable

import nbformat
from nbconvert import HTMLExporter
from tqdm import tqdm

from authkit.course.notebooks import execute


def notebook_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown ``# heading`` of a notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def extract_figures(notebook: nbformat.NotebookNode, stem: str, folder: Path) -> list[Path]:
    """Write every PNG output of ``notebook`` to ``folder`` as ``<stem>-fig<N>.png``."""
    written = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                path = folder / f"{stem}-fig{len(written) + 1}.png"
                path.write_bytes(base64.b64decode(data["image/png"]))
                written.append(path)
    return written


_REMOTE_SCRIPT = re.compile(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>')
_REMOTE_MODULE = re.compile(r'<script type="module">(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>', re.S)


def offline_html(page: str) -> str:
    """Drop the exporter's CDN scripts (require.js, mermaid): the site must open without a network."""
    return _REMOTE_MODULE.sub("", _REMOTE_SCRIPT.sub("", page))


def _html_exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = ""
    return exporter


def _index_page(entries: list[tuple[str, str, list[Path]]], out_dir: Path) -> str:
    rows = []
    for page, title, figures in entries:
        links = " ".join(
            f'<a href="{html.escape(str(f.relative_to(out_dir)))}">fig {n}</a>'
            for n, f in enumerate(figures, start=1)
        )
        rows.append(f'<li><a href="{html.escape(page)}">{html.escape(title)}</a> {links}</li>')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>authkit course</title>"
        "<style>body{font-family:sans-serif;max-width:46em;margin:3em auto;line-height:1.5}</style>"
        "</head><body><h1>authkit course</h1>"
        "<p>JWT bearer tokens versus server-side sessions behind a cookie, built step by step "
        "and measured. Every page below was produced by executing its notebook.</p>"
        f"<ol>{''.join(rows)}</ol></body></html>"
    )


def build_site(paths: Iterable[Path], out_dir: Path, *, run: bool = True) -> Path:
    """Execute each notebook, write its HTML page and figures, then the index; return the index path.

    With ``run=False`` the pages show the committed outputs as they are (strict nbval proves those are
    what execution gives), which builds the whole site in seconds.
    """
    paths = list(paths)
    figures_dir = out_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    exporter = _html_exporter()
    entries = []
    for path in tqdm(paths, desc="building the course site", unit="nb"):
        notebook = execute(path) if run else nbformat.read(path, as_version=4)
        page = f"{path.stem}.html"
        title = notebook_title(notebook, path.stem)
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
        body = offline_html(body).replace('.ipynb"', '.html"').replace(".ipynb#", ".html#")
        (out_dir / page).write_text(body, encoding="utf-8")
        entries.append((page, title, extract_figures(notebook, path.stem, figures_dir)))
    index = out_dir / "index.html"
    index.write_text(_index_page(entries, out_dir), encoding="utf-8")
    return index
