"""`edge server …`: run the web app, manage staff accounts and API tokens. Thin: the work is in server.py,
accounts.py and sessions.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from edge.central.web.accounts import LEAST_PRIVILEGE, ROLES, AccountError
from edge.recognition.backend import DEFAULT_MODEL, MODEL_NAMES

STORE = click.option(
    "--store",
    "store_url",
    required=True,
    help="The central store: sqlite:///PATH or postgresql://… (as the collector).",
)


def _accounts(store_url: str):  # type: ignore[no-untyped-def]
    from edge.central.store import open_store
    from edge.central.web.accounts import Accounts
    from edge.central.web.db import WebDb

    open_store(store_url).close()  # applies pending migrations (0004 makes the accounts tables)
    db = WebDb(store_url)
    return db, Accounts(db)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group("server")
def server() -> None:
    """The school web app: pages and a JSON API over the central store."""


@server.command("run")
@click.option("-c", "--config", "config", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@STORE
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="EDGE_WEB_HOST", help="Listen address (HTTPS in front)."
)
@click.option("--port", default=8080, show_default=True, type=int, envvar="EDGE_WEB_PORT")
@click.option("--pki", "pki_dir", default=None, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--identity", default=None, help="This server's identity in the PKI (role server): gates + commands.")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Site CA (instead of --pki).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="This server's certificate.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="This server's private key.")
@click.option("--mqtt-host", default="127.0.0.1", show_default=True, envvar="EDGE_MQTT_HOST")
@click.option("--mqtt-port", default=8883, show_default=True, type=int, envvar="EDGE_MQTT_PORT")
@click.option(
    "--forwarded-allow-ips",
    default=None,
    envvar="EDGE_FORWARDED_ALLOW_IPS",
    help="The HTTPS proxy's address(es), comma-separated: its X-Forwarded-For is the client's address "
    "(login limits, audit). Default: no proxy headers trusted.",
)
@click.option(
    "--insecure-cookies", is_flag=True, help="Cookies without Secure, for http://localhost only (tests, demo)."
)
@click.option(
    "--centre",
    "centre_dir",
    default=None,
    envvar="EDGE_CENTRE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The centre's distribution folder (as `edge distribution --centre`): faces enrolled on the Student page.",
)
@click.option(
    "--centre-key-file",
    "centre_key_file",
    default=None,
    envvar="EDGE_CENTRE_KEY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The centre's gallery key (as `edge distribution --key-file`). Env: EDGE_CENTRE_KEY_FILE.",
)
@click.option(
    "--metrics",
    "metrics_addr",
    default="127.0.0.1:9111",
    show_default=True,
    envvar="EDGE_METRICS",
    help="Serve Prometheus metrics (edge_web_*) on HOST:PORT; 'off' to disable.",
)
@click.option(
    "--centre-model", default=DEFAULT_MODEL, show_default=True, type=click.Choice(MODEL_NAMES), help="Gallery model."
)
def run_cmd(
    config: Path,
    store_url: str,
    host: str,
    port: int,
    pki_dir: Path | None,
    identity: str | None,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    mqtt_host: str,
    mqtt_port: int,
    forwarded_allow_ips: str | None,
    insecure_cookies: bool,
    centre_dir: Path | None,
    centre_key_file: Path | None,
    centre_model: str,
    metrics_addr: str,
) -> None:
    """Serve the web app (Today, classes, students, gates, reports, roster, /api/v1). With --centre and
    --centre-key-file the office enrols faces on the Student page; with --pki/--identity too, each change is
    signed and announced to the school's gateways (as `edge distribution publish`), and the distributor publishes
    each roster change (a web import, `edge school import`) to the gateways by itself."""
    from edge.central.web.server import ServerOptions, run
    from edge.logs import setup_logging
    from edge.ops.server_metrics import parse_listen

    root = click.get_current_context().find_root().obj or {}
    setup_logging(root.get("log_level") or "INFO")  # the distributor, the gates link, the watcher: on stderr
    try:
        parse_listen(metrics_addr)
    except ValueError as exc:
        _fail(str(exc))
    if (pki_dir is None) != (identity is None):
        _fail("--pki and --identity go together (the gates page and 'open gate' need both)")
    if len([p for p in (ca, cert, key) if p is not None]) not in (0, 3):
        _fail("--ca, --cert and --key go together (this server's own identity: the gates page and 'open gate')")
    if ca is not None and pki_dir is not None:
        _fail("give either --pki/--identity or --ca/--cert/--key")
    if (centre_dir is None) != (centre_key_file is None):
        _fail("--centre and --centre-key-file go together (the centre's galleries are sealed with that key)")
    if centre_key_file is not None:
        from edge.security.sealed import KeyFileError, read_key_file

        try:
            read_key_file(centre_key_file)
        except KeyFileError as exc:
            _fail(str(exc))
    from edge.central.catalogs import MissingCatalogs, check_compiled

    try:
        check_compiled()  # before anything starts: a page of raw keys is no page
    except MissingCatalogs as exc:
        _fail(str(exc))
    run(
        ServerOptions(
            config,
            store_url,
            host,
            port,
            pki_dir,
            identity,
            mqtt_host,
            mqtt_port,
            insecure_cookies=insecure_cookies,
            centre_dir=centre_dir,
            centre_key_file=centre_key_file,
            centre_model=centre_model,
            forwarded_allow_ips=forwarded_allow_ips,
            metrics=metrics_addr,
            tls_files=(ca, cert, key) if ca is not None and cert is not None and key is not None else None,
        )
    )


@server.group("user")
def user() -> None:
    """Staff accounts (admin, office, teacher, guard)."""


@user.command("add")
@STORE
@click.option(
    "--role",
    default=LEAST_PRIVILEGE,
    show_default=True,
    type=click.Choice(ROLES),
    help="Default: the least privilege, a teacher with no classes (sees no pupil, opens no gate).",
)
@click.option("--class", "classes", multiple=True, help="A teacher's class, as the roster spells it (repeatable).")
@click.option(
    "--site",
    default=None,
    help="The school the account belongs to; required for office, teacher and guard (an admin without one is the "
    "district admin of every school).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.argument("name")
def user_add(
    store_url: str, role: str, classes: tuple[str, ...], site: str | None, password_stdin: bool, name: str
) -> None:
    """Add the account NAME. The school and classes must be in the store, spelt as the roster writes them."""
    db, accounts = _accounts(store_url)
    from edge.central.school.state import check_account_scope

    problems = check_account_scope(db, site, classes)
    if problems:
        db.close()
        for p in problems:
            click.echo(p, err=True)
        _fail("the account was not added")
        return
    try:
        u = accounts.add(name, _password(password_stdin), role, site_id=site, classes=classes)
        from edge.central.web import audit

        audit.record(db, None, "user_add", {"user": u.username, "role": u.role, "classes": list(u.classes)}, "cli")
    except AccountError as exc:
        _fail(str(exc))
        return
    finally:
        db.close()
    click.echo(f"added {u.username} ({u.role}{', ' + ' '.join(u.classes) if u.classes else ''})")


@user.command("set")
@STORE
@click.option("--role", default=None, type=click.Choice(ROLES), help="The new role.")
@click.option("--class", "classes", multiple=True, help="The teacher's classes, replacing the old ones (repeatable).")
@click.option("--no-classes", is_flag=True, help="Take every class away.")
@click.argument("name")
def user_set(store_url: str, role: str | None, classes: tuple[str, ...], no_classes: bool, name: str) -> None:
    """Change NAME's role and/or classes (checked against the store). A changed role, or a class taken away, ends
    the account's sessions and revokes its API tokens."""
    if role is None and not classes and not no_classes:
        _fail("nothing to change: give --role, --class or --no-classes")
    if classes and no_classes:
        _fail("--class and --no-classes contradict each other")
    db, accounts = _accounts(store_url)
    try:
        before = accounts.get(name)
        if before is None:
            raise AccountError(f"no user {name!r}")
        wanted = () if no_classes else (classes or None)
        if wanted:
            accounts.check_scope(before.site_id, wanted)
        u = accounts.change(name, role=role, classes=wanted)
        from edge.central.web import audit

        detail = {"user": name, "role": [before.role, u.role], "classes": [list(before.classes), list(u.classes)]}
        audit.record(db, None, "user_change", detail, "cli", u.site_id)
    except AccountError as exc:
        _fail(str(exc))
        return
    finally:
        db.close()
    click.echo(f"{u.username}: {u.role}{' ' + ' '.join(u.classes) if u.classes else ''} (school {u.site_id or '*'})")


