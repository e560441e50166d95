"""Exercises of notebook 09 (the login itself): one-time codes by hand, reset links, phishing resistance."""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Any

from authkit.course.exercise import Incorrect, expect, register

# RFC 4226 Appendix D: the secret "12345678901234567890" and the HOTP values for counters 0 to 9.
RFC4226_SECRET = b"12345678901234567890"
RFC4226_VALUES = ("755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
                  "520489")
# RFC 6238 Appendix B, the SHA-1 rows: Unix time and the 8-digit TOTP (30-second steps from 0).
RFC6238_SHA1 = ((59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
                (2000000000, "69279037"), (20000000000, "65353130"))


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """RFC 4226: HMAC-SHA-1 of the 8-byte counter, dynamic truncation, the last ``digits`` decimal digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def _check_hotp(fn) -> None:
    for counter, value in enumerate(RFC4226_VALUES):
        expect(fn(RFC4226_SECRET, counter), value, f"hotp({RFC4226_SECRET!r}, {counter}) (RFC 4226 Appendix D)")
    for t, value in RFC6238_SHA1:
        expect(fn(RFC4226_SECRET, t // 30, 8), value,
               f"hotp({RFC4226_SECRET!r}, {t // 30}, 8) (RFC 6238 Appendix B, T={t})")


register(
    "hotp",
    checker=_check_hotp,
    hints=(
        "The message is the counter as 8 bytes, big-endian: struct.pack('>Q', counter). HMAC it with SHA-1.",
        "Dynamic truncation: offset = last byte & 0x0F; take 4 bytes from there as a big-endian integer and "
        "clear the top bit (& 0x7FFFFFFF).",
        "Keep the last `digits` decimal digits (number % 10**digits) and pad with leading zeros: zfill.",
    ),
    reference=hotp,
)


class _Recording:
    """A Redis client stand-in over a dict: it runs GET, DEL, GETDEL and SET and remembers each command."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data, self.commands = data, []

    def get(self, key: str) -> str | None:
        self.commands.append("GET")
        return self.data.get(key)

    def delete(self, *keys: str) -> int:
        self.commands.append("DEL")
        return sum(self.data.pop(key, None) is not None for key in keys)

    def getdel(self, key: str) -> str | None:
        self.commands.append("GETDEL")
        return self.data.pop(key, None)

    def __repr__(self) -> str:
        return f"<Redis holding {self.data!r}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise Incorrect(f"expected one atomic command; {name.upper()} is not one this check knows")


def confirm_reset(client: Any, token_hash: str) -> str | None:
    """Spend the reset token stored under ``reset:<token_hash>``: its user the first time, None after."""
    return client.getdel(f"reset:{token_hash}")


def _check_confirm_reset(fn) -> None:
    client = _Recording({"reset:abc": "u-alice", "reset:def": "u-bob"})
    for token, expected, when in (("abc", "u-alice", "the first confirmation"), ("abc", None, "a second one"),
                                  ("zzz", None, "an unknown token")):
        given = f"confirm_reset({client!r}, {token!r}), {when}"
        expect(fn(client, token), expected, given)
    if "GET" in client.commands and "DEL" in client.commands:
        raise Incorrect("expected one command that reads and deletes: GET then DEL is two steps, so two "
                        "confirmations sent at once can both GET the user before either deletes, and the link "
                        "works twice")
    if client.data != {"reset:def": "u-bob"}:
        raise Incorrect(f"expected only the spent token to go: left {client.data!r}, expected {{'reset:def': 'u-bob'}}")


register(
    "confirm_reset",
    checker=_check_confirm_reset,
    hints=(
        "Run two confirmations in your head at the same moment: both GET before either DEL. What do they get?",
        "Redis has a command that returns a key's value and deletes it in one step, since version 6.2.",
        "return client.getdel(f\"reset:{token_hash}\")",
    ),
    reference=confirm_reset,
)


def replay_outcomes() -> dict[str, str]:
    """What ``TotpVerifier`` answers after the code of step t was accepted at step t (one step of window)."""
    return {"the same code again": "replayed", "the code of step t-1": "replayed",
            "the code of step t+1": "accepted", "the code of step t+2": "wrong_code"}


def _check_replay_outcomes(fn) -> None:
    got = fn()
    if not isinstance(got, dict) or set(got) != set(replay_outcomes()):
        raise Incorrect(f"expected a dict with exactly the keys {sorted(replay_outcomes())}, got {got!r}")
    why = {
        "the same code again": "RFC 6238 §5.2: a code accepted once is refused after, even inside its 30 seconds",
        "the code of step t-1": "authkit remembers the last step spent, and refuses every step at or before it",
        "the code of step t+1": "inside the window of one step, and later than the last step spent",
        "the code of step t+2": "two steps ahead is outside the window of one step: not a code for now at all",
    }
    for situation, expected in replay_outcomes().items():
        if got.get(situation) != expected:
            raise Incorrect(f"expected {expected!r} for {situation!r}, got {got.get(situation)!r}: {why[situation]}")


register(
    "replay_outcomes",
    checker=_check_replay_outcomes,
    hints=(
        "Three answers are possible: accepted, replayed, wrong_code. The window is one step either side.",
        "What Redis keeps is the last step spent, not the code: a step at or before it is a replay.",
    ),
    reference=replay_outcomes,
)

#: Each factor, and whether it stops a real-time phishing proxy, with the reason the check gives.
PHISHING = {
    "password": (False, "the proxy types it into the real site as soon as the user types it into the fake one"),
    "sms code": (False, "a code is a code: the proxy relays it within its lifetime"),
    "totp code": (False, "relayed within its 30 seconds like any code; replay protection does not help, the "
                         "proxy uses it first"),
    "recovery code": (False, "one more code the proxy can relay"),
    "push approval": (False, "the user approves the proxy's own login attempt"),
    "passkey": (True, "the browser signs over the origin it is really on, and only offers the credential to "
                      "its RP ID: the fake site gets nothing the real one accepts"),
}


def stops_realtime_phishing(factor: str) -> bool:
    """Whether ``factor`` stops a proxy that sits between the user and the real site and relays everything."""
    return PHISHING[factor][0]


def _check_stops_realtime_phishing(fn) -> None:
    for factor, (expected, reason) in PHISHING.items():
        got = fn(factor)
        if got is not expected:
            raise Incorrect(f"expected {expected} for {factor!r}, got {got!r}: {reason}")


register(
    "stops_realtime_phishing",
    checker=_check_stops_realtime_phishing,
    hints=(
        "Ask of each factor: is what the user hands over usable by someone else, on another site, right now?",
        "Only one of them binds its answer to the origin of the page: the browser puts the origin in what is "
        "signed.",
    ),
    reference=stops_realtime_phishing,
)


def reset_page_headers() -> dict[str, str]:
    """The headers of the page a reset link opens: its token must never leave in a Referer or stay in a cache."""
    return {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _check_reset_page_headers(fn) -> None:
    got = fn()
    if not isinstance(got, dict) or not all(isinstance(x, str) for pair in got.items() for x in pair):
        raise Incorrect(f"expected a dict of header name -> value, all text, got {got!r}")
    lowered = {str(k).lower(): str(v).strip().lower() for k, v in got.items()}
    if lowered.get("referrer-policy") != "no-referrer":
        raise Incorrect("expected Referrer-Policy: no-referrer for the reset page: with the token in the URL, any "
                        f"link, image or script the page loads would send it in Referer (got {got!r})")
    if "no-store" not in lowered.get("cache-control", ""):
        raise Incorrect("expected Cache-Control: no-store: a shared or back-button cache must not keep the page "
                        f"that carries the token (got {got!r})")


register(
    "reset_page_headers",
    checker=_check_reset_page_headers,
    hints=(
        "The token is in the page's URL. Which header stops the browser from sending that URL to other sites?",
        "And which one keeps the page out of every cache?",
    ),
    reference=reset_page_headers,
)
