"""Exercises of notebook 06 (the browser lab): each check drives headless Chromium and reads what the servers saw."""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable

from authkit.course.exercise import Incorrect, register
from authkit.course.exercises.kinds import expect_choice
from authkit.web.cookie_app import session_cookie
from authkit.web.lab import Lab
from authkit.web.lab.experiments import (
    SAME_SITE_REQUESTS, csp_payloads, csp_run, same_site_table, session_cookie_set, strict_policy, toss,
)

_runs = itertools.count(1)


class _EveryCall:
    """The learner's function as the lab calls it, on any thread: each answer is judged, the first objection kept.

    The bank calls it while serving a page, where an exception or a wrong answer would only show up
    as a broken page; ``verdict()`` then names the call that went wrong and what it had to answer.
    """

    def __init__(self, fn: Callable[[str], Any], judge: Callable[[str, Any], str | None]) -> None:
        self._fn, self._judge = fn, judge
        self.answers: list[Any] = []
        self._crash: str | None = None
        self._objection: str | None = None
        self._lock = threading.Lock()

    def __call__(self, arg: str) -> Any:
        try:
            answer = self._fn(arg)
        except Exception as exc:
            with self._lock:
                self._crash = self._crash or f"your function raised {type(exc).__name__}: {exc} for {arg!r}"
            raise
        objection = self._judge(arg, answer)
        with self._lock:
            self.answers.append(answer)
            self._objection = self._objection or objection
        return answer

    def verdict(self, *, crashes_only: bool = False) -> None:
        """Raise ``Incorrect`` for the first call that raised, then (unless ``crashes_only``) was judged wrong."""
        if self._crash is not None:
            raise Incorrect(f"{self._crash}; expected an answer")
        if self._objection is not None and not crashes_only:
            raise Incorrect(self._objection)


# --- 1. a CSP that stops the payloads and keeps the app -------------------------------------------

def _same_policy_for_every_nonce(shown: str) -> Callable[[str, Any], str | None]:
    """A policy is a function of the nonce alone: ``fn(n) == fn("<nonce>").replace("<nonce>", n)``."""

    def judge(nonce: str, policy: Any) -> str | None:
        expected = shown.replace("<nonce>", nonce)
        if policy == expected:
            return None
        return (f"your policy changes with more than the nonce: for '<nonce>' it is {shown!r}, for nonce={nonce!r} "
                f"it is {policy!r}; expected the same policy with the nonce in its place, {expected!r}")

    return judge


def _check_csp_header(fn) -> None:
    shown = fn("<nonce>")
    if not isinstance(shown, str) or not shown.strip():
        raise Incorrect(f"expected the header's value as a str for nonce='<nonce>', got {shown!r}")
    policy = _EveryCall(fn, _same_policy_for_every_nonce(shown))
    lab = Lab.current()
    lab.reset()
    with lab.victim() as browser:
        page = browser.new_page()
        for payload in csp_payloads(lab, "").keys():
            run = f"x{next(_runs)}"
            try:
                result = csp_run(lab, page, policy, csp_payloads(lab, run)[payload], run)
            except TimeoutError:
                policy.verdict()  # a wrong answer to the bank's call can leave the page waiting forever
                raise
            finally:
                lab.state.policy = None
            policy.verdict()
            if result["app"] == "hijacked":
                raise Incorrect(f"the page ran the attacker's app.js in place of its own under your policy "
                                f"{shown!r}, with the {payload} payload in the page; expected base-uri to stop it")
            if result["app"] != "runs":
                raise Incorrect(f"the bank's own script did not run under your policy {shown!r} "
                                f"(with the {payload} payload in the page); expected it to run")
            if result["payload"] != "blocked":
                raise Incorrect(f"the {payload} payload ran under your policy {shown!r}; expected it blocked")


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


#: What the browser must see in the session's Set-Cookie, as RFC 6265bis reads it (attribute names ignore case).
_SESSION_COOKIE = "__Host-<name>sid=<value>; Secure; HttpOnly; Path=/; SameSite=Lax (or Strict), no Domain"


