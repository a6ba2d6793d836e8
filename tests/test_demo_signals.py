"""`edge demo` stops every process it started, in reverse order, on SIGTERM, SIGINT and SIGHUP — however it was
started. The attack (issue #21): started in the background like `nohup edge demo --serve &` (SIGINT and SIGHUP
ignored) and stopped with SIGTERM, it exited and left Mosquitto, the collector, notifier, web app and gateway
running under PID 1. Each test starts the demo that way, sends one signal at one moment (while serving, and in the
middle of starting up), and checks that no process of the demo's tree survives it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import wait_until


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, None when it is gone (or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[1]), fields[19]) if fields[0] != "Z" else None


def descendants(root: int) -> dict[int, str]:
    """Every live process below `root` (children, theirs, …): pid -> start time (so a reused pid is not taken
    for a survivor)."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            procs[int(entry.name)] = st
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in procs.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def survivors(tree: dict[int, str]) -> list[str]:
    out = []
    for pid, started in tree.items():
        st = _stat(pid)
        if st is not None and st[1] == started:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out.append(f"{pid}: {cmd[:200]}")
    return out


def in_background() -> None:
    """What `nohup … &` leaves a program: SIGINT and SIGHUP ignored (and its own session here, so the test can
    clean up after a failure without touching anything else)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _lines(proc: subprocess.Popen[str], out: list[str], q: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line)
        q.put(line)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("sig", "when", "code"),
    [
        (signal.SIGTERM, "serving", 0),  # --serve's end: the stop and the checks run, as after Ctrl-C
        (signal.SIGINT, "5. notifier", 128 + signal.SIGINT),  # mid start-up: stopped, nothing more started
        (signal.SIGHUP, "7. gateway", 128 + signal.SIGHUP),
    ],
    ids=["SIGTERM-while-serving", "SIGINT-during-start-up", "SIGHUP-during-start-up"],
)
def test_a_stop_signal_stops_every_child(tmp_path: Path, sig: signal.Signals, when: str, code: int) -> None:
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "demo", "--workdir", str(work), "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, COLUMNS="160"),
        preexec_fn=in_background,  # noqa: PLW1509 (the point: a demo that inherited ignored signals)
        start_new_session=True,
    )
    out: list[str] = []
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, out, q), name="demo-output", daemon=True).start()
    tree: dict[int, str] = {}
    try:
        try:
            while not q.get(timeout=240).startswith(when):
                pass
        except queue.Empty:
            pytest.fail(f"the demo never printed {when!r}:\n" + "".join(out)[-4000:])
        # the processes running at this moment: broker, collector, notifier, web app, gateway (as far as started)
        wait_until(lambda: len(descendants(proc.pid)) >= 2, 30, "the demo's children")
        tree = descendants(proc.pid)
        proc.send_signal(sig)
        assert proc.wait(120) == code, "".join(out)[-4000:]
        text = "".join(out)
        left = survivors(tree)
        assert left == [], f"still running after {sig.name}:\n" + "\n".join(left)
        after = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _holds(p, str(work))]
        assert after == [], "a process of this demo (its folder on its command line) is still running"
        if code == 0:
            assert "demo OK" in text
        else:
            assert f"stopped by {sig.name}" in text and "demo OK" not in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid, started in tree.items():  # only the processes this test's demo started
            if (st := _stat(pid)) is not None and st[1] == started:
                os.kill(pid, signal.SIGKILL)


def _holds(proc_dir: Path, needle: str) -> bool:
    try:
        return needle in (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
