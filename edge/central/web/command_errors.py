"""A failed gate command in the office's words: the result's `error_code` and `error_fields` (the gateway's, or the
centre's own when no answer came: edge/gateway/remote_commands.py) looked up as gates.error.<code> in the catalogs.

Why codes and not the gateway's sentence: the gateway speaks English to its logs and the CLI and knows nothing of
the school's language; the centre has the catalogs. A gateway older than the codes sends only `error`, and a code
this centre does not know (a newer gateway) or fields that do not fill its message fall back to that sentence —
English beats saying nothing about why a gate did not open."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from edge.central import catalogs

CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_FIELD = 200
"""Characters kept of one field: the words are for a person reading a line on the Gates page."""


def error_words(result: Mapping[str, Any], lang: str) -> str:
    """Why the command failed, in `lang` when the code is known; else the result's own `error` text."""
    raw = str(result.get("error") or "")
    code = result.get("error_code")
    fields = result.get("error_fields")
    if not isinstance(code, str) or not CODE.match(code):
        return raw
    key = f"gates.error.{code}"
    words = catalogs.text(lang, key)
    if words == key:  # a code of a newer gateway
        return raw
    values = {str(k): str(v)[:MAX_FIELD] for k, v in fields.items()} if isinstance(fields, Mapping) else {}
    if "statuses" in values:  # gate_failed: the controller's status codes, each in words when known
        values["statuses"] = ", ".join(_status(lang, s.strip()) for s in values["statuses"].split(","))
    try:
        return words.format(**values)
    except (KeyError, IndexError, ValueError):  # fields that do not fill the message
        return raw


def _status(lang: str, status: str) -> str:
    """A gate controller's status code (firmware_bridge.controller.CommandResult) in words; an unknown one as is."""
    key = f"gates.gate_status.{status}"
    words = catalogs.text(lang, key)
    return status if words == key else words
