"""``make course``: every notebook executed into a static site that opens offline."""

from __future__ import annotations

import re
from pathlib import Path

from authkit.course.notebooks import course_notebooks
from authkit.course.site import build_site, offline_html


def test_offline_html_drops_cdn_scripts_only() -> None:
    page = (
        '<head><script src="https://cdnjs.example/require.min.js"></script>'
        '<script>var local = 1;</script></head>'
        '<script type="module">\nconst m = (await import("https://cdnjs.example/mermaid.mjs")).default;\n</script>'
    )
    assert offline_html(page) == "<head><script>var local = 1;</script></head>"


def test_site_has_an_index_pages_and_png_figures(tmp_path: Path) -> None:
    start_here = course_notebooks()[0]
    index = build_site([start_here], tmp_path)
    links = re.findall(r'href="([^"]+\.html)"', index.read_text())
    assert links == [f"{start_here.stem}.html"]
    page = (tmp_path / links[0]).read_text()
    assert "<title>00 · Start here" in page
    assert not re.search(r'src="https?://', page), "no remote scripts: the site opens offline"
    figures = sorted((tmp_path / "figures").glob("*.png"))
    assert figures and all(f.read_bytes().startswith(b"\x89PNG") for f in figures)
    assert all(f'figures/{f.name}' in index.read_text() for f in figures)
