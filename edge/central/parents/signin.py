"""Signing a parent in without a password: a six-digit code sent to the phone or e-mail address the school has
registered for them (the store's guardians rows), valid 10 minutes, 5 tries, single use, at most 5 codes an hour per
address and 20 code requests an hour per client address.

Why the code goes straight through a channel object (edge/central/notify/channels) and not through the notifier's
job table: a code is useful for minutes only, so it must not wait behind a morning's notices nor be retried after
it expired, and it must not be stored readable in a job row (the job keeps its text); the parent waits on the page
for the answer, so the page tells them at once when the SMS gateway, the mail server or Zalo refused.

Which channel: the guardian's registered one when it can carry a code to the address (an e-mail channel for an
e-mail address; an SMS gateway, or a Zalo ZNS channel with an approved `sign_in` OTP template, for a phone), else
the school's first one in central.yaml that can.

At rest only HMAC-SHA256(key, "<row id>:<code>") is kept. Why keyed and not a plain hash: a million codes are
hashed in well under a second, so an unkeyed hash in a copied database (a backup, a replica) gives a live code
away; the key is not in the database (`code_key`: derived from the centre's key file the provisioned web app
has, else random per process, when codes pending at a restart stop working). Why not argon2: with the key out of
the database there is nothing to slow down, and a deliberately slow check on every attempt would hand a stranger
the server's CPU on a 2-core machine.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edge.central.guardians import normalise_phone
from edge.central.notify.channels import Accepted, build_channel
from edge.central.notify.messages import Notice
from edge.central.web.db import WebDb
from edge.config.central import EmailChannel, SchoolConfig, SmsHttpChannel, ZaloZnsChannel, unset_secrets

log = logging.getLogger(__name__)

CODE_TTL_S = 600.0
MAX_TRIES = 5
"""Wrong codes before a code is spent: 5 guesses of a million."""
MAX_CODES_PER_HOUR = 5
"""Codes an hour per address (one phone number or e-mail): a typo retried, not an SMS bill run up by a stranger."""
MAX_REQUESTS_PER_IP_HOUR = 20
"""Code requests an hour from one client address, known or unknown numbers alike: a family's shared connection
signs in easily, a script trying numbers to learn who is a parent at the school stops after 20."""

AddressKind = Literal["phone", "email"]


class SignInRefused(Exception):
    """Why no code is sent or accepted: `reason` is the key of the message shown (parents.err.<reason>)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class Address:
    kind: AddressKind
    value: str
    """E.164 for a phone, lower case for an e-mail address."""


@dataclass(frozen=True)
class GuardianRef:
    site_id: str
    guardian_id: str
    name: str
    channel: str
    language: str


def parse_address(text: str) -> Address:
    value = text.strip()
    if "@" in value:
        if len(value) > 254 or " " in value or value.count("@") != 1:
            raise SignInRefused("address")
        return Address("email", value.lower())
    try:
        return Address("phone", normalise_phone(value))
    except ValueError:
        raise SignInRefused("address") from None


def guardian_at(db: WebDb, address: Address) -> GuardianRef | None:
    """The guardian registered with this address (the first school and guardian id when several are)."""
    column = "phone" if address.kind == "phone" else "lower(email)"
    rows = db.query(
        f"SELECT site_id, guardian_id, name, channel, language FROM guardians WHERE {column} = ?"
        " ORDER BY site_id, guardian_id LIMIT 1",
        (address.value,),
    )
    if not rows:
        return None
    r = rows[0]
    return GuardianRef(r["site_id"], r["guardian_id"], r["name"], r["channel"], r["language"])


CodeChannel = EmailChannel | SmsHttpChannel | ZaloZnsChannel

KEY_CONTEXT = b"edge parents' app sign-in codes v1"


def code_key(secret: bytes | None) -> bytes:
    """The HMAC key for codes: derived from a secret kept outside the store (the centre's key file), or random
    (this process only) without one."""
    if secret is None:
        return secrets.token_bytes(32)
    return hmac.new(secret, KEY_CONTEXT, hashlib.sha256).digest()


