"""`edge privacy`: the retention policy's daily run and the record of processing.

edge privacy retention -c central.yaml --store URL [--centre DIR --centre-key-file F]   (daily: edge-retention.timer)
edge privacy record -c central.yaml [--lang vi|en]                                        (Markdown)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from edge.central.school.commands import STORE


@click.group("privacy")
def privacy() -> None:
    """Personal data: the retention policy (central.yaml `retention`) and the record of processing."""


@privacy.command("retention")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@STORE
@click.option(
    "--centre",
    "centre_dir",
    envvar="EDGE_CENTRE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The centre's galleries: a leaver's face templates are deleted there (EDGE_CENTRE_DIR).",
)
@click.option("--centre-key-file", envvar="EDGE_CENTRE_KEY_FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--journalctl", default="journalctl", show_default=True, help="The journalctl that vacuums the logs.")
def retention_cmd(
    config_path: Path, store_url: str, centre_dir: Path | None, centre_key_file: Path | None, journalctl: str
) -> None:
    """Apply the retention policy once: old check-ins, notices, audit rows, codes and sessions deleted; leavers'
    templates, card bindings and guardians' contacts erased. Prints what was done (JSON)."""
    from edge.central.parents.retention import enforce, vacuum_logs
    from edge.central.school.commands import _db
    from edge.config.central import load_central_config

    cfg = load_central_config(config_path, sends=False)  # it sends nothing: the channels' secrets are the notifier's
    links = {}
    if centre_dir is not None and centre_key_file is not None:
        from edge.central.distribution.centre import CentreStore
        from edge.central.web.enrolment import EnrolmentLink
        from edge.security.sealed import read_key_file

        link = EnrolmentLink(CentreStore(centre_dir, read_key_file(centre_key_file)))
        links = {s.id: link for s in cfg.schools}
    db = _db(store_url, migrate=False)
    try:
        site_ids = [s.id for s in cfg.schools]
        today = datetime.now(ZoneInfo(cfg.schools[0].timezone)).date()
        run = enforce(db, cfg.retention, site_ids, today, links=links)
    finally:
        db.close()
    out = {**run.as_dict(), "logs": vacuum_logs(cfg.retention.logs_days, journalctl)}
    click.echo(json.dumps(out, ensure_ascii=False))
    if run.errors:
        raise SystemExit(1)


@privacy.command("record")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="en",
    show_default=True,
    help="The record's language: vi for the school's file, en (the default) for the operator's.",
)
def record_cmd(config_path: Path, lang: str) -> None:
    """Print the record of processing (Markdown), generated from central.yaml."""
    from edge.central.parents.processing import record
    from edge.config.central import load_central_config

    click.echo(record(load_central_config(config_path, sends=False), lang), nl=False)
