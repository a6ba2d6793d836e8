"""Start a process exactly as a generated systemd unit would: its ExecStart= with systemd's substitutions (%d the
credentials folder, ${VAR} from the environment), its EnvironmentFile= files in order ('-' optional), its
Environment= lines, its LoadCredential= files copied into a private credentials folder, its WorkingDirectory=, and
a NOTIFY_SOCKET (Type=notify) with WATCHDOG_USEC from WatchdogSec=. What the acceptance test of #20 does with the
units `edge provision` writes: nothing the unit does not say is added, except PATH/PYTHONPATH/HOME to find Python."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.units_support import parse


@dataclass(frozen=True)
class UnitCommand:
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def read_env_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= format, as far as provisioning writes it: KEY=VALUE lines, # comments, quotes."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+)(s|min)?", text)
    assert m, f"unsupported time span {text!r}"
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


def from_unit(unit_path: Path, credentials: Path, notify_socket: str | None = None) -> UnitCommand:
    unit = parse(unit_path.read_text(encoding="utf-8"))
    svc = unit["Service"]
    env = {k: os.environ[k] for k in ("PATH", "PYTHONPATH", "HOME", "LANG") if k in os.environ}
    for spec in svc.get("EnvironmentFile", []):
        optional = spec.startswith("-")
        path = Path(spec.lstrip("-"))
        if not path.exists():
            assert optional, f"{unit_path.name}: EnvironmentFile={spec} is missing (systemd would refuse to start)"
            continue
        env.update(read_env_file(path))
    for spec in svc.get("Environment", []):
        for word in shlex.split(spec):
            key, _, value = word.partition("=")
            env[key] = value
    credentials.mkdir(mode=0o700, parents=True, exist_ok=True)
    for spec in svc.get("LoadCredential", []):
        name, _, source = spec.partition(":")
        shutil.copyfile(source, credentials / name)
        os.chmod(credentials / name, 0o400)
    env["CREDENTIALS_DIRECTORY"] = str(credentials)
    if notify_socket is not None:
        env["NOTIFY_SOCKET"] = notify_socket
        if "WatchdogSec" in svc:
            env["WATCHDOG_USEC"] = str(int(_seconds(svc["WatchdogSec"][0]) * 1_000_000))
    [exec_start] = svc["ExecStart"]
    argv = []
    for word in shlex.split(exec_start):
        with_creds = word.replace("%d", str(credentials))
        argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), with_creds))
    cwd = Path(svc.get("WorkingDirectory", ["/"])[0])
    return UnitCommand(argv, env, cwd)


def start(cmd: UnitCommand, log: Path) -> subprocess.Popen[bytes]:
    cmd.cwd.mkdir(parents=True, exist_ok=True)  # StateDirectory= makes it
    out = log.open("wb")
    try:
        return subprocess.Popen(cmd.argv, env=cmd.env, cwd=cmd.cwd, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()