def _hash(key: bytes, code: str, row_id: int) -> str:
    return hmac.new(key, f"{row_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _carries(channel: object, address: Address) -> bool:
    if address.kind == "email":
        return isinstance(channel, EmailChannel)
    if isinstance(channel, ZaloZnsChannel):
        t = channel.templates.sign_in
        return t is not None and (t.vi or t.en) is not None
    return isinstance(channel, SmsHttpChannel)


def _channel_for(school: SchoolConfig, address: Address, registered: str) -> CodeChannel | None:
    """The guardian's registered channel when it can carry a code to this address, else the school's first one
    that can (an e-mail channel for an address; an SMS gateway or a Zalo ZNS channel with a sign-in template for a
    phone)."""
    usable: list[CodeChannel] = []
    for c in school.channels:
        if not (isinstance(c, CodeChannel) and _carries(c, address)):
            continue
        missing = unset_secrets(c)
        if missing:  # central.yaml's ${VAR} not in this process's environment (web.env / notifier.env)
            log.warning("channel %s cannot send sign-in codes: %s not set in the web app's environment", c.name,
                        ", ".join(missing))  # fmt: skip
            continue
        usable.append(c)
    for c in usable:
        if c.name == registered:
            return c
    return usable[0] if usable else None


def check_client(db: WebDb, ip: str) -> None:
    """SignInRefused("too_many") once `ip` made MAX_REQUESTS_PER_IP_HOUR code requests in the last hour."""
    n = db.one("SELECT count(*) AS n FROM parent_codes WHERE ip = ? AND created_at > ?", (ip, time.time() - 3600))
    if n is not None and int(n["n"]) >= MAX_REQUESTS_PER_IP_HOUR:
        raise SignInRefused("too_many")


def note_unknown(db: WebDb, address: Address, ip: str) -> None:
    """A request for an address no school has: a row that is never valid, counted by the client's limit."""
    t = time.time()
    db.execute(
        "INSERT INTO parent_codes (address, site_id, guardian_id, code_hash, created_at, expires_at, used_at, ip)"
        " VALUES (?, '', '', '', ?, ?, ?, ?)",
        (address.value, t, t, t, ip),
    )


def send_code(
    db: WebDb, school: SchoolConfig, address: Address, now: datetime, key: bytes, ip: str = ""
) -> GuardianRef:
    """Make a code for the guardian of `address`, send it, keep its hash. SignInRefused: unknown address,
    too many codes, no channel to carry it, or the channel refused (nothing usable was kept)."""
    guardian = guardian_at(db, address)
    if guardian is None or guardian.site_id != school.id:
        raise SignInRefused("unknown")
    t = time.time()
    recent = db.one(
        "SELECT count(*) AS n FROM parent_codes WHERE address = ? AND created_at > ? AND site_id <> ''",
        (address.value, t - 3600),
    )
    if recent is not None and int(recent["n"]) >= MAX_CODES_PER_HOUR:
        raise SignInRefused("too_many")
    cfg = _channel_for(school, address, guardian.channel)
    if cfg is None:
        raise SignInRefused("no_channel")
    code = f"{secrets.randbelow(1_000_000):06d}"
    with db.transaction() as tx:
        row = tx.query(  # RETURNING: the row's own id (max(id) could be a concurrent request's on PostgreSQL)
            "INSERT INTO parent_codes (address, site_id, guardian_id, code_hash, created_at, expires_at, ip)"
            " VALUES (?, ?, ?, '', ?, ?, ?) RETURNING id",
            (address.value, guardian.site_id, guardian.guardian_id, t, t + CODE_TTL_S, ip),
        )
        row_id = int(row[0]["id"])
        tx.execute("UPDATE parent_codes SET code_hash = ? WHERE id = ?", (_hash(key, code, row_id), row_id))
    vi = guardian.language == "vi"
    text = (
        f"{school.name}: mã đăng nhập của bạn là {code} (hết hạn sau 10 phút)."
        if vi
        else f"{school.name}: your sign-in code is {code} (valid 10 minutes)."
    )
    notice = Notice(
        key=f"signin:{row_id}",
        site=school.id,
        guardian_id=guardian.guardian_id,
        person_id="",
        kind="sign_in",
        template="sign_in",
        day=now.date(),
        time=now.strftime("%H:%M"),
        language=guardian.language,
        text=text,
        subject=f"{school.name}: {'mã đăng nhập' if vi else 'sign-in code'}",
        phone=address.value if address.kind == "phone" else None,
        email=address.value if address.kind == "email" else None,
        fields={"code": code, "school": school.name},
    )
    channel = build_channel(cfg, school.id)
    try:
        outcome = channel.send(notice)
    finally:
        channel.close()
    if not isinstance(outcome, Accepted):
        db.execute("UPDATE parent_codes SET used_at = ? WHERE id = ?", (t, row_id))  # never valid
        raise SignInRefused("not_sent", getattr(outcome, "reason", str(outcome)))
    return guardian


def check_code(db: WebDb, address: Address, code: str, key: bytes) -> GuardianRef:
    """The guardian signed in by `code` (the newest unexpired code of the address; it is spent). SignInRefused:
    wrong, expired or out of tries. The guardian must still be in the roster."""
    t = time.time()
    with db.transaction() as tx:
        rows = tx.query(
            "SELECT id, site_id, guardian_id, code_hash, tries FROM parent_codes WHERE address = ? AND used_at IS NULL"
            " AND expires_at > ? ORDER BY id DESC LIMIT 1",
            (address.value, t),
        )
        if not rows:
            raise SignInRefused("expired")
        r = rows[0]
        if int(r["tries"]) >= MAX_TRIES:
            raise SignInRefused("too_many_tries")
        given = code.strip()
        if not (given.isdigit() and hmac.compare_digest(_hash(key, given, int(r["id"])), r["code_hash"])):
            tx.execute("UPDATE parent_codes SET tries = tries + 1 WHERE id = ?", (r["id"],))
            raise_after = True
        else:
            tx.execute("UPDATE parent_codes SET used_at = ? WHERE id = ?", (t, r["id"]))
            raise_after = False
    if raise_after:  # outside the transaction, so the counted try is committed
        raise SignInRefused("wrong_code")
    guardian = guardian_at(db, address)
    if guardian is None or (guardian.site_id, guardian.guardian_id) != (r["site_id"], r["guardian_id"]):
        raise SignInRefused("unknown")
    return guardian
