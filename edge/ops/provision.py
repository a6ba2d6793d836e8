"""`edge provision ROLE NAME --site SITE --server HOST`: everything one machine needs, in one folder.

    OUT/
      config.yaml            gateway: validated, absolute paths of the target machine (/etc/edge, /var/lib/edge)
      centre.env             collector, notifier, web app: THE store URL, the broker and the central configuration,
                             the same file for every centre unit (EnvironmentFile=; install.sh refuses a different one)
      ROLE.env               a centre role's own extras (its metrics port)
      central.yaml           with --central: the one central configuration (channels, schools), validated
      tls/ca.crt crl.pem     the site CA and CRL (edge/security/pki.py)
      tls/ROLE-NAME.crt .key this machine role's identity under its own name (the key 0600): a collector, a
                             notifier and a web app on one server keep three identities, none replaces another
      edge-ROLE.service      the systemd unit (edge/ops/units.py)
      edge-retention.*       web: the retention policy's daily run, a service and its timer (edge/ops/timers.py)
      install.sh             run as root on the target: user edge, files in place, unit enabled and started

Idempotent: the PKI returns an identity already issued; a file whose content would not change is not
rewritten (and reported "unchanged"). `--dry-run` lists what would be written and issues nothing. The roster and
the gallery come from the centre (`edge distribution publish`, edge/central/distribution): a gateway needs only
its own gallery key to keep the gallery sealed at rest, which install.sh makes on the target (never copied
anywhere) unless --gallery-key ships one. --roster ships a starting roster until the centre publishes one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edge.ops.units import CENTRE_ENV, ROLES, Layout, identity_file, render_unit, unit_name

EMPTY_ROSTER = "person_id,name,class,card_uid\n"
METRICS = {"collector": "127.0.0.1:9109", "notifier": "127.0.0.1:9110", "web": "127.0.0.1:9111"}
"""Each centre role's metrics address: in its own ROLE.env, as they differ (EDGE_METRICS in centre.env would make
three processes on one server fight for one port)."""


def default_store(layout: Layout) -> str:
    """The centre's one store when --store is not given: a SQLite file in the state folder (four slashes)."""
    return f"sqlite:///{layout.state_dir}/centre.sqlite"


def centre_env(store_url: str, host: str, port: int, layout: Layout) -> str:
    """centre.env: the same text for every centre role provisioned with the same --store and --server."""
    if "\n" in store_url or not store_url:
        raise ProvisionError(
            "--store: one line, e.g. postgresql://edge@db/edge or sqlite:////var/lib/edge/centre.sqlite"
        )
    return (
        "# The centre's one configuration, shared by every centre unit (collector, notifier, web app).\n"
        "# Written by `edge provision`: provision every centre role with the same --store and --server.\n"
        f"EDGE_STORE_URL={store_url}\n"
        f"EDGE_MQTT_HOST={host}\nEDGE_MQTT_PORT={port}\n"
        f"EDGE_CENTRAL_CONFIG={layout.config_dir}/central.yaml\n"
    )


class ProvisionError(Exception):
    pass


@dataclass
class Planned:
    path: Path
    content: bytes
    mode: int = 0o644

    def state(self) -> str:
        if not self.path.exists():
            return "new"
        return "unchanged" if self.path.read_bytes() == self.content else "changed"


