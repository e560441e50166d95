"""The weak-HMAC-secret guard: what a secret's bytes give away, whatever bytes they are.

A secret is judged as bytes first (a repeated pattern, a counter, one byte filling it, too few distinct
values), then as text wherever text shows: not only when every byte is printable, but when more of its
bytes fall in a text alphabet than chance allows (``b"\\x01my-super-secret-key-for-jwt-2026"`` is 32
characters of a 43-symbol alphabet behind one control byte). Each pattern is taken as evidence only when
a random draw would show it with odds below ``EVIDENCE``, so ``secrets.token_bytes(32)`` is refused with
odds below 1e-12 per draw (a draw that happens to look like text, then holds fewer than 256 bits as text).
"""

from __future__ import annotations

import math
import string
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

MIN_HMAC_BYTES = 32  # 256 bits: RFC 7518 §3.2 wants a key at least as long as the hash output
MAX_PERIOD = 64  # the longest repeated pattern the guard looks for
#: Odds below which a pattern in a secret's bytes counts as evidence rather than chance (about 9e-13).
EVIDENCE = 2.0**-40
WHITESPACE = frozenset(" \t\n\r")
# Text alphabets, smallest first: a text secret can hold at most log2(size) bits per character.
TEXT_ALPHABETS = (
    ("decimal digits", frozenset(string.digits), 10),
    ("hex digits", frozenset("0123456789abcdef"), 16),
    ("hex digits", frozenset("0123456789ABCDEF"), 16),
    ("lowercase letters", frozenset(string.ascii_lowercase), 26),
    ("uppercase letters", frozenset(string.ascii_uppercase), 26),
    ("lowercase letters and digits", frozenset(string.ascii_lowercase + string.digits), 36),
    ("uppercase letters and digits", frozenset(string.ascii_uppercase + string.digits), 36),
    ("lowercase letters, digits and -_.", frozenset(string.ascii_lowercase + string.digits + "-_."), 39),
    ("base64 characters", frozenset(string.ascii_letters + string.digits + "-_+/="), 64),
    ("letters, digits and -_.", frozenset(string.ascii_letters + string.digits + "-_."), 65),
    ("printable characters", frozenset(string.printable[:94]), 94),
)


