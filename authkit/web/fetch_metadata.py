"""A resource-isolation policy on Fetch Metadata: cross-site requests that could change state are refused.

Browsers since 2023 say where each request comes from in ``Sec-Fetch-Site`` (``same-origin``,
``same-site``, ``cross-site`` or ``none`` for a typed URL or a bookmark), a header no page can set.
OWASP's CSRF cheat sheet (section "Fetch Metadata headers") makes it a primary signal: refuse a
cross-site request with an unsafe method, allow cross-site only for plain top-level navigations, and
fall back to the Origin and token checks when the header is absent (an old browser, a script). Here
the policy runs before anything else, the Origin allow-list and the CSRF token still run after it
(a ``same-site`` sibling is not trusted for being a sibling), and every answer says ``Vary`` on both.
"""

from __future__ import annotations

from flask import Flask, Response, request

from authkit.errors import CsrfRejected

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SITES = frozenset({"same-origin", "same-site", "cross-site", "none"})
CROSS_SITE = ("refused: a cross-site request may not change state here, nor read an API "
              "(Sec-Fetch-Site: cross-site); only a plain link to a page is let through")


def fetch_metadata_reason(method: str, site: str | None, mode: str | None, dest: str | None) -> str | None:
    """``cross_site`` if the policy refuses the request, None if it passes to the other checks."""
    if site not in SITES or site != "cross-site":
        return None  # absent or unknown (forward compatibility): Origin and token decide; same-*: they decide too
    if method in SAFE_METHODS and mode == "navigate" and dest not in ("object", "embed"):
        return None  # a link from elsewhere to a page: the site must stay linkable
    return "cross_site"


def add_fetch_metadata_policy(app: Flask) -> None:
    """Refuse, before any view runs, what ``fetch_metadata_reason`` refuses (403 through ``CsrfRejected``)."""

    @app.before_request
    def isolate() -> None:
        headers = request.headers
        reason = fetch_metadata_reason(request.method, headers.get("Sec-Fetch-Site"), headers.get("Sec-Fetch-Mode"),
                                       headers.get("Sec-Fetch-Dest"))
        if reason is not None:
            raise CsrfRejected(reason, CROSS_SITE)

    @app.after_request
    def vary(response: Response) -> Response:
        response.vary.update(("Sec-Fetch-Site", "Origin"))  # the answer depends on them: caches must keep them apart
        return response
