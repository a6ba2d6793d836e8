"""The README's main job: `edge demo` runs end to end on the bundled data and exits 0."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    edge = Path(sys.executable).parent / "edge"
    res = subprocess.run(
        [str(edge), "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    assert "demo OK" in out
    # every check-in the gateway published is in the collector's database (how many unknown-face events the
    # video yields depends on how fast this machine plays it against the debounce window)
    assert re.search(r"published (\d+) check-ins, collector stored \1;", out), out[-800:]
    assert "present 4/6" in out and "1 denied card(s)" in out
    # its private broker was stopped: nothing listens on its port any more
    port = int(re.search(r"private mosquitto on 127.0.0.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