def _set_cookie_problem(header: Any, value: str) -> str | None:
    """Why a browser would not keep ``header`` as a session cookie holding ``value`` that no sibling can toss.

    The name-value pair comes first, then ``;``-separated attributes; an attribute the browser does not
    know, or a SameSite value it does not know, is ignored by it, so it counts as missing here.
    """
    if not isinstance(header, str) or "=" not in header.split(";", 1)[0]:
        return f"it is not a Set-Cookie value like 'name=value; Attr; ...': {header!r}"
    pair, *parts = header.split(";")
    name, got = (part.strip() for part in pair.split("=", 1))
    attributes = {}
    for part in parts:
        key, _, setting = part.partition("=")
        attributes[key.strip().lower()] = setting.strip()
    if not name.endswith("sid"):
        return f"name the cookie sid (with any prefix you like), not {name!r}"
    if got != value:
        return f"the cookie's value is {got!r}, not the session ID {value!r}"
    if not name.startswith("__Host-"):  # spelled exactly: browsers have not always agreed on other cases
        return f"without the __Host- prefix, a sibling subdomain can set a cookie named {name!r} for this site"
    missing = [flag for flag in ("Secure", "HttpOnly") if flag.lower() not in attributes]
    if missing:
        return f"{' and '.join(missing)} missing (an attribute the browser does not know counts as missing)"
    if attributes.get("path") != "/":
        return f"Path is {attributes.get('path')!r}: a __Host- cookie needs Path=/"
    if attributes.get("domain"):  # an empty Domain is ignored
        return f"Domain={attributes['domain']} is set: a __Host- cookie has none"
    same_site = attributes.get("samesite")
    if same_site is None or same_site.lower() not in ("lax", "strict"):
        said = "missing" if same_site is None else f"{same_site!r}, which browsers ignore"
        return f"SameSite is {said}: Chromium then treats the cookie as Lax, other browsers do not; say Lax or Strict"
    return None


def _judge_set_cookie(value: str, header: Any) -> str | None:
    problem = _set_cookie_problem(header, value)
    if problem is None:
        return None
    return f"for value={value!r} your Set-Cookie is {header!r}: {problem}; expected {_SESSION_COOKIE}"


def _check_session_set_cookie(fn) -> None:
    value = "s3cr3t"
    session_header = _EveryCall(fn, _judge_set_cookie)
    header = session_header(value)
    if not isinstance(header, str) or "=" not in header:
        raise Incorrect(f"expected a Set-Cookie value like 'name=value; Attr; ...' for value={value!r}, got {header!r}")
    name = header.split("=", 1)[0].strip()
    if not name.endswith("sid"):
        raise Incorrect(f"name the cookie sid (with any prefix you like), got {name!r} for value={value!r}; "
                        f"expected {_SESSION_COOKIE}")
    lab = Lab.current()
    lab.reset()
    with lab.victim() as browser:  # first what Chromium does with the cookie the bank set...
        page = browser.new_page()
        session_cookie_set(lab, page, session_header, value)
        session_header.verdict(crashes_only=True)
        sent = session_header.answers[1]  # the bank's Set-Cookie
        page.goto(f"{lab.bank_named_url}/")
        if value in page.evaluate("document.cookie"):
            raise Incorrect(f"script on the bank's page reads your cookie in document.cookie: {sent!r} for "
                            f"value={value!r}; expected HttpOnly to hide it")
        received = toss(lab, page, name, lab.sibling_url)
    if value not in received:
        raise Incorrect(f"the browser never sent your cookie back to the bank: {sent!r} for value={value!r} (it "
                        f"received {received!r}); expected {_SESSION_COOKIE}")
    if received != f"{name}={value}":
        raise Incorrect(f"after evil.bank.localhost set cookies named {name} for Domain=bank.localhost, the bank "
                        f"received {received!r} for your {sent!r}; expected only {name}={value}")
    session_header.verdict()  # ...then every answer, each read as a browser reads a Set-Cookie


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


# --- what an injected script may take: a choice ------------------------------------------------------

_XSS_THREAT = ("'the APIs behind the app verify JWTs, and an XSS bug may slip through: nothing the injected "
               "script takes may work from another machine'")
_XSS_WRONG = {
    "a": "localStorage is readable by every script in the origin: the table's first row sent both tokens to "
         "the attacker, and the refresh token kept the thief logged in for its whole life",
    "b": "the script cannot read the refresh cookie, but it can call the refresh endpoint — the cookie rides "
         "along — and read the brand-new access token from the answer: the thief uses it for its 15 minutes",
    "d": "sessionStorage is as readable by script as localStorage, and a CSP is defence in depth that the "
         "section below shows being bypassed: it does not keep a token out of a script's hands",
}


def xss_choice() -> str:
    """A backend-for-frontend: the browser holds a session cookie, the JWTs never reach the page."""
    return "c"


def _check_xss_choice(fn) -> None:
    from authkit.web.bff import create_bff_app  # what "c" is, in authkit

    assert callable(create_bff_app)
    expect_choice(fn(), "c", _XSS_WRONG, _XSS_THREAT)


register(
    "xss_choice",
    checker=_check_xss_choice,
    hints=(
        "Look at the table's last column: which design left the thief, on another machine, with nothing?",
        "Any token a page's script can obtain — by reading storage or by asking an endpoint — an injected "
        "script can obtain too.",
    ),
    reference=xss_choice,
    solution='def xss_choice():\n    return "c"',
)
