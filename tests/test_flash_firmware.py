"""scripts/flash_firmware.sh: the dry run checks the image and the tools without a board; broken, truncated or
oversized images and unknown programmers are refused with a message saying why."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "flash_firmware.sh"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)


def record(addr: int, data: bytes, kind: int = 0) -> str:
    body = bytes([len(data), addr >> 8, addr & 0xFF, kind]) + data
    return ":" + (body + bytes([-sum(body) & 0xFF])).hex().upper()


def test_dry_run_builds_checks_and_prints_the_avrdude_command() -> None:
    proc = run("--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "of 32256 bytes of flash" in proc.stdout
    assert "avrdude -p m328p -c arduino" in proc.stdout and "flash:w:" in proc.stdout


def test_images_that_must_not_be_flashed_are_refused(tmp_path: Path) -> None:
    good = [record(0, bytes(range(16))), record(0, b"", kind=1)]
    ok = tmp_path / "ok.hex"
    ok.write_text("\n".join(good) + "\n")
    assert run("--dry-run", "--hex", str(ok)).returncode == 0

    bad_sum = tmp_path / "bad.hex"
    bad_sum.write_text("\n".join([good[0][:-2] + "00", good[1]]) + "\n")
    proc = run("--dry-run", "--hex", str(bad_sum))
    assert proc.returncode != 0 and "bad checksum" in proc.stderr

    truncated = tmp_path / "truncated.hex"
    truncated.write_text(good[0] + "\n")
    proc = run("--dry-run", "--hex", str(truncated))
    assert proc.returncode != 0 and "truncated" in proc.stderr

    big = tmp_path / "big.hex"
    big.write_text("\n".join([record(0x7F00, bytes(16)), record(0, b"", kind=1)]) + "\n")  # ends at 32528
    proc = run("--dry-run", "--hex", str(big))
    assert proc.returncode != 0 and "room for 32256" in proc.stderr
    assert run("--dry-run", "--hex", str(big), "--programmer", "usbasp").returncode == 0  # no bootloader

    proc = run("--dry-run", "--hex", str(ok), "--programmer", "no-such-programmer")
    assert proc.returncode != 0 and "does not know programmer" in proc.stderr


def test_a_real_flash_needs_a_port_that_exists(tmp_path: Path) -> None:
    ok = tmp_path / "ok.hex"
    ok.write_text(record(0, bytes(4)) + "\n" + record(0, b"", kind=1) + "\n")
    assert "--port is required" in run("--hex", str(ok)).stderr
    proc = run("--hex", str(ok), "--port", str(tmp_path / "ttyUSB9"))
    assert proc.returncode != 0 and "no such port" in proc.stderr