@dataclass
class Plan:
    role: str
    name: str
    out: Path
    files: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, rel: str, content: str | bytes, mode: int = 0o644) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.files.append(Planned(self.out / rel, data, mode))

    def write(self) -> list[tuple[str, Path]]:
        """Write new and changed files (atomically, with their mode); returns (state, path) for each."""
        done = []
        self.out.mkdir(parents=True, exist_ok=True)
        self.out.chmod(0o700)  # it holds a private key until it is installed
        for f in self.files:
            st = f.state()
            if st != "unchanged":
                f.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = f.path.with_name(f".{f.path.name}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, f.mode)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(f.content)
                os.chmod(tmp, f.mode)
                os.replace(tmp, f.path)
            done.append((st, f.path))
        return done


def _server_host_port(server: str, default_port: int) -> tuple[str, int]:
    host, sep, port = server.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return server.strip("[]"), default_port


def _tls(plan: Plan, pki_dir: Path, site: str, role: str, dry_run: bool) -> None:
    """The CA, the identity's certificate and key into tls/ (issuing it if new, unless dry-run)."""
    from edge.security.pki import Pki, PkiError

    pki = Pki(pki_dir)
    if not pki.exists():
        raise ProvisionError(f"no site PKI in {pki_dir}: create it with `edge pki init --site {site}` (#6)")
    if pki.site != site:
        raise ProvisionError(f"the PKI in {pki_dir} is site {pki.site!r}, not {site!r}")
    ident = pki.get(plan.name)
    base = f"tls/{identity_file(plan.role, plan.name)}"
    if ident is None and dry_run:
        plan.notes.append(f"would issue a {role} certificate for {plan.name} in {pki_dir}")
        plan.add("tls/ca.crt", pki.ca_cert_path.read_bytes())
        if (crl := _crl(pki_dir)) is not None:
            plan.add("tls/crl.pem", crl.read_bytes())
        plan.add(f"{base}.crt", b"(issued on the real run)")
        plan.add(f"{base}.key", b"(issued on the real run)", 0o600)
        return
    try:
        ident = pki.issue(plan.name, role)  # type: ignore[arg-type]  # returns the existing one when issued
    except PkiError as exc:
        raise ProvisionError(str(exc)) from None
    plan.add("tls/ca.crt", pki.ca_cert_path.read_bytes())
    if (crl := _crl(pki_dir)) is not None:
        plan.add("tls/crl.pem", crl.read_bytes())
    if ident.role != role:
        raise ProvisionError(f"{plan.name} is already issued as a {ident.role} in {pki_dir}, not a {role}")
    plan.add(f"{base}.crt", ident.cert_path.read_bytes())
    plan.add(f"{base}.key", ident.key_path.read_bytes(), 0o600)


def _crl(pki_dir: Path) -> Path | None:
    from edge.security.pki import Pki

    path = Pki(pki_dir).crl_path
    return path if path.is_file() else None


def gateway_config(
    name: str, site: str, host: str, port: int, layout: Layout, with_crl: bool = False
) -> dict[str, Any]:
    from edge.config.model import BrokerConfig

    etc, var = layout.config_dir, layout.state_dir
    ident = identity_file("gateway", name)
    broker: dict[str, Any] = {"host": host, "port": port}
    if "tls" in BrokerConfig.model_fields:  # the TLS section of #6
        broker["tls"] = {
            "ca": f"{etc}/tls/ca.crt",
            "cert": f"{etc}/tls/{ident}.crt",
            "key": "${CREDENTIALS_DIRECTORY:-" + f"{etc}/tls" + "}/" + f"{ident}.key",  # the unit's LoadCredential=
        }
        if with_crl:  # revoked operators' signed commands are refused (re-provision after each revocation)
            broker["tls"]["crl"] = f"{etc}/tls/crl.pem"
    return {
        "site_id": site,
        "gateway_id": name,
        "gates": [
            {
                "id": "main-in",
                "direction": "in",
                "mode": "card_or_face",
                "cameras": [{"id": "cam-1", "source": "0"}],
                "readers": [{"id": "reader-1", "port": "/dev/serial0"}],
            }
        ],
        "broker": broker,
        "storage": {"database": f"{var}/gateway.sqlite"},
        "roster": {"path": f"{etc}/roster.csv"},
        "gallery": {"path": f"{var}/gallery.npz", "key_file": f"{etc}/gallery.key", "key_credential": "gallery.key"},
        "metrics": {"host": "127.0.0.1", "port": 9108},
    }


def plan(
    role: str,
    name: str,
    *,
    site: str,
    server: str,
    out: Path,
    pki_dir: Path,
    layout: Layout | None = None,
    roster: Path | None = None,
    gallery_key: Path | None = None,
    store_url: str | None = None,
    central: Path | None = None,
    dry_run: bool = False,
) -> Plan:
    """What provisioning `role` `name` writes into `out` (nothing is written here)."""
    from edge.config.loader import ConfigError, parse_config_text
    from edge.config.model import IDENT

    lay = layout or Layout()
    for what, value in (("name", name), ("site", site)):
        if not re.match(IDENT, value):
            raise ProvisionError(f"{what} {value!r}: letters, digits, '_', '.', '-' (it is part of MQTT topics)")
    p = Plan(role, name, out)
    unit = render_unit(role, name, lay)  # refuses roles that cannot run yet
    host, port = _server_host_port(server, 8883)
    if role == "gateway":
        text = "# Provisioned by `edge provision gateway`; every key: docs/configuration.md\n" + yaml.safe_dump(
            gateway_config(name, site, host, port, lay, with_crl=_crl(pki_dir) is not None), sort_keys=False
        )
        try:  # the model validates it; files are checked on the target by `edge config validate` / `edge doctor`
            parse_config_text(text, file="config.yaml", env={}, base_dir=lay.config_dir)
        except ConfigError as exc:
            raise ProvisionError(f"the generated config does not validate:\n{exc}") from None
        p.add("config.yaml", text)
        p.add("roster.csv", roster.read_bytes() if roster else EMPTY_ROSTER, 0o600)  # card UIDs
        if roster is None:
            p.notes.append("roster.csv is empty until the centre publishes one (edge distribution publish SITE)")
        if gallery_key is not None:
            p.add("gallery.key", gallery_key.read_bytes(), 0o600)
        else:
            p.notes.append("install.sh makes this gateway's own gallery key; its gallery comes from the centre")
        p.notes.append("edit config.yaml's gates (camera source, reader port, controller) for this gate's hardware")
    else:  # a centre role: one centre.env for all of them, its own extras, the central configuration
        p.add(CENTRE_ENV, centre_env(store_url or default_store(lay), host, port, lay), 0o640)
        extra = "EDGE_WEB_HOST=127.0.0.1\nEDGE_WEB_PORT=8080\n" if role == "web" else ""
        p.add(f"{role}.env", f"{extra}EDGE_METRICS={METRICS[role]}\n", 0o640)
        if central is not None:
            from edge.config.central import load_central_config

            try:
                load_central_config(central, sends=False)  # secrets: notifier.env, on the target
            except ConfigError as exc:
                raise ProvisionError(f"{central} does not validate:\n{exc}") from None
            p.add("central.yaml", central.read_bytes(), 0o640)
        else:
            p.notes.append(f"no --central: copy central.yaml (channels, schools) to {lay.config_dir}/central.yaml")
        if store_url is None:
            p.notes.append(f"no --store: the centre's store is {default_store(lay)} (SQLite; one server)")
        if role == "notifier":
            p.notes.append("channel secrets (${EDGE_SMTP_PASSWORD}, …) go in notifier.env, read by this unit only")
        if role == "web":
            p.notes.append("then: `edge server user add --store URL --role admin --site SITE NAME` (the first admin)")
            p.notes.append("put HTTPS in front of 127.0.0.1:8080 (a reverse proxy); the unit serves plain HTTP locally")
            p.notes.append(
                f"install.sh makes the centre's gallery key ({lay.config_dir}/centre.key, once): the web app builds,"
                " signs and publishes rosters and galleries to the gateways by itself"
            )
    _tls(p, pki_dir, site, ROLES[role].pki_role, dry_run)
    p.add(unit_name(role), unit)
    if role == "web":
        from edge.ops.timers import render_retention_units

        for file_name, text in render_retention_units(lay).items():
            p.add(file_name, text)
        p.notes.append("install.sh enables edge-retention.timer: central.yaml's retention policy runs daily at 02:15")
        p.notes.append(
            "the web app sends the parents' sign-in codes itself: the secrets of the channels that carry them"
            " (${EDGE_SMS_TOKEN}, ${EDGE_ZALO_TOKEN}, …) go in web.env too (or install notifier.env on this machine)"
        )
    p.add("install.sh", _install_script(role, lay), 0o755)
    return p


def _install_script(role: str, lay: Layout) -> str:
    etc, var, unit = lay.config_dir, lay.state_dir, unit_name(role)
    timers = enable_timers = ""
    if role == "web":
        from edge.ops.timers import RETENTION_TIMER, RETENTION_UNITS

        timers = "".join(f"install -m 0644 {u} /etc/systemd/system/{u}\n" for u in RETENTION_UNITS)
        enable_timers = f"systemctl enable --now {RETENTION_TIMER}\n"
    secret = "tls/*.key" + (" gallery.key" if role == "gateway" else "")
    own_key = (
        _key_step(etc / "gallery.key") if role == "gateway" else _key_step(etc / "centre.key") if role == "web" else ""
    )
    same_centre = (
        f"""if [ -e {etc}/{CENTRE_ENV} ] && ! cmp -s {CENTRE_ENV} {etc}/{CENTRE_ENV}; then
  echo "{etc}/{CENTRE_ENV} differs from this bundle's: every centre unit must use one store and one broker" >&2
  diff {etc}/{CENTRE_ENV} {CENTRE_ENV} >&2 || true
  echo "provision every centre role with the same --store and --server (or remove the old file first)" >&2
  exit 1
fi
"""
        if role != "gateway"
        else ""
    )
    return f"""#!/bin/sh
# Generated by `edge provision {role}`. Run as root on the target machine, from this folder. Idempotent.
set -eu
cd "$(dirname "$0")"
id edge >/dev/null 2>&1 || useradd --system --home-dir {var} --shell /usr/sbin/nologin edge
{"usermod -a -G dialout,video edge" if role == "gateway" else ":"}
{same_centre}install -d -m 0750 -o root -g edge {etc} {etc}/tls
install -d -m 0750 -o edge -g edge {var}
for f in *.yaml *.env *.csv tls/*.crt tls/crl.pem; do
  if [ "$f" = "{role}.env" ] && [ -e "{etc}/$f" ]; then continue; fi  # the site's own settings (secrets) are kept
  if [ -e "$f" ]; then install -m 0640 -o root -g edge "$f" "{etc}/$f"; fi
done
for f in {secret}; do  # read by systemd (LoadCredential=), not by the edge user
  if [ -e "$f" ]; then install -m 0600 -o root -g root "$f" "{etc}/$f"; fi
done
{own_key}install -m 0644 {unit} /etc/systemd/system/{unit}
{timers}systemctl daemon-reload
systemctl enable --now {unit}
{enable_timers}systemctl --no-pager status {unit} | head -5
"""


def _key_step(key: Path) -> str:
    """A key made once on the target, never copied: a gateway's own at-rest key for the gallery the centre sends
    (gallery.key), the web app's key for the centre's sealed galleries it builds and publishes (centre.key)."""
    return (
        f"if [ ! -e {key} ]; then (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' > {key};"
        f" echo >> {key}); fi\n"
    )


def describe(p: Plan) -> list[str]:
    return [f"{f.state():9} {f.path} ({oct(f.mode)})" for f in p.files] + [f"note: {n}" for n in p.notes]