@lru_cache(maxsize=4096)
def _tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the odds that k or more of n random bytes fall in a set of odds p."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def _period(values: bytes | list[int]) -> int | None:
    """The shortest p (up to ``MAX_PERIOD``, at most half the length) with values[i] == values[i + p]."""
    n = len(values)
    return next((p for p in range(1, min(n // 2, MAX_PERIOD) + 1) if values[p:] == values[:-p]), None)


def _byte_pattern(secret: bytes, size: int) -> str | None:
    """A pattern in the bytes themselves: repeated, counting, or one of ``size`` values filling more than chance."""
    n = len(secret)
    period = _period(secret)
    if period is not None:
        return f"the secret repeats a {period}-byte pattern"
    steps = [(secret[i + 1] - secret[i]) % 256 for i in range(n - 1)]
    if _period(steps) is not None:
        return "the secret's bytes step by a repeating pattern (a counter or a sequence, not a random draw)"
    value, count = Counter(secret).most_common(1)[0]
    if size * _tail(n, count, 1 / size) < EVIDENCE:
        return f"byte 0x{value:02x} fills {count} of the secret's {n} bytes"
    return None


class _Reading(NamedTuple):
    """``secret`` read as text in one alphabet: its characters, the bytes outside it, and what that costs."""

    name: str
    size: int
    text: str  # the characters in the alphabet (and whitespace), in order
    others: int  # bytes outside the alphabet
    code_bits: float  # an honest code length for the whole secret under this reading
    bits: float  # at most this much entropy: log2(size) a character, 8 bits another byte


@lru_cache(maxsize=65536)
def _code_bits(n: int, others: int, letters: int, ends: bool) -> float:
    """Bits to write n bytes as text in ``letters`` characters with ``others`` bytes outside them.

    Which reading, whether it has whitespace, whether there are others; if so how many (an Elias gamma
    code), where they stand (any positions, or split between the two ends: one bit says which) and each
    of them; then each character.
    """
    bits = math.log2(len(TEXT_ALPHABETS)) + 1 + 1 + (n - others) * math.log2(letters)
    if others:
        anywhere = math.log2(math.comb(n, others))
        where = min(anywhere, 2 * math.log2(others + 1)) if ends else anywhere
        bits += 2 * math.log2(others + 1) + 1 + where + others * math.log2(256 - letters)
    return bits


#: Per alphabet, a translation table marking each byte 1 (a character of it, or whitespace) or 0.
_MARKS = {alphabet: bytes(0x31 if chr(byte) in alphabet or chr(byte) in WHITESPACE else 0x30 for byte in range(256))
          for _, alphabet, _ in TEXT_ALPHABETS}
_SPACES = bytes(0x31 if chr(byte) in WHITESPACE else 0x30 for byte in range(256))


def _read(secret: bytes, name: str, alphabet: frozenset[str], size: int) -> _Reading:
    n = len(secret)
    marks = secret.translate(_MARKS[alphabet])
    others = marks.count(b"0")
    kept = bytes(byte for byte, mark in zip(secret, marks) if mark == 0x31) if others else secret
    text = kept.decode("ascii")
    spaced = b"1" in kept.translate(_SPACES)
    code_bits = _code_bits(n, others, size + len(WHITESPACE) * spaced, b"0" not in marks.strip(b"0"))
    symbols = len(text.strip().rstrip("=")) if size == 64 else len(text.strip())
    return _Reading(name, size, text, others, code_bits, symbols * math.log2(size) + others * 8)


def _text_weakness(secret: bytes) -> tuple[str | None, _Reading | None]:
    """Why the text in ``secret`` is weak, and the reading that shows the text; ``(None, None)`` if it shows none.

    Each alphabet is a way to write the secret down: its characters at log2(size) bits, the other bytes and
    where they stand at their own cost. A random draw of n bytes takes 8n bits however it is written, and the
    odds that any reading writes it in 40 bits fewer are below 2**-40 (a prefix code's Kraft inequality). So
    a reading that short is evidence of text; the text is then weak when it has whitespace inside (a
    passphrase: RFC 8725 §3.5, a human-memorizable password is never used directly as a MAC key) or when
    the reading holds fewer than 256 bits.
    """
    n = len(secret)
    readings = [_read(secret, *alphabet) for alphabet in TEXT_ALPHABETS]
    best = min(readings, key=lambda reading: reading.code_bits)
    if best.code_bits > 8 * n + math.log2(EVIDENCE):
        return None, None
    whole = next((reading for reading in readings if not reading.others), None)  # the text's smallest alphabet
    if whole is not None and whole.code_bits <= 8 * n + math.log2(EVIDENCE):
        best = whole if whole.code_bits < 256 or best.code_bits >= 256 else best
    if any(char in WHITESPACE for char in best.text.strip()):  # whitespace at the ends (a file's newline) is not
        return "the secret is text with spaces: a passphrase, not key material", best
    if best.code_bits < 256:
        symbols = len(best.text.strip().rstrip("=")) if best.size == 64 else len(best.text.strip())
        besides = f" and {best.others} other byte{'s' if best.others > 1 else ''}" if best.others else ""
        return f"{symbols} {best.name}{besides} hold at most {best.bits:.0f} bits; at least 256 required", best
    return None, best


def secret_weakness(secret: bytes) -> str | None:
    """Why ``secret`` is too weak for an HMAC key, or None if nothing in its bytes gives it away.

    It refuses what the bytes themselves show: fewer than 32 bytes (RFC 7518 §3.2); a short pattern
    repeated (``bytes(32)``, ``b"a" * 32``, a 16-byte key written twice) or a counter (``bytes(range(32))``);
    one byte value filling more of it than chance allows (a key padded with zeros); text, wherever it shows
    (see ``_text_weakness``), that holds fewer than 256 bits or has spaces in it (a passphrase); fewer
    distinct symbols than half what a random draw of that length shows. The odds that it refuses
    ``secrets.token_bytes(32)`` are below 1e-12 per draw.

    It cannot see a secret derived from a guessable word: the SHA-256 of "password" looks random and
    falls to a word list (``authkit.tokens.cracking``). Only ``SigningKey.generate`` makes a key nobody can guess.
    """
    n = len(secret)
    if n < MIN_HMAC_BYTES:
        return f"HMAC secret has {n * 8} bits; at least 256 required"
    weakness, reading = _text_weakness(secret)
    all_text = reading is not None and not reading.others
    size = reading.size if reading is not None and all_text else 256
    weakness = _byte_pattern(secret, size) or weakness
    if weakness:
        return weakness
    symbols = len(secret.strip().rstrip(b"=")) if size == 64 else n
    expected = size * (1 - (1 - 1 / size) ** symbols)
    if len(set(secret)) < expected / 2:
        distinct = len(set(secret))
        return f"the secret has {distinct} distinct symbols; a random one of its length has about {expected:.0f}"
    return None
