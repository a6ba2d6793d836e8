"""CSRF: every form carries the session's token (a hidden `csrf_token` field, or the `X-CSRF-Token` header for
scripts running in the page); a POST without the matching token is refused. The login form, which has no session
yet, uses a double-submit cookie instead. SameSite=Lax cookies already stop most cross-site POSTs; the token also
covers browsers and proxies that do not honour it."""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "edge_login_csrf"


def matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)
