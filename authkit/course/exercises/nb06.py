"""Exercises of notebook 06 (the browser lab): each check drives headless Chromium and reads what the servers saw."""

from __future__ import annotations

import itertools

from authkit.course.exercise import Incorrect, register
from authkit.web.cookie_app import session_cookie
from authkit.web.lab import Lab
from authkit.web.lab.experiments import (
    SAME_SITE_REQUESTS, csp_payloads, csp_run, same_site_table, session_cookie_set, strict_policy, toss,
)

_runs = itertools.count(1)


# --- 1. a CSP that stops the payloads and keeps the app -------------------------------------------

def _check_csp_header(fn) -> None:
    shown = fn("<nonce>")
    if not isinstance(shown, str) or not shown.strip():
        raise Incorrect(f"expected the header's value as a str for nonce='<nonce>', got {shown!r}")
    lab = Lab.current()
    lab.reset()
    with lab.victim() as browser:
        page = browser.new_page()
        for payload in csp_payloads(lab, "").keys():
            run = f"x{next(_runs)}"
            result = csp_run(lab, page, fn, csp_payloads(lab, run)[payload], run)
            if result["app"] == "hijacked":
                raise Incorrect(f"the page ran the attacker's app.js in place of its own under your policy "
                                f"{shown!r}, with the {payload} payload in the page")
            if result["app"] != "runs":
                raise Incorrect(f"the bank's own script did not run under your policy {shown!r} "
                                f"(with the {payload} payload in the page)")
            if result["payload"] != "blocked":
                raise Incorrect(f"the {payload} payload ran under your policy {shown!r}")


register(
    "csp_header",
    checker=_check_csp_header,
    hints=(
        "The bank's scripts carry nonce=\"<nonce>\": a policy with script-src 'nonce-<nonce>' lets exactly those run.",
        "An injected <base href> redirects the page's own relative /static/app.js — which carries the nonce — to "
        "the attacker: add base-uri 'none'. object-src 'none' closes plugins.",
        "Add 'strict-dynamic' so that scripts loaded by trusted scripts run too, and report-uri /csp-report to be "
        "told about every block.",
    ),
    reference=strict_policy,
)

# --- 2. a session cookie a sibling cannot toss ----------------------------------------------------


def _check_session_set_cookie(fn) -> None:
    value = "s3cr3t"
    header = fn(value)
    if not isinstance(header, str) or "=" not in header:
        raise Incorrect(f"expected a Set-Cookie value like 'name=value; Attr; ...' for value={value!r}, got {header!r}")
    name = header.split("=", 1)[0].strip()
    if not name.endswith("sid"):
        raise Incorrect(f"name the cookie sid (with any prefix you like), got {name!r}")
    lab = Lab.current()
    lab.reset()
    with lab.victim() as browser:
        page = browser.new_page()
        session_cookie_set(lab, page, fn, value)
        page.goto(f"{lab.bank_named_url}/")
        if value in page.evaluate("document.cookie"):
            raise Incorrect(f"script on the bank's page reads your cookie in document.cookie: {header!r}")
        received = toss(lab, page, name, lab.sibling_url)
    if received == f"{name}={value}":
        return
    if value not in received:
        raise Incorrect(f"the browser never sent your cookie back to the bank: {header!r} (it received {received!r})")
    raise Incorrect(f"after evil.bank.localhost set cookies named {name} for Domain=bank.localhost, the bank "
                    f"received {received!r} for your {header!r}")


register(
    "session_set_cookie",
    checker=_check_session_set_cookie,
    hints=(
        "A sibling subdomain may set a cookie for the parent domain (Domain=bank.localhost); the bank then receives "
        "two cookies of the same name and cannot tell which is its own.",
        "The __Secure- prefix only demands Secure. The __Host- prefix also forbids Domain and demands Path=/, "
        "so no other host can set a cookie of that name for you.",
        "__Host-sid=<value>; Secure; HttpOnly; Path=/; SameSite=Lax",
    ),
    reference=session_cookie,
    solution='''def session_set_cookie(value):
    return f"__Host-sid={value}; Secure; HttpOnly; Path=/; SameSite=Lax"''',
)

# --- 3. predict the SameSite table -----------------------------------------------------------------


def samesite_prediction() -> dict[str, set[str]]:
    """The cookies the bank receives on each cross-site request (third-party cookies allowed)."""
    return {
        "form POST": {"none", "unset"},  # unset: Chromium's "Lax+POST" for cookies under 2 minutes old
        "fetch, credentials: include": {"none"},
        "image": {"none"},
        "link (top-level GET)": {"lax", "none", "unset"},
    }


def _check_samesite_prediction(fn) -> None:
    predicted = fn()
    if not isinstance(predicted, dict) or set(predicted) != set(SAME_SITE_REQUESTS):
        raise Incorrect(f"expected a dict with the keys {list(SAME_SITE_REQUESTS)}, got {predicted!r}")
    observed = same_site_table(Lab.current(), third_party_cookies=True)
    for request in SAME_SITE_REQUESTS:
        if set(predicted[request]) != set(observed[request]):
            raise Incorrect(f"for the cross-site {request} you predicted {sorted(predicted[request])}, "
                            f"Chromium sent {observed[request]}")


register(
    "samesite_prediction",
    checker=_check_samesite_prediction,
    hints=(
        "Strict is never sent on a request another site starts. None always is (when third-party cookies are "
        "allowed). Lax is sent only on a top-level navigation with a safe method (GET).",
        "A cookie without SameSite is treated as Lax by Chromium — with one exception for cookies younger than "
        "two minutes.",
        "That exception, 'Lax+POST', lets a fresh cookie without SameSite ride a cross-site top-level POST.",
    ),
    reference=samesite_prediction,
)
