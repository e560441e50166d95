"""Recover a guessable HMAC secret from one HS256 token with a word list: what no weak-key guard can stop.

One token is all an attacker needs: its signing input and signature are public, so each guess costs
one HMAC, offline, with no one watching. A secret derived from a word (its SHA-256, say) looks random
to ``secret_weakness`` and falls here; a key from ``SigningKey.generate`` does not.
"""

from __future__ import annotations

import hmac
from typing import Callable, Iterable, NamedTuple

from authkit.tokens.jwk import b64url_decode


class Cracked(NamedTuple):
    """The word that gave the secret, the secret itself, and how many words were tried."""

    word: bytes
    secret: bytes
    tries: int


def crack_hs256(token: str, words: Iterable[bytes], *,
                derive: Callable[[bytes], bytes] | None = None) -> Cracked | None:
    """The first word whose secret (``derive(word)``, or the word itself) signs ``token``; None if none does."""
    signing_input, _, signature = token.rpartition(".")
    message, expected = signing_input.encode("ascii"), b64url_decode(signature)
    for tries, word in enumerate(words, start=1):
        secret = derive(word) if derive else word
        if hmac.compare_digest(hmac.digest(secret, message, "sha256"), expected):
            return Cracked(word, secret, tries)
    return None
