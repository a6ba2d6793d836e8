"""`edge broker config`: a closed Mosquitto for a site, written from its PKI.

Why an ACL per identity, generated: with `use_identity_as_username` the broker knows each client by its
certificate's CN, and each role's rights follow from the topic layout (edge/contract/topics.py). Writing the ACL
from the PKI keeps the two in step — issuing or revoking an identity, then re-running this command and reloading the
broker (SIGHUP) is the whole procedure. Mosquitto's `pattern` lines would apply to every user; explicit `user` blocks
say exactly who may do what, and a revoked identity has none (on top of the CRL refusing its handshake).

What each role may do (prefix `edge/v1`, site S):
- gateway G: publish S/G/{checkin,status,health,device} and S/G/cmd/+/result; read S/G/receipt and S/G/cmd/+,
  and S/distribution/# (the gallery and roster the centre signs: edge/central/distribution).
- collector C: read +/+/checkin (through its shared subscription), publish +/+/receipt and collectors/C/status.
- server: read everything under the prefix (web app, notifier); publish its own site's commands, notifications
  and distributions (S/+/cmd/+, S/notify/+, S/distribution/+/manifest and S/distribution/+/+/+, their exact
  depths: nothing a server writes has the shape S/G/checkin of a gateway's check-in, except under the reserved
  names `notify` and `distribution` that no gateway may have, edge/contract/topics.py) — no other site's: on a broker
  that carries several schools, one school's server identity cannot announce another school's gallery or
  command its gates.
- operator: publish commands; read status, health, device events and command results.
- bridge B (a school's Mosquitto at the district broker; B is the school's site id): publish B/+/{checkin,status,
  health,device} and B/+/cmd/+/result; read B/+/receipt and B/+/cmd/+. Its own school only: the
  school's gateways are known to the school's broker; the district trusts its bridge for that site and no other.
Nobody else connects: no anonymous clients, no certificate no handshake.

Two more rules, which the acl_file cannot hold, are the broker plugin's (edge/security/broker_plugin.py, rules
written here by rules_text): only collectors may make a shared subscription (`$share/GROUP/{prefix}/+/+/checkin`,
any group), and retained messages are taken only on status topics and the site's distribution topics.

One client, one identity: the listener replaces whatever client id a client asks for with its certificate's
name (`use_username_as_clientid`), so no certificate can take over another's session (issue #21: a gateway's
certificate with the collector's client id kicked the collector off). An identity therefore has one
connection at a time: a second one with the same certificate replaces the first; each process (and each
collector instance) needs its own identity.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from edge.contract.topics import DEFAULT_PREFIX, RESERVED_GATEWAY_IDS
from edge.security.broker_plugin import build_plugin
from edge.security.pki import Identity, Pki, PkiError, check_name
from edge.security.private_files import private_dir, write_private

MAX_PACKET_BYTES = 262_144
"""The broker drops larger packets (and the client that sent them): no check-in, command or receipt is near it,
and it bounds what any client can make the others parse."""


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    acl: Path
    rules: Path
    plugin: Path
    ca: Path
    cert: Path
    key: Path
    crl: Path


def acl_for(ident: Identity, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The ACL lines of one identity (none for a revoked one or the broker itself)."""
    if ident.revoked or ident.role == "broker":
        return []
    site, name = ident.site, ident.name
    lines = [f"# {ident.role} {name}", f"user {name}"]
    if ident.role == "gateway":
        if name in RESERVED_GATEWAY_IDS:  # its topics would be the site's own (edge/contract/topics.py)
            return [f"# gateway {name}: no rights, the name is reserved ({prefix}/{site}/{name}/# is not its own)", ""]
        base = f"{prefix}/{site}/{name}"
        lines += [f"topic write {base}/{leaf}" for leaf in ("checkin", "status", "health", "device", "cmd/+/result")]
        lines += [f"topic read {base}/receipt", f"topic read {base}/cmd/+"]
        lines += [f"topic read {prefix}/{site}/distribution/#"]  # the centre's signed gallery and roster
    elif ident.role == "collector":
        lines += [
            f"topic read {prefix}/+/+/checkin",
            f"topic read {prefix}/+/+/status",  # the gateways' health, the evidence before absence notices
            f"topic read {prefix}/+/+/health",
            f"topic write {prefix}/+/+/receipt",
            f"topic readwrite {prefix}/collectors/{name}/status",
        ]
    elif ident.role == "server":
        lines += [
            f"topic read {prefix}/#",
            f"topic write {prefix}/{site}/+/cmd/+",  # its own site only (the identity's site, from its certificate)
            f"topic write {prefix}/{site}/notify/+",
            f"topic write {prefix}/{site}/distribution/+/manifest",
            f"topic write {prefix}/{site}/distribution/+/+/+",
            f"topic readwrite {prefix}/servers/{name}/status",
        ]
    elif ident.role == "bridge":
        base = f"{prefix}/{name}/+"  # a bridge is named after the school (site) it carries
        lines += [f"topic write {base}/{leaf}" for leaf in ("checkin", "status", "health", "device", "cmd/+/result")]
        lines += [f"topic read {base}/receipt", f"topic read {base}/cmd/+"]
    elif ident.role == "operator":
        lines += [
            f"topic write {prefix}/+/+/cmd/+",
            f"topic read {prefix}/+/+/cmd/+/result",
            f"topic read {prefix}/+/+/status",
            f"topic read {prefix}/+/+/health",
            f"topic read {prefix}/+/+/device",
        ]
    return [*lines, ""]


