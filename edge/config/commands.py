"""`edge config validate`: a gateway's config and the files it names, checked before a deployment. Thin: the work
is in loader.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edge.cli_common import echo_issues
from edge.config.loader import ConfigError


@click.group()
def config() -> None:
    """Check gateway configuration files."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def config_validate(file: Path) -> None:
    """Validate FILE and the files it names (roster, gallery, keys, TLS); print every problem with its YAML path
    and line. Exit 1 when invalid."""
    from edge.config import load_config
    from edge.config.loader import ConfigIssue

    warnings: list[ConfigIssue] = []
    try:
        cfg = load_config(file, check_files=True, warnings=warnings)
    except ConfigError as exc:
        echo_issues(exc)
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(1)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    n_cam = sum(len(g.cameras) for g in cfg.gates)
    n_rdr = sum(len(g.readers) for g in cfg.gates)
    n_ctl = sum(1 for g in cfg.gates if g.controller)
    click.echo(
        f"{file}: OK (site {cfg.site_id}, gateway {cfg.gateway_id}, {len(cfg.gates)} gate(s), "
        f"{n_cam} camera(s), {n_rdr} reader(s), {n_ctl} controller(s))"
    )
