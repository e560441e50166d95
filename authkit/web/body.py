"""Read a request's JSON body without ever turning bad input into a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import request

MAX_BODY_BYTES = 64 * 1024  # a login or transfer form is a few hundred bytes


def json_object() -> dict[str, Any] | None:
    """The body as a JSON object, or None for anything else.

    None covers a missing or non-JSON content type, an oversized body, bad UTF-8, bad JSON, a
    non-object, and JSON nested so deep that the parser gives up (``[[[[…``: a RecursionError
    that Flask's own ``get_json(silent=True)`` lets through as a 500).
    """
    if not request.is_json or (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:
        return None
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None
