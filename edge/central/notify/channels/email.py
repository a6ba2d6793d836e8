"""Email over SMTP submission with STARTTLS (the standard library's client), a plain-text and an HTML body.

One connection per send: a school sends at most a few thousand mails a morning, and a fresh connection never
carries a broken session into the next send. SMTP has no idempotency: the Message-ID is derived from the key so
a mailbox that threads by it can fold a repeat, but the server itself does not drop one (honours_idempotency is
False; the fault runs count such duplicates).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from edge.central.notify.channels.base import (
    Accepted,
    Outcome,
    PermanentFailure,
    RateLimiter,
    RetryAfter,
    header_key,
)
from edge.central.notify.messages import Notice
from edge.config.central import EmailChannel
from edge.control_chars import field_problem

_MSGID = str.maketrans("/:@%", "...=")
"""The key's characters a Message-ID's left part cannot hold."""


def header_problem(notice: Notice) -> str | None:
    """Why the notice's Subject or address cannot be an e-mail header (a control character: the e-mail package
    refuses CR, LF, U+2028 … in a header, and the others have no place there), or None."""
    for field, value in (("subject", notice.subject), ("email address", notice.email or "")):
        problem = field_problem(field, value)
        if problem is not None:
            return problem.split(": remove")[0] + ": not sendable as an e-mail header"
    return None


class Email:
    honours_idempotency = False

    def __init__(self, cfg: EmailChannel) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)
        self._tls = ssl.create_default_context(cafile=cfg.cafile)

    def message(self, notice: Notice) -> EmailMessage:
        if notice.email is None:
            raise ValueError(f"notice {notice.key} has no email address")
        msg = EmailMessage()
        msg["From"] = self.cfg.sender
        msg["To"] = formataddr(("", notice.email))
        msg["Subject"] = notice.subject
        key = header_key(notice.key)
        idstring = key.translate(_MSGID)
        msg["Message-ID"] = make_msgid(idstring=idstring, domain="edge-notify")
        msg["Idempotency-Key"] = key
        msg.set_content(notice.text)
        msg.add_alternative(notice.html(), subtype="html")
        msg["Content-Language"] = notice.language  # after the parts: making them moves Content-* headers down
        return msg

    def send(self, notice: Notice) -> Outcome:
        if notice.email is None:
            return PermanentFailure("guardian has no email address")
        problem = header_problem(notice)
        if problem is not None:
            return PermanentFailure(problem)
        try:
            msg = self.message(notice)
        except (ValueError, TypeError) as exc:  # what the e-mail package refuses: dead-letter it, with why
            return PermanentFailure(f"the e-mail cannot be built: {exc}")
        try:
            with smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s) as smtp:
                smtp.ehlo()
                if self.cfg.starttls:
                    if not smtp.has_extn("starttls"):
                        return RetryAfter(None, "server does not offer STARTTLS; refusing to send in the clear")
                    smtp.starttls(context=self._tls)
                    smtp.ehlo()
                if self.cfg.username:
                    smtp.login(self.cfg.username, self.cfg.password or "")
                refused = smtp.send_message(msg)
                if refused:
                    return PermanentFailure(f"refused: {refused}")
                return Accepted("SMTP 250")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                return RetryAfter(None, f"recipient deferred: {exc.recipients}")
            return PermanentFailure(f"recipient refused: {exc.recipients}")
        except smtplib.SMTPAuthenticationError as exc:
            return PermanentFailure(f"authentication failed: {exc.smtp_code} {exc.smtp_error!r}")
        except smtplib.SMTPResponseException as exc:
            err = exc.smtp_error
            text = f"SMTP {exc.smtp_code} {err.decode('utf-8', 'replace') if isinstance(err, bytes) else err}"
            return PermanentFailure(text) if 500 <= exc.smtp_code < 600 else RetryAfter(None, text)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            return RetryAfter(None, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        pass
