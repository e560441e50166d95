"""``make course``: every notebook executed into a static site that opens offline."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


def test_every_page_loads_in_chromium_with_its_figures_and_links(tmp_path: Path, page) -> None:
    """The whole site, built from the committed outputs (strict nbval checks those), opened in Chromium."""
    notebooks = course_notebooks()
    build_site(notebooks, tmp_path, run=False)
    pages = sorted(tmp_path.glob("*.html"))
    assert [p.name for p in pages] == sorted([f"{n.stem}.html" for n in notebooks] + ["index.html"])
    targets: dict[Path, set[str]] = {}
    shown = 0
    for html_page in pages:
        page.goto(html_page.as_uri())
        images = page.eval_on_selector_all("img", "all => all.map(i => [i.src.slice(0, 60), i.naturalWidth > 0])")
        assert [src for src, ok in images if not ok] == [], f"{html_page.name}: figures that did not decode"
        shown += len(images)
        for link in page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)"):
            parts = urlsplit(link)
            if parts.scheme == "file":
                targets.setdefault(Path(unquote(parts.path)), set()).update([parts.fragment] if parts.fragment else [])
    assert shown >= 5, "the course's figures are on its pages"
    for target, fragments in sorted(targets.items()):
        assert target.is_file(), f"a link points at {target.name}, which the site does not have"
        page.goto(target.as_uri())
        # a fragment names an element by its raw or its percent-decoded id, as browsers try both
        found = "id => !!(document.getElementById(id) || document.getElementById(decodeURIComponent(id)))"
        missing = [fragment for fragment in sorted(fragments) if not page.evaluate(found, fragment)]
        assert missing == [], f"{target.name} has no element for the anchors {missing}"
