"""Files a gateway config refers to must exist before the gateway starts: `edge config validate` (and
`edge doctor`) check them, each problem with the file:line of the key that names it and what to do.

Kept apart from the model: loading a config (tests, reloads, tools) does not depend on the machine's disk;
validating one for a gateway does. What stops the gateway (roster, TLS files, an unwritable database folder) is
an error; what only disables a part (no gallery or key: cards only; a camera device not plugged in: retried) is
a warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.config.model import GatewayConfig

Loc = tuple[str | int, ...]
Issue = tuple[Loc, str, bool]
"""(YAML location, message, fatal)."""


def missing_files(cfg: GatewayConfig) -> list[Issue]:
    """Every referenced file that is absent or unreadable."""
    out: list[Issue] = []

    def need(loc: Loc, path: str | Path, what: str, fix: str, fatal: bool = True) -> None:
        p = Path(path)
        if not p.exists():
            out.append((loc, f"{what} {p} does not exist ({fix})", fatal))
        elif not p.is_file():
            out.append((loc, f"{what} {p} is not a file", fatal))
        elif not os.access(p, os.R_OK):
            msg = f"{what} {p} is not readable by this user (uid {os.getuid()}): check its owner and mode"
            out.append((loc, msg, fatal))

    need(
        ("roster", "path"), cfg.roster.path, "roster", "export it from the school system: person_id,name,class,card_uid"
    )
    has_cameras = any(g.cameras for g in cfg.gates)
    if has_cameras:
        cards_only = "the gateway then runs on cards alone"
        need(("gallery", "path"), cfg.gallery.path, "gallery", f"make it with 'edge enroll'; {cards_only}", False)
        if cfg.gallery.key_credential is None:
            fix = f"the key the gallery was sealed with; {cards_only}"
            need(("gallery", "key_file"), cfg.gallery.key_file, "gallery key", fix, False)
    for gi, g in enumerate(cfg.gates):
        for ci, c in enumerate(g.cameras):
            if not (c.source.isdigit() or "://" in c.source):
                if c.source.startswith("/dev/"):
                    if not Path(c.source).exists():
                        msg = f"camera device {c.source} is not present (plugged in? the gateway keeps retrying)"
                        out.append((("gates", gi, "cameras", ci, "source"), msg, False))
                else:
                    need(("gates", gi, "cameras", ci, "source"), c.source, "camera video", "a file path or a device")
    tls: Any = getattr(cfg.broker, "tls", None)
    if tls is not None:
        for key in ("ca", "cert", "key"):
            value = getattr(tls, key, None)
            if isinstance(value, str | Path):
                need(("broker", "tls", key), value, f"TLS {key}", "'edge provision' or 'edge pki issue' makes it")
    db_dir = Path(cfg.storage.database).parent
    if db_dir.exists() and not os.access(db_dir, os.W_OK):
        msg = f"folder {db_dir} is not writable by this user (uid {os.getuid()})"
        out.append((("storage", "database"), msg, True))
    return out


def file_issues(cfg: GatewayConfig, file: str, line_of: Callable[[Loc], int | None]) -> tuple[list[Any], list[Any]]:
    """missing_files() as ConfigIssues pointing at the key's line: (errors, warnings)."""
    from edge.config.loader import ConfigIssue, format_loc

    issues = [(ConfigIssue(file, line_of(loc), format_loc(loc), msg), fatal) for loc, msg, fatal in missing_files(cfg)]
    return [i for i, fatal in issues if fatal], [i for i, fatal in issues if not fatal]
