"""Notification channels behind one interface (base.py): webhook, email, SMS over HTTP, MQTT."""

from __future__ import annotations

from edge.central.notify.channels.base import (
    Accepted,
    Channel,
    Outcome,
    PermanentFailure,
    RateLimiter,
    RetryAfter,
)
from edge.config.central import EmailChannel, MqttChannel, SchoolConfig, SmsHttpChannel, WebhookChannel


def build_channel(cfg: WebhookChannel | EmailChannel | SmsHttpChannel | MqttChannel, school_id: str) -> Channel:
    """The channel object for a config entry (the config's discriminator already refused unknown types)."""
    if isinstance(cfg, WebhookChannel):
        from edge.central.notify.channels.webhook import Webhook

        return Webhook(cfg)
    if isinstance(cfg, EmailChannel):
        from edge.central.notify.channels.email import Email

        return Email(cfg)
    if isinstance(cfg, SmsHttpChannel):
        from edge.central.notify.channels.sms_http import SmsHttp

        return SmsHttp(cfg)
    from edge.central.notify.channels.mqtt import Mqtt

    return Mqtt(cfg, client_id=f"edge-notify-{school_id}-{cfg.name}")


def build_channels(school: SchoolConfig) -> dict[str, Channel]:
    return {c.name: build_channel(c, school.id) for c in school.channels}


__all__ = [
    "Accepted",
    "Channel",
    "Outcome",
    "PermanentFailure",
    "RateLimiter",
    "RetryAfter",
    "build_channel",
    "build_channels",
]
