"""Headless Chromium for the browser lab, driven by Playwright on a thread of its own.

Playwright's synchronous API refuses to run where an asyncio loop is running — and a Jupyter
kernel runs one. So the browser lives on a dedicated thread, and every Playwright object handed
out here is a proxy whose calls are carried out on that thread: notebooks, exercise checks and
tests all drive it with plain synchronous calls.

The browser is Debian's ``chromium`` (``apt-get install chromium``) unless ``AUTHKIT_CHROMIUM``
names another binary; a browser fetched with ``python -m playwright install chromium`` is the
fallback. It trusts the lab's throwaway certificates one key at a time (``spki_pin``), nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import queue
import ssl
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from authkit.errors import BrowserMissing

ENV_VAR = "AUTHKIT_CHROMIUM"
INSTALL_HINT = "apt-get install chromium (or, where the network allows, python -m playwright install chromium)"

#: What this machine needs on top of Playwright's own switches: no GPU, no calls home, no first-run UI.
FLAGS = ("--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", "--short-reporting-delay")  # Reporting API reports in under a second, not a minute


def find_chromium() -> str | None:
    """The Chromium binary to launch, or None for the one ``playwright install`` fetched (if any).

    Raises ``BrowserMissing`` naming the install command when there is neither.
    """
    named = os.environ.get(ENV_VAR)
    if named:
        if not Path(named).is_file():
            raise BrowserMissing(message=f"{ENV_VAR}={named} is not a file; {INSTALL_HINT}")
        return named
    system = shutil.which("chromium") or shutil.which("chromium-browser")
    if system:
        return system
    if _playwright_download() is not None:
        return None
    raise BrowserMissing(message=f"no Chromium found for the browser lab: {INSTALL_HINT}")


def _playwright_download() -> Path | None:
    """The newest Chromium that ``python -m playwright install chromium`` left on this machine."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    found = sorted(root.glob("chromium-*/chrome-linux*/chrome"))
    return found[-1] if found else None


def launch_options(pins: Iterable[str] = (), executable: str | None = None) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch``: headless, this machine's flags, the pinned keys."""
    args = list(FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox cannot start as root
    pins = list(pins)
    if pins:
        args.append("--ignore-certificate-errors-spki-list=" + ",".join(pins))
    options: dict[str, Any] = {"headless": True, "args": args}
    if executable:
        options["executable_path"] = executable
    return options


def spki_pin(url: str) -> str:
    """The base64 SHA-256 of the public key that the HTTPS server at ``url`` presents (its SPKI pin)."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # we read the key; we trust nothing yet
    pem = ssl.get_server_certificate((parts.hostname or "127.0.0.1", parts.port or 443), timeout=5)
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Chromium:
    """Playwright and Chromium on their own thread; ``profile()`` opens a fresh, isolated browser profile.

    Chromium is launched once per cookie setting, each with its own new user-data dir; every profile
    is a new browser context of it — no cookies, no storage, no history — that costs milliseconds.
    """

    def __init__(self, *, pins: Iterable[str] = ()) -> None:
        self.executable = find_chromium()
        self.pins = list(pins)
        self._jobs: queue.Queue[tuple[Future[Any], Callable[[], Any]] | None] = queue.Queue()
        threading.Thread(target=self._work, name="authkit-chromium", daemon=True).start()
        self._playwright = self._call(self._start)
        self._launched: dict[bool, tuple[Any, str]] = {}  # third-party cookies allowed? -> (browser, user-data dir)

    def _start(self) -> Any:
        from playwright.sync_api import sync_playwright

        return sync_playwright().start()

    def _work(self) -> None:
        """The browser's thread: run each job in turn until ``close`` sends None."""
        while (job := self._jobs.get()) is not None:
            future, fn = job
            try:
                future.set_result(fn())
            except BaseException as err:  # handed to the caller, re-raised there
                future.set_exception(err)

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the browser's thread and return its result (or raise its exception) here."""
        future: Future[Any] = Future()
        self._jobs.put((future, lambda: fn(*args, **kwargs)))
        return future.result()

    def profile(self, *, third_party_cookies: bool = False) -> Profile:
        """A fresh profile: one victim, with nothing in the cookie jar, storage or history.

        ``third_party_cookies`` sets the cookie controls: blocked (what this Chromium does for a new
        profile) or allowed (what many users have).
        """
        context = self._call(lambda: self._browser(third_party_cookies).new_context())
        return Profile(OnThread(context, self._call))

    def _browser(self, third_party_cookies: bool) -> Any:
        """The Chromium launched with these cookie controls (on the browser's thread), launching it if needed."""
        if third_party_cookies not in self._launched:
            folder = tempfile.mkdtemp(prefix="authkit-chromium-")
            preferences = Path(folder) / "Default" / "Preferences"
            preferences.parent.mkdir()
            mode = 0 if third_party_cookies else 1  # Chromium's CookieControlsMode: 0 off, 1 block third-party
            preferences.write_text(json.dumps({"profile": {"cookie_controls_mode": mode}}))
            options = launch_options(self.pins, self.executable)
            context = self._playwright.chromium.launch_persistent_context(folder, **options)
            self._launched[third_party_cookies] = (context, folder)
        return self._launched[third_party_cookies][0].browser

    def close(self) -> None:
        """Close every browser, delete their user-data dirs, stop Playwright and its thread."""
        for context, folder in self._launched.values():
            self._call(context.close)
            shutil.rmtree(folder, ignore_errors=True)
        self._call(self._playwright.stop)
        self._jobs.put(None)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Profile:
    """One victim's browser: open pages, read its cookie jar, close it."""

    def __init__(self, context: OnThread) -> None:
        self.context = context

    def new_page(self) -> Any:
        """A new tab (a Playwright ``Page``, driven from any thread)."""
        return self.context.new_page()

    def cookies(self) -> list[dict[str, Any]]:
        """Every cookie in the jar, as Playwright reports them."""
        return self.context.cookies()

    def close(self) -> None:
        """Close its pages and forget everything it stored."""
        self.context.close()

    def __enter__(self) -> Profile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class OnThread:
    """A Playwright object whose attributes and methods are used on the browser's thread."""

    def __init__(self, target: Any, call: Callable[..., Any]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_on_thread", call)

    def _wrap(self, value: Any) -> Any:
        if type(value).__module__.startswith("playwright.sync_api"):  # a Page, a Locator, a Response...
            return OnThread(value, self._on_thread)
        if isinstance(value, list):
            return [self._wrap(item) for item in value]
        return value

    def __getattr__(self, name: str) -> Any:
        value = self._on_thread(getattr, self._target, name)
        if callable(value) and not isinstance(value, type):
            return lambda *args, **kwargs: self._wrap(self._on_thread(value, *args, **kwargs))
        return self._wrap(value)

    def __repr__(self) -> str:
        return f"<{type(self._target).__name__} on the browser thread>"
