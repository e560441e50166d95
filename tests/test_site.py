"""``make course``: every notebook executed into a Sphinx site (MyST-NB, the book theme) that opens offline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from authkit.course.notebooks import course_notebooks


def test_the_site_source_has_no_solution_markers_and_points_links_at_pages(tmp_path: Path) -> None:
    from authkit.course.book import prepare

    notebook = {"cells": [
        {"cell_type": "markdown", "source": "See [02](02_verifying_jwts.ipynb#Leeway) and the figure below:"},
        {"cell_type": "code", "source": "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
         "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}}]},
    ]}
    assert prepare(notebook, "09_x", tmp_path) == [("09_x-fig1.png", "See [02](02_verifying_jwts.html) and the figure below")]
    assert notebook["cells"][1]["source"].rstrip() == "def f():\n    return 1"
    assert (tmp_path / "09_x-fig1.png").read_bytes().startswith(b"\x89PNG")


def test_the_book_opens_offline_in_chromium_with_syllabus_search_gallery_and_no_overflow(tmp_path: Path, page) -> None:
    """The Sphinx site of make course, built from the committed outputs, opened page by page in Chromium."""
    from authkit.course.book import build_book

    notebooks = course_notebooks()
    index = build_book(notebooks, tmp_path / "site", run=False)
    site = index.parent
    remote: list[str] = []
    page.route("**/*", lambda route: (remote.append(route.request.url), route.abort())
               if not route.request.url.startswith(("file:", "data:", "blob:", "about:")) else route.continue_())
    pages = [index, site / "gallery.html", site / "search.html"] + [site / f"{n.stem}.html" for n in notebooks]
    targets: set[Path] = set()
    for html_page in pages:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(html_page.as_uri())
        page.wait_for_load_state("load")
        broken = page.eval_on_selector_all("img", "all => all.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert broken == [], f"{html_page.name}: images that did not load"
        wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"{html_page.name} overflows the window by {wide}px"
        assert "### BEGIN SOLUTION" not in page.inner_text("body") and "### END SOLUTION" not in page.inner_text("body")
        sidebar = page.inner_text(".bd-sidebar-primary")
        assert all(n.stem[:2] in sidebar or "Start here" in sidebar for n in notebooks), "the syllabus is the sidebar"
        for link in page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)"):
            parts = urlsplit(link)
            if parts.scheme == "file":
                targets.add(Path(unquote(parts.path)))
    assert remote == [], "the site loads nothing from the network"
    assert all(target.exists() for target in targets), sorted(t.name for t in targets if not t.exists())
    page.goto((site / "02_verifying_jwts.html").as_uri())
    assert page.locator("a.left-prev").count() and page.locator("a.right-next").count(), "previous and next"
    gallery = (site / "gallery.html").read_text(encoding="utf-8")
    assert gallery.count("<figcaption") >= 5, "every figure in the gallery has its caption"
    page.goto((site / "search.html").as_uri() + "?q=denylist")
    page.wait_for_selector("#search-results li", timeout=20_000)
    assert page.locator("#search-results li").count() >= 2, "search finds the notebooks that teach it"
