#!/usr/bin/env python3
"""Installed size and import time of each half, measured in throw-away virtualenvs.

For each role (gateway, centre, and all: what the demo and the tests install, and what every machine installed
before the split) a fresh venv gets exactly what scripts/bootstrap.sh --role installs: the role's lock files with
pip (from this machine's index, as bootstrap does), face-recognition --no-deps with the dlib group, then this
checkout, editable. Printed per role: the size of site-packages (and of the packages alone, above an empty venv's
pip and setuptools) and, over --runs fresh interpreters, the median import time of each entry module the role's
processes start with (`python -X importtime`: the module's cumulative line) and the CPU time of that interpreter,
next to `import edge.cli` (what every `edge` command loads first) and `pass` (an interpreter that imports nothing:
its CPU time is the start-up cost to subtract). Figures only: nothing is asserted (timings depend on the machine
and its load).

Usage: python3 scripts/measure_halves.py [--roles gateway centre all] [--runs 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "gateway": ["requirements.lock", "requirements-gateway.lock"],
    "centre": ["requirements.lock", "requirements-centre.lock"],
    "all": ["requirements.lock", "requirements-gateway.lock", "requirements-centre.lock", "requirements-dlib.lock"],
}
ENTRIES = {
    "gateway": ["edge.gateway.service", "edge.cli"],
    "centre": ["edge.central.web.app", "edge.central.collector.service", "edge.central.notify.worker", "edge.cli"],
    "all": ["edge.gateway.service", "edge.central.web.app", "edge.cli"],
}


def du(path: Path) -> int:
    """Bytes on disk under `path` (what `du -s` counts: allocated blocks)."""
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*") if not p.is_symlink())


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def install(venv: Path, role: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    reqs = [a for lock in LOCKS[role] for a in ("-r", str(ROOT / lock))]
    subprocess.run([*pip, "install", *reqs], check=True, cwd=ROOT)
    if "requirements-dlib.lock" in LOCKS[role]:
        subprocess.run([*pip, "install", "--no-deps", "face-recognition==1.3.0"], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True, cwd=ROOT)
    return time.monotonic() - started


def import_us(python: Path, module: str) -> tuple[int, float]:
    """The cumulative import time of `module` in a fresh interpreter, in microseconds (-X importtime), and the CPU
    seconds (user + system) the whole interpreter used: on a shared, loaded machine the wall time also counts the
    time spent waiting for a core, the CPU time does not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(
        [str(python), "-X", "importtime", "-c", f"import {module}" if module != "pass" else "pass"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
        env=env,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if module == "pass":
        return 0, cpu
    for line in r.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]), cpu
    raise RuntimeError(f"no importtime line for {module}:\n{r.stderr[-2000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roles", nargs="+", choices=list(LOCKS), default=list(LOCKS))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="Make the venvs in DIR and keep them (default: a temporary folder).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="edge-halves-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start")
    try:
        empty = work / "empty"
        if not empty.exists():
            subprocess.run([sys.executable, "-m", "venv", str(empty)], check=True)
        base = du(site_packages(empty))
        for role in args.roles:
            venv = work / role
            took = install(venv, role) if not (venv / "bin" / "python").exists() else 0.0
            size = du(site_packages(venv))
            print(
                f"{role}: site-packages {size / 2**20:.0f} MiB ({(size - base) / 2**20:.0f} MiB above an empty venv's"
                f" {base / 2**20:.0f} MiB)" + (f"; installed in {took:.0f} s" if took else "")
            )
            for module in ["pass", *ENTRIES[role]]:
                runs = [import_us(venv / "bin" / "python", module) for _ in range(args.runs)]
                wall = [us / 1000 for us, _ in runs]
                cpu = [s * 1000 for _, s in runs]
                print(
                    f"  import {module}: median {statistics.median(wall):.0f} ms wall (min {min(wall):.0f}, max"
                    f" {max(wall):.0f}); the interpreter's CPU {statistics.median(cpu):.0f} ms ({args.runs} runs)"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
