"""Rules for a new password, per NIST SP 800-63B-4: length, not composition, and a blocklist.

At least 15 characters when the password is the only factor, 8 with a second factor; at least 64
(here 1024) allowed; any Unicode, normalised with NFKC before counting and hashing; no rule asking
for digits or symbols. A password on the blocklist is refused: the 30,000 most common passwords
bundled with ``zxcvbn`` (no request leaves the machine), and anything ``zxcvbn`` guesses in fewer
than ``MIN_GUESSES`` tries given the context (the user name, the service's name).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from authkit.errors import AccountError
from authkit.login.hashing import MAX_PASSWORD_CHARS

SINGLE_FACTOR_MIN, WITH_MFA_MIN = 15, 8
#: Fewer estimated guesses than this is "commonly used or expected" (zxcvbn's score 3 starts at 10**8).
MIN_GUESSES = 10**8
CONTEXT = ("authkit",)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_new_password(password: str, *, mfa: bool = False, context: Sequence[str] = ()) -> str:
    """The password, NFKC-normalised, if it may be set; ``AccountError("weak_password")`` naming the rule otherwise."""
    if not isinstance(password, str):
        raise AccountError("weak_password", "a password is text")
    normal = unicodedata.normalize("NFKC", password)
    least = WITH_MFA_MIN if mfa else SINGLE_FACTOR_MIN
    if len(normal) < least:
        raise AccountError("weak_password", f"at least {least} characters" + ("" if mfa else " without a second factor"))
    if len(normal) > MAX_PASSWORD_CHARS:
        raise AccountError("weak_password", f"at most {MAX_PASSWORD_CHARS} characters")
    if normal.lower() in _common():
        raise AccountError("weak_password", "this password is on the list of common passwords")
    # zxcvbn judges at most 72 characters (its cost grows with length); a longer one is judged by its start
    guesses = zxcvbn(normal[:72], user_inputs=[*CONTEXT, *context])["guesses"]
    if float(guesses) < MIN_GUESSES:
        raise AccountError("weak_password", "too easy to guess (a common word, pattern or the user name)")
    return normal