@user.command("passwd")
@STORE
@click.option("--password-stdin", is_flag=True)
@click.argument("name")
def user_passwd(store_url: str, password_stdin: bool, name: str) -> None:
    """Set NAME's password (ends its sessions)."""
    db, accounts = _accounts(store_url)
    try:
        accounts.set_password(name, _password(password_stdin))
        from edge.central.web import audit

        audit.record(db, None, "user_passwd", {"user": name}, "cli")
    except AccountError as exc:
        _fail(str(exc))
    finally:
        db.close()
    click.echo(f"password changed for {name}")


@user.command("disable")
@STORE
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.argument("name")
def user_disable(store_url: str, enable: bool, name: str) -> None:
    """Disable NAME: its sessions end and its API tokens are revoked."""
    db, accounts = _accounts(store_url)
    try:
        accounts.set_disabled(name, not enable)
        from edge.central.web import audit

        audit.record(db, None, "user_enable" if enable else "user_disable", {"user": name}, "cli")
    except AccountError as exc:
        _fail(str(exc))
    finally:
        db.close()
    click.echo(f"{'enabled' if enable else 'disabled'} {name}")


@user.command("list")
@STORE
@click.option("--json", "as_json", is_flag=True)
def user_list(store_url: str, as_json: bool) -> None:
    db, accounts = _accounts(store_url)
    try:
        for u in accounts.list():
            row = {"username": u.username, "role": u.role, "site": u.site_id, "classes": list(u.classes)}
            if as_json:
                click.echo(json.dumps({**row, "disabled": u.disabled}))
            else:
                state = "DISABLED" if u.disabled else "active"
                click.echo(f"{u.username:20} {u.role:8} {u.site_id or '*':16} {' '.join(u.classes):16} {state}")
    finally:
        db.close()


