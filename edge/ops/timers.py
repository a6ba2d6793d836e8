"""The centre's scheduled jobs as systemd timer + service pairs, rendered from edge/ops/systemd/ with this
install's paths: today one, the retention policy's daily run (`edge privacy retention`), provisioned with the web
app (`edge provision web`) because both need the centre's key (a leaver's face templates are deleted from the
centre's galleries) and there is one web app per centre. A timer, not cron: the run's output and exit status are
in the journal under the unit's name, `systemctl list-timers` shows the last and next run, and a server that was
off at the hour catches up at boot (Persistent=).
"""

from __future__ import annotations

from edge.ops.units import TEMPLATES, Layout, UnitError

RETENTION_UNITS = ("edge-retention.service", "edge-retention.timer")
RETENTION_TIMER = "edge-retention.timer"


def render_retention_units(layout: Layout | None = None) -> dict[str, str]:
    """{file name: unit text} of the retention run's service and timer."""
    lay = layout or Layout()
    out: dict[str, str] = {}
    for name in RETENTION_UNITS:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        for key, value in (
            ("@BIN@", str(lay.bin)),
            ("@PREFIX@", str(lay.prefix)),
            ("@CONFIG_DIR@", str(lay.config_dir)),
            ("@STATE_DIR@", str(lay.state_dir)),
        ):
            text = text.replace(key, value)
        body = "".join(line for line in text.splitlines() if not line.startswith("#"))
        if "@" in body.replace("@system-service", ""):
            raise UnitError(f"template {name} left a placeholder unfilled")
        out[name] = text
    return out
