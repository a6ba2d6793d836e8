"""A gateway exists in three places: its identity (the site PKI), its rights at the broker (the ACL and CRL
generated from the PKI) and the store's registry of gateways (the collector accepts check-ins from the active
ones, following the table live: edge/central/school). Provisioning and revoking change all three in one command,
and check the broker's answer with the gateway's own identity, so that a gate is never half added (#20: a new
gateway's first tap came back "Not authorized" from the broker, then "unknown gateway" from the collector).

Order on provisioning: the broker first (its ACL must let the gateway publish before the gateway is installed),
checked with a real QoS 1 publish (edge/transport/probe.py) retried until the reload has been read; then the
store. On revocation: the PKI (CRL), the broker (ACL and CRL, reloaded), checked refused, then the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from edge.contract.topics import GatewayTopics
from edge.security.pki import Pki
from edge.transport.mqtt import MqttSettings
from edge.transport.probe import ProbeResult, probe_publish, probe_topic


class RegistryError(Exception):
    pass


def _probe(pki: Pki, name: str, broker_dir: Path, timeout_s: float) -> ProbeResult:
    from edge.security.broker_reload import load

    dep = load(broker_dir)
    topics = GatewayTopics(dep.prefix, pki.site, name)
    settings = MqttSettings(dep.host, dep.port, f"{name}-provision", tls=pki.tls_files(name))
    return probe_publish(settings, probe_topic(topics), timeout_s)


def wait_for_broker(
    check: Callable[[float], ProbeResult], want_accepted: bool, timeout_s: float
) -> tuple[ProbeResult, float]:
    """Probe until the broker's answer is the one wanted (the reload is asynchronous) or `timeout_s` passed;
    returns the last answer and the seconds it took."""
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        left = max(0.5, deadline - time.monotonic())
        result = check(min(left, 5.0))
        if result.accepted == want_accepted or time.monotonic() >= deadline:
            return result, time.monotonic() - start


def _with_store(store_url: str, edit: Callable[[object], object]) -> object:
    from edge.central.store import open_store
    from edge.central.web.db import WebDb

    open_store(store_url).close()  # pending migrations (0005 makes the gateways table)
    db = WebDb(store_url)
    try:
        with db.transaction() as tx:
            return edit(tx)
    finally:
        db.close()


def register_everywhere(
    pki: Pki, name: str, *, broker_dir: Path | None, store_url: str | None, timeout_s: float = 15.0
) -> list[str]:
    """After `edge provision gateway NAME`: the broker's ACL and CRL rewritten and reloaded, the broker checked to
    accept NAME's publish, NAME registered in the store. Lines to print; RegistryError when the broker refuses."""
    from edge.central.school.edits import register_gateway
    from edge.security.broker_reload import BrokerReloadError, apply

    lines: list[str] = []
    if broker_dir is not None:
        try:
            how = apply(broker_dir)
        except BrokerReloadError as exc:
            raise RegistryError(f"the broker was not updated: {exc}") from None
        lines.append(f"broker: ACL and CRL rewritten in {broker_dir}; {how}")
        result, took = wait_for_broker(lambda t: _probe(pki, name, broker_dir, t), True, timeout_s)
        if not result.accepted:
            raise RegistryError(f"the broker does not accept {name} after the reload: {result.detail}")
        lines.append(f"broker: {result.detail} ({took:.2f} s after the reload)")
    else:
        lines.append(
            "note: no --broker-dir: run `edge broker refresh --dir BROKER_DIR` on the broker's host, or the"
            f" broker refuses {name}'s check-ins (PUBACK 0x87 Not authorized)"
        )
    if store_url is not None:
        _with_store(store_url, lambda tx: register_gateway(tx, pki.site, name))  # type: ignore[arg-type]
        lines.append(f"store: {pki.site}/{name} registered (the collector accepts it without a restart)")
    else:
        lines.append("note: no --store: the collector refuses this gateway's check-ins until it is registered")
    return lines


def revoke_everywhere(pki: Pki, name: str, *, broker_dir: Path | None, store_url: str | None) -> list[str]:
    """`edge pki revoke NAME`: into the CRL; with broker_dir out of the broker's ACL and CRL now (checked: its
    connection is refused); with store_url, a gateway out of the store's registry."""
    from edge.central.school.edits import revoke_gateway
    from edge.security.broker_reload import BrokerReloadError, apply

    ident = pki.get(name)
    changed = pki.revoke(name)
    lines = [f"{'revoked' if changed else 'already revoked'} {name}"]
    if broker_dir is not None:
        try:
            how = apply(broker_dir)
        except BrokerReloadError as exc:
            raise RegistryError(f"revoked in the PKI, but the broker was not updated: {exc}") from None
        lines.append(f"broker: ACL and CRL rewritten in {broker_dir}; {how}")
        if ident is not None and ident.role == "gateway":
            result, took = wait_for_broker(lambda t: _probe(pki, name, broker_dir, t), False, 10.0)
            if result.accepted:
                raise RegistryError(f"the broker still accepts {name} after the reload: {result.detail}")
            lines.append(f"broker: refuses {name} ({result.detail}; {took:.2f} s)")
    else:
        lines.append("then: `edge broker refresh --dir BROKER_DIR` (or this command with --broker-dir)")
    if store_url is not None and ident is not None and ident.role == "gateway":
        found = _with_store(store_url, lambda tx: revoke_gateway(tx, pki.site, name))  # type: ignore[arg-type]
        lines.append(f"store: {pki.site}/{name} {'revoked' if found else 'was not active'} in the registry")
    lines.append("copy the new crl.pem to the gateways (revoked command signers): `edge provision` ships it")
    return lines
