"""Security events as structured JSON lines through ``logging`` (logger ``authkit.events``), for alerting.

One event per line: ``{"event": "login_failed", "user_id": "u_…", "client": "203.0.113.7", ...}``.
Only fields named in ``ALLOWED_FIELDS`` are written, and each value is a number, a boolean or a short
string that passes ``_safe``: a token, password or session ID can never reach a line, whatever a
caller passes (ASVS 5.0 V16: no credential in logs). An operator alerts on ``event``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

logger = logging.getLogger("authkit.events")

#: The events authkit emits; an unknown name is a bug, refused rather than logged.
EVENTS = (
    "login_succeeded", "login_failed", "login_throttled", "login_busy",
    "refresh_reuse", "revoked", "sessions_ended",
    "account_created", "account_changed", "account_disabled", "account_enabled", "account_deleted",
    "password_changed", "password_rehashed", "durability_purge",
)
#: The fields a line may carry; anything else is dropped.
ALLOWED_FIELDS = ("user_id", "client", "reason", "count", "retry_after", "service", "family", "roles", "scheme",
                  "purged", "store")
_SHORT = re.compile(r"[A-Za-z0-9_.:@+/ -]{0,80}")
# a run longer than a user ID (34 characters) may be a secret: a token's segment, a session ID's random part
_SECRET_LIKE = re.compile(r"[A-Za-z0-9_-]{36,}")


def _safe(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, int) and abs(value) < 1 << 53:
        return value
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value[:16]]
    text = str(value)
    if not _SHORT.fullmatch(text) or _SECRET_LIKE.search(text):
        return "[redacted]"
    return text


def emit(event: str, level: int = logging.INFO, **fields: Any) -> dict[str, Any]:
    """Log one security event as a JSON line; return what was written (for tests and notebooks)."""
    if event not in EVENTS:
        raise ValueError(f"unknown security event {event!r}; expected one of {EVENTS}")
    record = {"event": event} | {name: _safe(value) for name, value in fields.items()
                                  if name in ALLOWED_FIELDS and value is not None}
    logger.log(level, "%s", json.dumps(record, sort_keys=False, separators=(",", ":")))
    return record
