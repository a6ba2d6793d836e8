"""After a gateway is provisioned or revoked: the broker's ACL and CRL rewritten from the PKI, and the running
Mosquitto told to read them — by the tool itself, so that nobody has to remember it (#20: a provisioned gateway's
first tap came back "Not authorized" because nobody had re-run `edge broker config` and reloaded).

Why a generated ACL + CRL reloaded by SIGHUP, and not Mosquitto's dynamic-security plugin:
- a revocation has to reach the TLS layer: only the CRL refuses a stolen gateway's handshake, and Mosquitto reads
  the CRL at start and on SIGHUP only. The plugin manages users and ACLs, not certificates, so a site would need
  the reload anyway: one mechanism instead of two;
- the PKI stays the one source of truth for who exists and what each role may do (broker_config.acl_for): the
  plugin keeps its own JSON database of clients and roles at the broker, a second copy to keep in step, changed
  through an admin account on the $CONTROL topics (one more secret, one more identity able to grant rights);
- SIGHUP costs nothing visible: connected clients stay connected (Mosquitto 2 re-reads the ACL and re-checks
  every later publish against it), and it is measured in tests/test_deploy_broker.py (provision → the broker
  accepts the new gateway's publish, within one probe round trip of the reload).

The broker folder (`edge broker config --out DIR`) records where its PKI is and how to reload it (`broker.json`):
a command (default `systemctl reload mosquitto`: Debian's unit sends SIGHUP to its main process; Mosquitto run in
the foreground by systemd writes no PID file) or the PID file of a Mosquitto that writes one (`-d`). The ACL and
CRL are replaced atomically (temp file + rename) keeping the owner of the file they replace: Mosquitto reads them
as the user it dropped to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edge.contract.topics import DEFAULT_PREFIX
from edge.security.broker_config import acl_text
from edge.security.pki import Pki, PkiError

RECORD = "broker.json"
SYSTEMD_RELOAD = ("systemctl", "reload", "mosquitto")


class BrokerReloadError(Exception):
    pass


@dataclass(frozen=True)
class BrokerDeployment:
    dir: Path
    pki_dir: Path
    prefix: str = DEFAULT_PREFIX
    pidfile: Path | None = None
    """When set, SIGHUP the process it names instead of running reload_command."""
    reload_command: tuple[str, ...] = SYSTEMD_RELOAD
    host: str = "localhost"
    """Where the tools on this server reach the broker to check what it accepts (one of its certificate's names)."""
    port: int = 8883

    @property
    def acl(self) -> Path:
        return self.dir / "acl"

    @property
    def crl(self) -> Path:
        return self.dir / "crl.pem"


def save(dep: BrokerDeployment) -> Path:
    doc = {
        "pki": str(dep.pki_dir),
        "prefix": dep.prefix,
        "pidfile": str(dep.pidfile) if dep.pidfile else None,
        "reload_command": list(dep.reload_command),
        "host": dep.host,
        "port": dep.port,
    }
    path = dep.dir / RECORD
    _replace(path, (json.dumps(doc, indent=2) + "\n").encode(), 0o600)
    return path


def load(folder: Path) -> BrokerDeployment:
    path = folder / RECORD
    try:
        doc = json.loads(path.read_text())
        return BrokerDeployment(
            folder,
            Path(doc["pki"]),
            str(doc.get("prefix") or DEFAULT_PREFIX),
            Path(doc["pidfile"]) if doc.get("pidfile") else None,
            tuple(str(a) for a in doc.get("reload_command") or SYSTEMD_RELOAD),
            str(doc.get("host") or "localhost"),
            int(doc.get("port") or 8883),
        )
    except FileNotFoundError:
        raise BrokerReloadError(f"{path} not found: write it with `edge broker config --out {folder}`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BrokerReloadError(f"{path}: {exc}") from None


def _replace(path: Path, data: bytes, mode: int) -> bool:
    """Write `data` to `path` atomically, keeping an existing file's owner and group; False when unchanged."""
    try:
        st: os.stat_result | None = path.stat()
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        st = None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    if st is not None and (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        os.chown(tmp, st.st_uid, st.st_gid)  # root rewrites the files of the broker's user
    os.replace(tmp, path)
    return True


def generated(pki: Pki, dep: BrokerDeployment) -> list[tuple[Path, bytes, int]]:
    """(path, content, mode) of every file of the broker folder that follows the PKI: the ACL, the CRL, and the
    broker plugin's rules where the folder has them (edge/security/broker_config.py writes them all the first time;
    a rule text generator there, `rules_text`, is picked up as it is)."""
    from edge.security import broker_config

    files = [(dep.acl, acl_text(pki, dep.prefix).encode(), 0o600), (dep.crl, pki.crl_path.read_bytes(), 0o644)]
    rules_text = getattr(broker_config, "rules_text", None)
    rules = dep.dir / "edge_acl.rules"
    if rules_text is not None and rules.exists():
        files.append((rules, str(rules_text(pki, dep.prefix)).encode(), 0o600))
    return files


def refresh(dep: BrokerDeployment) -> bool:
    """The generated files from the PKI, each replaced atomically; True when one changed."""
    pki = Pki(dep.pki_dir)
    if not pki.exists():
        raise BrokerReloadError(f"no site PKI in {dep.pki_dir} (named by {dep.dir / RECORD})")
    changed = [_replace(path, data, mode) for path, data, mode in generated(pki, dep)]
    return any(changed)


def reload(dep: BrokerDeployment) -> str:
    """Make the running broker read its ACL and CRL again; returns how (for the operator's log)."""
    if dep.pidfile is None and dep.reload_command:
        proc = subprocess.run(list(dep.reload_command), capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise BrokerReloadError(
                f"`{' '.join(dep.reload_command)}` exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}"
            )
        return f"ran `{' '.join(dep.reload_command)}`"
    if dep.pidfile is None:
        raise BrokerReloadError(f"{dep.dir / RECORD} names neither a pidfile nor a reload command")
    try:
        pid = int(dep.pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise BrokerReloadError(f"no broker PID in {dep.pidfile}: {exc} (is Mosquitto running?)") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise BrokerReloadError(f"no process {pid} (from {dep.pidfile}): is Mosquitto running?") from None
    except PermissionError:
        raise BrokerReloadError(f"not allowed to signal process {pid}: run as root (or the broker's user)") from None
    return f"sent SIGHUP to mosquitto (pid {pid})"


def apply(folder: Path) -> str:
    """refresh + reload, for `edge provision`, `edge pki revoke --broker-dir` and `edge broker refresh`."""
    dep = load(folder)
    try:
        refresh(dep)
    except PkiError as exc:
        raise BrokerReloadError(str(exc)) from None
    return reload(dep)