@server.group("token")
def token() -> None:
    """API tokens for school information systems (Authorization: Bearer …)."""


@token.command("create")
@STORE
@click.option("--name", "label", default="api", show_default=True, help="What the token is for.")
@click.argument("username")
def token_create(store_url: str, label: str, username: str) -> None:
    """Create a token for USERNAME; printed once (only its hash is stored)."""
    from edge.central.web.sessions import ApiTokens

    db, accounts = _accounts(store_url)
    try:
        value = ApiTokens(db, accounts).create(username, label)
        from edge.central.web import audit

        audit.record(db, None, "token_create", {"user": username, "name": label}, "cli")
    except ValueError as exc:
        _fail(str(exc))
        return
    finally:
        db.close()
    click.echo(value)


@token.command("revoke")
@STORE
@click.argument("token_or_id")
def token_revoke(store_url: str, token_or_id: str) -> None:
    """Revoke a token (the token itself, or its id from `token list`)."""
    from edge.central.web.sessions import ApiTokens

    db, accounts = _accounts(store_url)
    try:
        n = ApiTokens(db, accounts).revoke(token_or_id)
        from edge.central.web import audit

        audit.record(db, None, "token_revoke", {"token": token_or_id[:16], "revoked": n}, "cli")
    except ValueError as exc:
        _fail(str(exc))
        return
    finally:
        db.close()
    if n == 0:
        _fail("no such active token")
    click.echo(f"revoked {n} token(s)")


@token.command("list")
@STORE
def token_list(store_url: str) -> None:
    from edge.central.web.sessions import ApiTokens

    db, accounts = _accounts(store_url)
    try:
        for t in ApiTokens(db, accounts).list():
            state = "revoked" if t["revoked_at"] else "active"
            click.echo(f"{t['id']}  {t['username']:20} {t['name']:16} {state}")
    finally:
        db.close()
