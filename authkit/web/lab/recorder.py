"""What a lab server saw: every request, with the cookies and headers a browser sent, and the status answered."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Hit:
    """One request as the server received it."""

    site: str
    method: str
    path: str
    query: dict[str, str]
    cookies: tuple[tuple[str, str], ...]  # in the order the browser sent them, duplicates kept
    origin: str | None
    fetch_site: str | None  # the Sec-Fetch-Site header: same-origin, same-site, cross-site or none
    authorization: bool
    status: int

    def cookie_names(self) -> list[str]:
        """The names of the cookies received, in order."""
        return [name for name, _ in self.cookies]


class Recorder:
    """WSGI middleware that records each request to ``app``; ``wait_for`` blocks until a hit arrives."""

    def __init__(self, app: Any, site: str) -> None:
        self.app, self.site = app, site
        self.hits: list[Hit] = []
        self._changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answered: list[int] = []

        def recording_start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answered.append(int(status.split()[0]))
            return start_response(status, headers, *exc_info)

        body = self.app(environ, recording_start_response)
        self._record(environ, answered[0] if answered else 0)
        return body

    def _record(self, environ: dict[str, Any], status: int) -> None:
        raw = environ.get("HTTP_COOKIE", "")
        cookies = tuple((name.strip(), value.strip()) for name, _, value in
                        (pair.partition("=") for pair in raw.split(";") if pair.strip()))
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        hit = Hit(self.site, environ["REQUEST_METHOD"],
                  environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), query, cookies,
                  environ.get("HTTP_ORIGIN"), environ.get("HTTP_SEC_FETCH_SITE"),
                  "HTTP_AUTHORIZATION" in environ, status)
        with self._changed:
            self.hits.append(hit)
            self._changed.notify_all()

    def wait_for(self, match: Callable[[Hit], bool], what: str, *, since: int = 0,
                 timeout: float = WAIT_SECONDS) -> Hit:
        """The first hit from index ``since`` on that ``match`` accepts, waiting for it; else TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((hit for hit in self.hits[since:] if match(hit)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.site} never received {what} within {timeout:g} s")
                self._changed.wait(left)

    def find(self, match: Callable[[Hit], bool]) -> list[Hit]:
        """Every hit so far that ``match`` accepts."""
        with self._changed:
            return [hit for hit in self.hits if match(hit)]

    def clear(self) -> None:
        """Forget every hit."""
        with self._changed:
            self.hits.clear()

