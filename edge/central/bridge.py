"""A school's own Mosquitto bridged to the district broker (`edge bridge config`, in edge/central/commands.py).

Why a broker per school: gateways publish to the school's broker on the school's network, so a school whose
Internet link is down keeps tapping (the gateways' outboxes do not even grow: the school broker acknowledges), and
the bridge carries the backlog when the link returns. The bridge is a Mosquitto `connection` with
`cleansession false` and QoS 1 both ways: the school broker queues check-ins for the district while the link is
down, the district broker queues the collectors' receipts (and commands) for the school. Only this school's
topics cross the bridge: check-ins, status, health, device events and command results out; receipts and commands
in — exactly what the district's ACL grants a `bridge` identity (edge/security/broker_config.py), so a subscription
the ACL would refuse is never asked for.

Whose certificate: the district broker only knows its own CA, so the school's bridge certificate is issued by the
DISTRICT's CA, role `bridge`, named after the school's site id (`edge pki issue --dir DISTRICT_PKI SCHOOL --role
bridge`); `bridge_cafile` is the district CA too (it checks the district broker, host name included:
`bridge_insecure false`). The school's own CA keeps signing its gateways for the school's broker; the two PKIs
meet only in this bridge. The district's ACL is the guard: a bridge of school A cannot publish as school B.

MQTT 3.1.1 on the bridge: Mosquitto 2.0.11 keeps a 3.1.1 bridge's session with `cleansession false` (and the
local side's with it, `local_cleansession` defaults to the same), and nothing on these topics needs MQTT 5
between brokers (the collectors' shared subscription is on the district broker). TLS 1.2 at least, as the
brokers' listeners require."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edge.contract.topics import DEFAULT_PREFIX

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
OUT_LEAVES = ("checkin", "status", "health", "device", "cmd/+/result")
"""What the school's gateways publish, carried to the district (the bridge ACL's `write` topics)."""
IN_LEAVES = ("receipt", "cmd/+")
"""What the district sends the school's gateways (the bridge ACL's `read` topics)."""


@dataclass(frozen=True)
class BridgeSettings:
    site: str
    district_host: str
    district_port: int = 8883
    prefix: str = DEFAULT_PREFIX
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    """The district CA, and the school's `bridge` certificate and key issued by it (#6); None only for a plaintext
    test bridge."""
    restart_s: int = 5
    queue_limit: int = 1_000_000
    """Messages the school broker holds for the district while the link is down (a school's days of taps)."""


def bridge_conf(s: BridgeSettings) -> str:
    """Lines to add to the school's mosquitto.conf."""
    if not _IDENT.match(s.site):
        raise ValueError(f"not a site id: {s.site!r}")
    tls = [s.ca, s.cert, s.key]
    if any(p is not None for p in tls) and not all(p is not None for p in tls):
        raise ValueError("the bridge's CA, certificate and key go together")
    base = f"{s.prefix}/{s.site}"
    lines = [
        f"# bridge of school {s.site} to the district broker (edge bridge config)",
        f"max_queued_messages {s.queue_limit}",
        f"connection district-{s.site}",
        f"address {s.district_host}:{s.district_port}",
        "bridge_protocol_version mqttv311",
        "cleansession false",
        f"remote_clientid bridge-{s.site}",
        f"local_clientid bridge-local-{s.site}",
        "try_private true",
        "notifications false",
        f"restart_timeout 1 {s.restart_s}",
        *(f"topic {base}/+/{leaf} out 1" for leaf in OUT_LEAVES),
        *(f"topic {base}/+/{leaf} in 1" for leaf in IN_LEAVES),
    ]
    if s.ca is not None and s.cert is not None and s.key is not None:
        lines += [
            f"bridge_cafile {s.ca}",
            f"bridge_certfile {s.cert}",
            f"bridge_keyfile {s.key}",
            "bridge_insecure false",
            "bridge_tls_version tlsv1.2",
        ]
    return "\n".join(lines) + "\n"
