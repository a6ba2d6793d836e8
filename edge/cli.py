"""The `edge` command line: the root group and its one list of command groups.

One convention: every command lives in its package's `commands.py` (the options, help and exit codes; thin, the
work is in the package), and is registered here, in COMMANDS. What several of them share is in cli_common.py. A
command imports its package's machinery when it runs, so `edge --help` (and a mistyped option on a Pi) stays cheap;
tests/test_cli_layout.py holds the convention."""

from __future__ import annotations

import click

from edge import __version__
from edge.bench.commands import bench
from edge.central.attendance.commands import export_cmd, report_cmd
from edge.central.collector.commands import collector
from edge.central.commands import bridge, provision_cmd
from edge.central.distribution.commands import distribution
from edge.central.notify.commands import calendar, notify
from edge.central.parents.commands import privacy
from edge.central.school.commands import school
from edge.central.security.commands import broker_group, command_group, pki_group
from edge.central.store.commands import db_group
from edge.central.web.commands import server
from edge.config.commands import config
from edge.demo.commands import demo_cmd
from edge.gateway.commands import doctor_cmd, gateway
from edge.recognition.commands import enroll_cmd, gallery, identify_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Override the log level.",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Edge attendance: gateway, collector and tools."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level


COMMANDS: tuple[click.Command, ...] = (
    # the gateway
    config,
    gateway,
    doctor_cmd,
    provision_cmd,
    # recognition: enrolment and the gallery
    enroll_cmd,
    identify_cmd,
    gallery,
    # the centre
    collector,
    db_group,
    export_cmd,
    report_cmd,
    school,
    calendar,
    notify,
    privacy,
    distribution,
    server,
    bridge,
    # the site PKI, the broker, signed commands
    pki_group,
    broker_group,
    command_group,
    # the whole system, and its figures
    demo_cmd,
    bench,
)
"""Every top-level command, in one place (`edge --help` lists them by name)."""

for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="edge")
