"""Server-side sessions and API tokens. The browser's cookie holds a random token; the table holds only its
sha256, so a copy of the database does not log anyone in. A session expires (absolute TTL) and logout deletes it.
API tokens (`edge server token create USER`) are the same idea for scripts: sha256 stored, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from edge.central.web.accounts import Accounts, User
from edge.central.web.db import WebDb

TOKEN_PREFIX = "edge_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: User
    csrf: str
    expires_at: float


class Sessions:
    def __init__(self, db: WebDb, accounts: Accounts, ttl_s: float = 12 * 3600) -> None:
        self.db = db
        self.accounts = accounts
        self.ttl_s = ttl_s

    def create(self, user: User, ip: str | None, now: float | None = None) -> tuple[str, Session]:
        """A new session for `user`: (the cookie value, the session)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        t = time.time() if now is None else now
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM web_sessions WHERE expires_at < ?", (t,))
            tx.execute(
                "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at, ip) VALUES (?,?,?,?,?,?)",
                (digest(token), user.id, csrf, t, t + self.ttl_s, ip),
            )
        return token, Session(digest(token), user, csrf, t + self.ttl_s)

    def get(self, token: str | None, now: float | None = None) -> Session | None:
        """The live session for a cookie value; None when unknown, expired, or its user is disabled."""
        if not token or len(token) > 200:
            return None
        t = time.time() if now is None else now
        row = self.db.one(
            "SELECT s.token_hash, s.csrf, s.expires_at, s.user_id FROM web_sessions s WHERE s.token_hash = ?",
            (digest(token),),
        )
        if row is None or float(row["expires_at"]) <= t:
            return None
        user = self.accounts.by_id(int(row["user_id"]))
        if user is None or user.disabled:
            return None
        return Session(str(row["token_hash"]), user, str(row["csrf"]), float(row["expires_at"]))

    def delete(self, token: str | None) -> None:
        if token:
            self.db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (digest(token),))


class ApiTokens:
    def __init__(self, db: WebDb, accounts: Accounts) -> None:
        self.db = db
        self.accounts = accounts

    def create(self, username: str, name: str = "api") -> str:
        """A new token for `username`, shown once (only its sha256 is kept)."""
        user = self.accounts.get(username)
        if user is None:
            raise ValueError(f"no user {username!r}")
        if user.disabled:
            raise ValueError(f"user {username!r} is disabled")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO web_api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (user.id, name, digest(token), time.time()),
        )
        return token

    def revoke(self, token_or_prefix: str) -> int:
        """Revoke a token given in full (or by the first 16 hex of its sha256, as `token list` shows)."""
        key = digest(token_or_prefix) if token_or_prefix.startswith(TOKEN_PREFIX) else token_or_prefix
        if len(key) < 16:
            raise ValueError("give the token, or at least 16 characters of its id")
        return self.db.execute(
            "UPDATE web_api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND token_hash LIKE ?",
            (time.time(), key.replace("%", "").replace("_", "") + "%"),
        )

    def user_for(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self.db.one(
            "SELECT user_id, last_used_at FROM web_api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (digest(token),),
        )
        if row is None:
            return None
        user = self.accounts.by_id(int(row["user_id"]))
        if user is None or user.disabled:
            return None
        now = time.time()
        if row["last_used_at"] is None or now - float(row["last_used_at"]) > 60:
            self.db.execute("UPDATE web_api_tokens SET last_used_at = ? WHERE token_hash = ?", (now, digest(token)))
        return user

    def list(self) -> list[dict[str, object]]:
        return self.db.query(
            "SELECT substr(t.token_hash, 1, 16) AS id, u.username, t.name, t.created_at, t.last_used_at, t.revoked_at "
            "FROM web_api_tokens t JOIN web_users u ON u.id = t.user_id ORDER BY t.id"
        )
