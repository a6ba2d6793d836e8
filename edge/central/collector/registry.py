"""The collector's allow-list of gateways, followed live from the store's registry (#20).

Provisioning (`edge provision gateway`, `edge school gateway add`, `edge school import --pki`) registers a gateway
in the store's `gateways` table; the collector reloads the list whenever a school's version moves (StateWatcher:
LISTEN/NOTIFY on PostgreSQL, a 1 s poll on SQLite), so a new gate's first tap is stored — not dead-lettered as
"unknown gateway" — without restarting the collector, and a revoked one is refused from the next reload on.

Until anything has ever been registered (a store from before #20), the PKI's list read at start stays in use, with
a warning saying how to move to the registry (`edge school import central.yaml --pki DIR`). A school's bridge
identity (`SITE/*`, district PKIs) always comes from the PKI.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from edge.central.school.edits import all_active_gateways
from edge.central.school.watch import StateWatcher
from edge.central.web.db import WebDb

log = logging.getLogger(__name__)


class GatewayRegistry:
    """`known()` → {"site/gateway", "site/*" …}, or None (accept every gateway: a lab without a PKI or list)."""

    def __init__(
        self,
        url: str,
        *,
        pki_known: set[str] | None = None,
        on_change: Callable[[set[str] | None], None] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.url = url
        self.pki_known = pki_known
        self.on_change = on_change
        self.poll_s = poll_s
        self._db = WebDb(url, pool_size=2)
        self._known: set[str] | None = None
        self._lock = threading.Lock()
        self._watcher: StateWatcher | None = None
        self.loads = 0

    def load(self) -> set[str] | None:
        """Read the registry now (and tell on_change)."""
        ever = int(self._db.query("SELECT count(*) AS n FROM gateways")[0]["n"])
        bridges = {k for k in (self.pki_known or set()) if k.endswith("/*")}
        if ever == 0:
            known = self.pki_known
            if known is not None:
                log.warning(
                    "the store's gateway registry is empty: using the PKI's gateways read at start; run "
                    "`edge school import central.yaml --pki DIR` so that new gateways are followed live"
                )
        else:
            known = {f"{site}/{gw}" for site, gw in all_active_gateways(self._db)} | bridges
        with self._lock:
            changed = known != self._known or self.loads == 0
            self._known = known
            self.loads += 1
        if changed:
            log.info("gateway registry: %s", "any gateway" if known is None else f"{len(known)} gateway(s)")
            if self.on_change is not None:
                self.on_change(known)
        return known

    def known(self) -> set[str] | None:
        with self._lock:
            return None if self._known is None else set(self._known)

    def start(self) -> GatewayRegistry:
        def changed(_site: str, _version: int) -> None:
            self.load()

        self._watcher = StateWatcher(self.url, changed, self.poll_s, name="gateway-registry")
        self._watcher.start()
        self.load()
        return self

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self._db.close()
