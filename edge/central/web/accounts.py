"""Staff accounts: who may log in, with which role, for which classes. Passwords are argon2id hashes
(argon2-cffi's PasswordHasher; its parameters are encoded in each hash, so raising them later re-hashes on the
next login instead of locking anyone out).

Roles: admin (everything, users), office (all classes, imports, exports), teacher (own classes only, stored per
user), guard (the live gate view and opening the gate).

LEAST_PRIVILEGE is what an account gets when nobody says otherwise: a teacher with no classes. It can log in and
sees no pupil, no card and no gate control until an admin gives it classes or another role; a guard, the other
candidate, opens gates — a physical privilege, not a default."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from edge.central.web.db import WebDb, WebTx

if TYPE_CHECKING:
    # argon2 is imported where a password is hashed: `edge` builds its whole command line from this module's ROLES
    # (edge/central/web/commands.py), also on a gateway, whose install has no argon2 (the centre group's).
    from argon2 import PasswordHasher

Role = Literal["admin", "office", "teacher", "guard"]
ROLES: tuple[Role, ...] = ("admin", "office", "teacher", "guard")
LEAST_PRIVILEGE: Role = "teacher"
"""The default role (with no classes): see the module docstring."""
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
CLASS_NAME = re.compile(r"^[^\x00-\x1f/<>]{1,32}$")

_DUMMY_HASH_PASSWORD = "not-a-real-password-timing-only"


class AccountError(ValueError):
    """A refused account change, with the reason in words."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    site_id: str | None
    """The school this account belongs to; None: every school of this centre (a district admin: only an admin may
    have no school, so a teacher's classes are always classes of one school)."""
    classes: tuple[str, ...] = field(default=())
    """A teacher's own classes."""
    disabled: bool = False


def _user(row: dict[str, object]) -> User:
    classes = json.loads(str(row["classes"] or "[]"))
    return User(
        int(cast(int, row["id"])),
        str(row["username"]),
        cast(Role, row["role"]),
        cast("str | None", row["site_id"]),
        tuple(str(c) for c in classes),
        bool(row["disabled"]),
    )


def _check_role_and_classes(
    role: str, site_id: str | None, classes: Sequence[str], password: str | None = None
) -> None:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if classes and role != "teacher":
        raise AccountError(f"classes are a teacher's: a {role} sees every class of the school or none")
    for c in classes:
        if not CLASS_NAME.match(c):
            raise AccountError(f"class name {c!r} is not valid")
    if password is not None:
        check_password_strength(password)
    if site_id is None and role != "admin":
        # a class name means nothing without its school: a teacher's "6A" would be 6A of every school
        raise AccountError(f"{role} accounts belong to one school (--site SCHOOL_ID)")


def _end_access(tx: WebTx, user_id: int) -> None:
    """Every session of the account ends and every API token is revoked (password, role or classes taken away)."""
    tx.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
    tx.execute(
        "UPDATE web_api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND user_id = ?", (time.time(), user_id)
    )


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("a password is at most 1024 characters")


class Accounts:
    def __init__(self, db: WebDb, hasher: PasswordHasher | None = None) -> None:
        from argon2 import PasswordHasher

        self.db = db
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash(_DUMMY_HASH_PASSWORD)

    def add(
        self,
        username: str,
        password: str,
        role: str,
        *,
        site_id: str | None = None,
        classes: tuple[str, ...] | list[str] = (),
    ) -> User:
        if not USERNAME.match(username):
            raise AccountError(f"user name {username!r}: 2-32 of a-z 0-9 _ . - (starting with a letter or digit)")
        _check_role_and_classes(role, site_id, classes, password)
        now = time.time()
        with self.db.transaction() as tx:
            if tx.query("SELECT 1 FROM web_users WHERE username = ?", (username,)):
                raise AccountError(f"user {username!r} already exists")
            tx.execute(
                "INSERT INTO web_users (username, password_hash, role, site_id, classes, disabled, created_at, "
                "password_changed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (username, self.hasher.hash(password), role, site_id, json.dumps(list(classes)), now, now),
            )
        user = self.get(username)
        assert user is not None
        return user

    def check_scope(self, site_id: str | None, classes: Sequence[str]) -> None:
        """The school and classes against the store (edge.central.school.state.check_account_scope): the school must
        be there and each class be one of its students' classes, spelt as the roster writes it ("7b" is refused
        when the class is "7B", with the right spelling suggested). AccountError with every problem."""
        from edge.central.school.state import check_account_scope

        problems = check_account_scope(self.db, site_id, list(classes))
        if problems:
            raise AccountError("; ".join(problems))

    def change(self, username: str, *, role: str | None = None, classes: Sequence[str] | None = None) -> User:
        """A new role and/or classes for `username`. A changed role ends the account's sessions and revokes its API
        tokens: a role taken away must not linger in an open browser until the session expires."""
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        new_role = user.role if role is None else role
        new_classes = tuple(user.classes if classes is None else classes)
        if new_role != "teacher" and classes is None:
            new_classes = ()  # classes belong to teachers only
        _check_role_and_classes(new_role, user.site_id, new_classes)
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE web_users SET role = ?, classes = ? WHERE id = ?",
                (new_role, json.dumps(list(new_classes)), user.id),
            )
            if new_role != user.role or not set(new_classes) >= set(user.classes):
                _end_access(tx, user.id)
        changed = self.get(username)
        assert changed is not None
        return changed

    def get(self, username: str) -> User | None:
        row = self.db.one("SELECT * FROM web_users WHERE username = ?", (username,))
        return _user(row) if row else None

    def by_id(self, user_id: int) -> User | None:
        row = self.db.one("SELECT * FROM web_users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    def list(self) -> list[User]:
        return [_user(r) for r in self.db.query("SELECT * FROM web_users ORDER BY username")]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled; None otherwise. An unknown name costs the
        same hash as a known one, so timing does not tell which names exist."""
        row = self.db.one("SELECT * FROM web_users WHERE username = ?", (username,))
        stored = str(row["password_hash"]) if row else self._dummy
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        user = _user(row)
        if user.disabled:
            return None
        if self.hasher.check_needs_rehash(stored):
            self.db.execute(
                "UPDATE web_users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), user.id)
            )
        return user

    def set_password(self, username: str, password: str) -> None:
        check_password_strength(password)
        with self.db.transaction() as tx:
            n = tx.execute(
                "UPDATE web_users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                (self.hasher.hash(password), time.time(), username),
            )
            if n == 0:
                raise AccountError(f"no user {username!r}")
            # a new password ends every session and revokes every API token of the account (a leaked cookie or
            # token stops working: whoever changes a password after a leak expects exactly that)
            tx.execute(
                "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM web_users WHERE username = ?)", (username,)
            )
            tx.execute(
                "UPDATE web_api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND user_id = "
                "(SELECT id FROM web_users WHERE username = ?)",
                (time.time(), username),
            )

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self.db.transaction() as tx:
            n = tx.execute("UPDATE web_users SET disabled = ? WHERE username = ?", (1 if disabled else 0, username))
            if n == 0:
                raise AccountError(f"no user {username!r}")
            if disabled:
                tx.execute(
                    "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM web_users WHERE username = ?)",
                    (username,),
                )
                tx.execute(
                    "UPDATE web_api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND user_id = "
                    "(SELECT id FROM web_users WHERE username = ?)",
                    (time.time(), username),
                )
