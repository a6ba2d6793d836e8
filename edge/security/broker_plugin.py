"""The broker's `edge_acl` plugin (edge/security/mosquitto_plugin/edge_acl.c): built here, its rules written here.

Why a plugin: two rights the site needs cannot be said in Mosquitto 2.0.11's acl_file (Debian 12's broker):
- Subscriptions are not checked at all (src/security_default.c: "FIXME - implement ACL subscription strings"):
  any client may join `$share/collectors/…`, where the broker deals it a round-robin share of every check-in and
  then drops them on its read ACL — a gateway certificate could black-hole check-ins (issue #21).
- A PUBLISH's retain flag is not part of a rule: a gateway could leave thousands of retained messages on its
  own `cmd/+/result` topics for every new subscriber.
The dynamic-security plugin that ships with Mosquitto checks subscriptions but not the retain flag, does not
re-read its file on SIGHUP (provisioning and revocation reload the broker), learns identities only through its
$CONTROL API, and rewrites its own JSON file: a second, stateful source of truth for the PKI's identities. The
broker's plugin API (v5: MOSQ_EVT_ACL_CHECK, MOSQ_EVT_RELOAD) takes 200 lines of C that do exactly these two
checks, defer everything else to the acl_file, and re-read a rules file written, like the ACL, from the PKI.

The rules (one per line; `#` starts a comment):
    share USER PATTERN    USER may subscribe "$share/…" subscriptions PATTERN covers; no other "$share/…"
    retain PATTERN        a retained PUBLISH (or will) may be published on topics PATTERN matches; no other

It is compiled from source (a C compiler and the broker's headers: Debian's `gcc` and `mosquitto-dev`, which
scripts/bootstrap.sh installs) into the broker's folder, once per source version.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from edge.security.pki import PkiError

SOURCE = Path(__file__).parent / "mosquitto_plugin" / "edge_acl.c"
PLUGIN_FILE = "edge_acl.so"
HEADERS = Path("/usr/include/mosquitto_broker.h")


def source_digest() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def build_plugin(out_dir: Path) -> Path:
    """`out_dir/edge_acl.so`, compiled from SOURCE unless the one there was built from this very source."""
    target = out_dir / PLUGIN_FILE
    stamp = out_dir / (PLUGIN_FILE + ".sha256")
    digest = source_digest()
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return target
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not HEADERS.is_file():
        raise PkiError(
            "building the broker's edge_acl plugin needs a C compiler and Mosquitto's headers: "
            "apt-get install gcc mosquitto-dev (scripts/bootstrap.sh does)"
        )
    tmp = out_dir / (PLUGIN_FILE + ".tmp")
    cmd = [cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11", "-D_POSIX_C_SOURCE=200809L"]
    done = subprocess.run([*cmd, "-o", str(tmp), str(SOURCE)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PkiError(f"building the broker's edge_acl plugin failed:\n{done.stderr[-2000:]}")
    tmp.chmod(0o600)
    tmp.replace(target)
    stamp.write_text(digest + "\n")
    return target
