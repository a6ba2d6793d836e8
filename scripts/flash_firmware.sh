#!/usr/bin/env bash
# Build the gate controller firmware and flash it to an ATmega328P with avrdude, verifying after the write.
#
#   scripts/flash_firmware.sh --port /dev/ttyUSB0                    # Arduino Nano/Uno bootloader (optiboot)
#   scripts/flash_firmware.sh --port usb --programmer usbasp         # an ISP programmer (whole 32 KB flash)
#   scripts/flash_firmware.sh --dry-run                              # check the image, no board needed
#
# Options: --port P (serial device or 'usb'), --programmer ID (avrdude -c; default arduino), --baud N (default
# 115200; old Nano bootloaders: 57600), --hex FILE (flash this image instead of building one), --dry-run.
# A dry run builds (or reads) the image, checks it is valid Intel HEX that fits the flash, checks that avrdude
# knows the part and the programmer, and prints the avrdude command it would run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fw="$root/firmware_bridge/firmware"
port="" programmer="arduino" baud=115200 hex="" dry_run=0
die() { printf 'flash_firmware: %s\n' "$*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --programmer) programmer="${2:?--programmer needs a value}"; shift 2 ;;
    --baud) baud="${2:?--baud needs a value}"; shift 2 ;;
    --hex) hex="${2:?--hex needs a file}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ $dry_run = 1 ] || [ -n "$port" ] || die "--port is required (e.g. /dev/ttyUSB0), or use --dry-run"

# The bootloader keeps the top 512 bytes; an ISP programmer writes the whole flash.
limit=32256
[ "$programmer" = "arduino" ] || limit=32768

if [ -z "$hex" ]; then
  command -v avr-gcc >/dev/null 2>&1 || die "avr-gcc missing: run scripts/bootstrap.sh --dev (installs gcc-avr, avr-libc)"
  make -s -C "$fw" FLASH_LIMIT=$limit all >&2 || die "firmware build failed"
  hex="$fw/build/gate.hex"
fi
[ -f "$hex" ] || die "no image at $hex"

# Intel HEX check: every record well formed with a correct checksum, an end record, and the size.
size=$(python3 - "$hex" <<'PY'
import sys
top = 0
end = False
with open(sys.argv[1]) as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith(":"):
            sys.exit(f"line {n}: not an Intel HEX record")
        try:
            rec = bytes.fromhex(line[1:])
        except ValueError:
            sys.exit(f"line {n}: not hexadecimal")
        if len(rec) < 5 or len(rec) != rec[0] + 5:
            sys.exit(f"line {n}: length field disagrees with the record")
        if sum(rec) & 0xFF:
            sys.exit(f"line {n}: bad checksum")
        kind, addr = rec[3], rec[1] << 8 | rec[2]
        if kind == 0:
            top = max(top, addr + rec[0])
        elif kind == 1:
            end = True
if not end:
    sys.exit("no end-of-file record: the image is truncated")
print(top)
PY
) || die "$hex is not a valid image"
[ "$size" -le "$limit" ] || die "image is $size bytes; the flash has room for $limit with programmer $programmer"
printf 'image %s: %d of %d bytes of flash (%d%%)\n' "$hex" "$size" "$limit" $((100 * size / limit))

command -v avrdude >/dev/null 2>&1 || die "avrdude missing: sudo apt-get install avrdude"
programmers="$(avrdude -c '?' 2>&1 || true)" parts="$(avrdude -p '?' 2>&1 || true)"
grep -qE "^ +$programmer +=" <<<"$programmers" || die "avrdude does not know programmer '$programmer' (avrdude -c '?' lists them)"
grep -qE "^ +m328p +=" <<<"$parts" || die "avrdude does not know the ATmega328P (m328p)"

# avrdude reads the flash back and compares after writing (no -V): a bad write fails here.
cmd=(avrdude -p m328p -c "$programmer" -P "${port:-PORT}" -b "$baud" -U "flash:w:$hex:i")
if [ $dry_run = 1 ]; then
  printf 'dry run: image and tools are fine; would run:\n  %s\n' "${cmd[*]}"
  exit 0
fi
[ "$port" = usb ] || [ -e "$port" ] || die "no such port $port (is the board plugged in? ls /dev/ttyUSB* /dev/ttyACM*)"
"${cmd[@]}"
echo "flashed and verified: $hex"