def acl_text(pki: Pki, prefix: str = DEFAULT_PREFIX) -> str:
    out = [f"# Written by 'edge broker config' from the PKI of site {pki.site}. Do not edit: re-run it.", ""]
    for ident in pki.identities():
        out += acl_for(ident, prefix)
    return "\n".join(out) + "\n"


def rules_text(pki: Pki, prefix: str = DEFAULT_PREFIX) -> str:
    """The edge_acl plugin's rules: who may make a shared subscription, where a retained message may be kept."""
    out = [f"# Written by 'edge broker config' from the PKI of site {pki.site}. Do not edit: re-run it.", ""]
    out += ["# shared subscriptions: collectors only, of check-ins only (any group: several collectors, one group)"]
    out += [
        f"share {i.name} $share/+/{prefix}/+/+/checkin"
        for i in pki.identities()
        if i.role == "collector" and not i.revoked
    ]
    out += ["", "# retained messages: a client's status (its will) and the centre's signed distributions, nowhere else"]
    out += [f"retain {prefix}/+/+/status", f"retain {prefix}/+/distribution/#"]
    return "\n".join(out) + "\n"


def conf_text(
    files: BrokerFiles,
    *,
    port: int,
    bind: str,
    persistence_dir: Path,
    persistence: bool = True,
    log_file: Path | None = None,
    run_as: str | None = None,
) -> str:
    lines = [
        "# Written by 'edge broker config'. A closed broker: TLS with client certificates, the site CA, the ACL.",
        "per_listener_settings false",
        *([f"user {run_as}"] if run_as else []),
        "allow_anonymous false",
        f"acl_file {files.acl}",
        f"plugin {files.plugin}",
        f"plugin_opt_rules {files.rules}",
        f"persistence {'true' if persistence else 'false'}",
        f"persistence_location {persistence_dir}/",
        "autosave_interval 30",
        f"max_packet_size {MAX_PACKET_BYTES}",
        "max_queued_messages 100000",
        "",
        f"listener {port} {bind}" if bind else f"listener {port}",
        f"cafile {files.ca}",
        f"certfile {files.cert}",
        f"keyfile {files.key}",
        f"crlfile {files.crl}",
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
        "tls_version tlsv1.2",
        "",
    ]
    lines += [f"log_dest file {log_file}"] if log_file else ["log_dest stderr"]
    lines += ["log_type error", "log_type warning", "log_type notice", "log_type information"]
    lines += ["connection_messages true"]
    return "\n".join(lines) + "\n"


def write_broker_config(
    pki: Pki,
    out: Path,
    *,
    site: str | None = None,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    port: int = 8883,
    bind: str = "",
    broker_name: str = "broker",
    prefix: str = DEFAULT_PREFIX,
    log_file: Path | None = None,
    persistence: bool = True,
    run_as: str | None = None,
) -> BrokerFiles:
    """Write (or rewrite: idempotent) the broker's folder: its certificate and key (issued once, role broker,
    with `hosts` as names), copies of the CA and the CRL, the ACL and mosquitto.conf.

    Mosquitto started as root drops to the user `mosquitto` (or `run_as`) before it reads the ACL: the folder
    and the key must belong to that user (`chown -R mosquitto: OUT`, in the README), as they are 0700/0600."""
    if site is not None and site != pki.site:
        raise PkiError(f"the PKI in {pki.dir} is for site {pki.site!r}, not {site!r}")
    check_name(broker_name)
    ident = pki.issue(broker_name, "broker", hosts=hosts)
    private_dir(out)
    files = BrokerFiles(
        conf=out / "mosquitto.conf",
        acl=out / "acl",
        rules=out / "edge_acl.rules",
        plugin=build_plugin(out),
        ca=out / "ca.crt",
        cert=out / "broker.crt",
        key=out / "broker.key",
        crl=out / "crl.pem",
    )
    shutil.copyfile(pki.ca_cert_path, files.ca)
    shutil.copyfile(ident.cert_path, files.cert)
    write_private(files.key, ident.key_path.read_bytes())
    shutil.copyfile(pki.crl_path, files.crl)
    write_private(files.acl, acl_text(pki, prefix).encode())
    write_private(files.rules, rules_text(pki, prefix).encode())
    private_dir(out / "data")
    files.conf.write_text(
        conf_text(
            files,
            port=port,
            bind=bind,
            persistence_dir=out / "data",
            persistence=persistence,
            log_file=log_file,
            run_as=run_as,
        )
    )
    return files


def refresh_acl_and_crl(pki: Pki, files: BrokerFiles, prefix: str = DEFAULT_PREFIX) -> None:
    """After an issue or a revoke: the new ACL, plugin rules and CRL, for the broker to read at its next reload
    (SIGHUP)."""
    write_private(files.acl, acl_text(pki, prefix).encode())
    write_private(files.rules, rules_text(pki, prefix).encode())
    shutil.copyfile(pki.crl_path, files.crl)
