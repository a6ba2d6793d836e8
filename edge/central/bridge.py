"""A school's own Mosquitto bridged to the district broker (`edge bridge config`).

Why a broker per school: gateways publish to the school's broker on the school's network, so a school whose
Internet link is down keeps tapping (the gateways' outboxes do not even grow: the school broker acknowledges), and
the bridge carries the backlog when the link returns. The bridge is a Mosquitto `connection` with
`cleansession false` and QoS 1 both ways: the school broker queues check-ins for the district while the link is
down, the district broker queues the collectors' receipts (and commands) for the school. Only this school's
topics cross the bridge: check-ins and status out, receipts and commands in.

MQTT 3.1.1 on the bridge: Mosquitto keeps a 3.1.1 bridge's session with `cleansession false`, and nothing on
these topics needs MQTT 5 between brokers (the collectors' shared subscription is on the district broker)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import click

from edge.topics import DEFAULT_PREFIX

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class BridgeSettings:
    site: str
    district_host: str
    district_port: int = 8883
    prefix: str = DEFAULT_PREFIX
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    """The school's certificate and key for the district broker (#6); None only for a plaintext test bridge."""
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
        f"topic {base}/+/checkin out 1",
        f"topic {base}/+/status out 1",
        f"topic {base}/+/device out 1",
        f"topic {base}/+/receipt in 1",
        f"topic {base}/+/cmd/# in 1",
    ]
    if s.ca is not None and s.cert is not None and s.key is not None:
        lines += [
            f"bridge_cafile {s.ca}",
            f"bridge_certfile {s.cert}",
            f"bridge_keyfile {s.key}",
            "bridge_insecure false",
        ]
    return "\n".join(lines) + "\n"


@click.group("bridge")
def bridge() -> None:
    """A school's Mosquitto bridged to the district broker."""


@bridge.command("config")
@click.option("--site", required=True, help="This school's site_id.")
@click.option("--district", "district", required=True, help="The district broker, HOST[:PORT] (default port 8883).")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="District CA (TLS).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The school's certificate.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The school's key.")
@click.option("--insecure-plaintext", is_flag=True, help="No TLS (a test bridge on one machine only).")
@click.option("--topic-prefix", default=DEFAULT_PREFIX, show_default=True)
def bridge_config_cmd(
    site: str,
    district: str,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    insecure_plaintext: bool,
    topic_prefix: str,
) -> None:
    """Print the bridge section for the school's mosquitto.conf."""
    host, _, port = district.partition(":")
    if not insecure_plaintext and (ca is None or cert is None or key is None):
        raise click.UsageError("--ca, --cert and --key are required (or --insecure-plaintext for a test bridge)")
    try:
        click.echo(bridge_conf(BridgeSettings(site, host, int(port or 8883), topic_prefix, ca, cert, key)), nl=False)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
