"""Notification channels behind one interface (base.py): webhook, email, SMS over HTTP, MQTT, Web Push, Zalo ZNS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.central.notify.channels.base import (
    Accepted,
    Channel,
    Outcome,
    PermanentFailure,
    RateLimiter,
    RetryAfter,
)
from edge.config.central import (
    AnyChannel,
    EmailChannel,
    MqttChannel,
    SchoolConfig,
    SmsHttpChannel,
    WebhookChannel,
    WebPushChannel,
    ZaloZnsChannel,
)

Connect = Callable[[], tuple[Any, Any]]
"""Opens a connection of the channel's own to the central store (the Web Push channel reads the devices there)."""


def build_channel(cfg: AnyChannel, school_id: str, connect: Connect | None = None) -> Channel:
    """The channel object for a config entry (the config's discriminator already refused unknown types).
    ValueError (VapidKeyError) if a channel's key file is missing or unsafe."""
    if isinstance(cfg, WebhookChannel):
        from edge.central.notify.channels.webhook import Webhook

        return Webhook(cfg)
    if isinstance(cfg, EmailChannel):
        from edge.central.notify.channels.email import Email

        return Email(cfg)
    if isinstance(cfg, SmsHttpChannel):
        from edge.central.notify.channels.sms_http import SmsHttp

        return SmsHttp(cfg)
    if isinstance(cfg, WebPushChannel):
        from edge.central.notify.channels.webpush import WebPush

        return WebPush(cfg, connect)
    if isinstance(cfg, ZaloZnsChannel):
        from edge.central.notify.channels.zalo_zns import ZaloZns

        return ZaloZns(cfg)
    assert isinstance(cfg, MqttChannel)
    from edge.central.notify.channels.mqtt import Mqtt

    return Mqtt(cfg, client_id=f"edge-notify-{school_id}-{cfg.name}")


def build_channels(school: SchoolConfig, connect: Connect | None = None) -> dict[str, Channel]:
    return {c.name: build_channel(c, school.id, connect) for c in school.channels}


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
