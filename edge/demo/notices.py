"""What the parents receive in the demo: a real SMTP server (STARTTLS, aiosmtpd) and a real webhook receiver
(signature checked) — the receivers the notification tests use (edge/central/notify/receivers.py). Every delivery
is counted at the receiving end, so "each notice exactly once" is observed, not inferred from the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.central.notify.receivers import HttpReceiver, Received, SmtpReceiver
from edge.demo.school import WEBHOOK_SECRET


@dataclass(frozen=True)
class Delivery:
    """One notice as a parent got it."""

    channel: str
    guardian_id: str
    kind: str
    """arrived | absent | left."""
    late: bool
    language: str
    subject: str
    text: str
    key: str
    duplicate: bool


def _from_webhook(r: Received) -> Delivery:
    b = r.body
    return Delivery(
        "webhook",
        str(b.get("guardian_id")),
        str(b.get("kind")),
        b.get("template") == "arrived_late",
        str(b.get("language")),
        str(b.get("subject", "")),
        str(b.get("text", "")),
        r.key,
        r.duplicate,
    )


def _from_email(r: Received) -> Delivery:
    b = r.body
    to = b.get("to") or [""]
    parts = r.key.split("/")  # the job key: site/person/day/kind/guardian (edge/central/notify/planner.py)
    kind = parts[3] if len(parts) == 5 else ""
    subject = str(b.get("subject", ""))
    return Delivery(
        "email",
        str(to[0]).split("@")[0],
        kind,
        "muộn" in subject or "late" in subject,
        str(b.get("language")),
        subject,
        str(b.get("text") or ""),
        r.key,
        r.duplicate,
    )


class Parents:
    """The two receivers, and the deliveries not yet shown."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.smtp = SmtpReceiver(folder)
        self.webhook = HttpReceiver(secret=WEBHOOK_SECRET)
        self._shown = {"email": 0, "webhook": 0}

    @property
    def webhook_url(self) -> str:
        return self.webhook.url + "notices"

    def all(self) -> list[Delivery]:
        with self.smtp.lock:
            mails = [_from_email(r) for r in self.smtp.received]
        with self.webhook.lock:
            hooks = [_from_webhook(r) for r in self.webhook.received]
        return mails + hooks

    def new(self) -> list[Delivery]:
        """Deliveries that arrived since the last call."""
        out: list[Delivery] = []
        for name, tally, conv in (("email", self.smtp, _from_email), ("webhook", self.webhook, _from_webhook)):
            with tally.lock:
                fresh = tally.received[self._shown[name] :]
                self._shown[name] = len(tally.received)
            out.extend(conv(r) for r in fresh)
        return out

    def close(self) -> None:
        self.smtp.close()
        self.webhook.close()
