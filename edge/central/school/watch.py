"""StateWatcher: tells a process when a school's state changed in the store, so it reloads without a restart.

Mechanism: every edit bumps `school_versions.version` in its own transaction (edits.py). The watcher remembers
the versions it has seen and calls on_change(site_id, version) once for each school whose version moved.

- PostgreSQL: the edit also runs `NOTIFY edge_school_state, '<site_id>'`, delivered at commit; the watcher LISTENs
  on a dedicated autocommit connection and wakes at once, and still polls every `poll_s` (a NOTIFY is lost while
  the connection is down: after reconnecting the poll catches up).
- SQLite: there is no notification between processes; the watcher polls `school_versions` (one indexed read of a
  few rows, ~20 µs). Why not `PRAGMA data_version`: it changes whenever ANY other connection commits — in a school
  that is every check-in batch the collector writes (several a second at 07:00), so each would cost a full
  reload of the school (roster, guardians, calendar: milliseconds for 2,000 students) to find nothing changed;
  the counter changes only when the school's state does, and it names which school.

Start the watcher BEFORE loading the state: a change between start() and the load then fires once more (a
harmless reload) instead of being missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from edge.central.school.edits import CHANNEL
from edge.central.web.db import WebDb

log = logging.getLogger(__name__)

OnChange = Callable[[str, int], None]


class StateWatcher:
    """A named daemon thread with its own stop event. `start()` reads the current versions (not reported);
    every later version of a school is reported once, in order of discovery."""

    def __init__(self, url: str, on_change: OnChange, poll_s: float = 1.0, *, name: str = "school-watch") -> None:
        self.url = url
        self.on_change = on_change
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._seen: dict[str, int] = {}
        self._db = WebDb(url, pool_size=1)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.wakeups = 0
        """Rounds run (tests and the bench read it)."""

    @property
    def versions(self) -> dict[str, int]:
        return dict(self._seen)

    def _read(self) -> dict[str, int]:
        rows = self._db.query("SELECT site_id, version FROM school_versions")
        return {str(r["site_id"]): int(r["version"]) for r in rows}

    def start(self) -> StateWatcher:
        self._seen = self._read()
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._db.close()

    def check(self) -> list[tuple[str, int]]:
        """One round: report (and return) every school whose version moved since the last round."""
        self.wakeups += 1
        changed = [(site, v) for site, v in sorted(self._read().items()) if self._seen.get(site) != v]
        for site, v in changed:
            self._seen[site] = v
            try:
                self.on_change(site, v)
            except Exception:
                log.exception("school %s: reloading version %d failed; the previous state stays in force", site, v)
        return changed

    def _run(self) -> None:
        if self._db.engine == "postgresql":
            self._run_listen()
        else:
            while not self._stop.wait(self.poll_s):
                self._round()

    def _round(self) -> None:
        try:
            self.check()
        except Exception as exc:  # a store that is down for a moment: try again next round
            log.warning("school state watch: %s", exc)

    def _run_listen(self) -> None:
        import psycopg

        from edge.central.store.postgres import conninfo

        while not self._stop.is_set():
            conn: Any = None
            try:
                conn = psycopg.connect(conninfo(self.url), autocommit=True)
                conn.execute(f"LISTEN {CHANNEL}")
                self._round()  # what changed while (re)connecting
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=self.poll_s, stop_after=1):
                        break
                    self._round()
            except Exception as exc:  # reconnect after a pause; the poll catches up
                log.warning("school state watch (LISTEN %s): %s; retrying", CHANNEL, exc)
                self._stop.wait(self.poll_s)
            finally:
                if conn is not None:
                    conn.close()
