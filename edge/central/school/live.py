"""LiveSchools: the schools' directories as the store holds them NOW — what the notifier, the collector's notify
hook, the web app and the distributor run on. It is a read-only Mapping[site_id, SchoolDirectory], so code that
took the old `dict` of directories loaded from files keeps working.

Two ways to follow the store, both cheap:
- `get()` checks the school's version at most every `check_s` (one indexed row read) and reloads when it moved —
  enough for request-driven readers (the web app), and needs no thread;
- `start()` runs a StateWatcher (LISTEN/NOTIFY on PostgreSQL, a poll on SQLite) that reloads at once and calls
  the listeners (`subscribe`) — for background loops (notifier, collector, distributor).

A reload that fails (the store is down) keeps the last good state and records the problem (`problems`), shown on
the web app's Today page to the office.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from edge.central.notify.directory import SchoolDirectory
from edge.central.school.state import SchoolState, load_school, school_ids, school_problem, version_of
from edge.central.school.watch import StateWatcher
from edge.central.web.db import WebDb
from edge.config.central import CentralConfig

log = logging.getLogger(__name__)

Listener = Callable[[SchoolState], None]


class LiveSchools(Mapping[str, SchoolDirectory]):
    """Every school in the store, with central.yaml's channels and templates joined in (SchoolState.directory).
    A school central.yaml lists but the store does not hold is absent, with its problem in `problems`."""

    def __init__(self, db: WebDb, cfg: CentralConfig | None, *, check_s: float = 1.0, poll_s: float = 1.0) -> None:
        self.db = db
        self.cfg = cfg
        self.check_s = check_s
        self.poll_s = poll_s
        self.problems: dict[str, list[str]] = {}
        self._states: dict[str, SchoolState] = {}
        self._dirs: dict[str, SchoolDirectory] = {}
        self._checked: dict[str, float] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._watcher: StateWatcher | None = None
        self.reloads = 0
        self.reload_all()

    # loading -------------------------------------------------------------------------------------------------------
    def reload_all(self) -> None:
        try:
            wanted = set(school_ids(self.db))
        except Exception as exc:  # a store without the school tables (not migrated): every school has a problem
            log.error("the store's schools cannot be read: %s", exc)
            wanted = set()
        if self.cfg is not None:
            wanted |= {s.id for s in self.cfg.schools}
        for site in sorted(wanted):
            self.reload(site)

    def reload(self, site_id: str) -> SchoolState | None:
        """Read the school again now; listeners hear of it when its version moved."""
        with self._lock:
            try:
                state = load_school(self.db, site_id)
            except Exception as exc:
                log.error("school %s: not reloaded from the store (the last state stays): %s", site_id, exc)
                self.problems[site_id] = [f"school {site_id}: the store could not be read: {exc}"]
                return self._states.get(site_id)
            self._checked[site_id] = time.monotonic()
            if state is None:
                self.problems[site_id] = [school_problem(self.db, site_id) or f"school {site_id}: not in the store"]
                return None
            old = self._states.get(site_id)
            self._states[site_id] = state
            self._dirs[site_id] = state.directory(self.cfg)
            problem = school_problem(self.db, site_id)
            if problem is None:
                self.problems.pop(site_id, None)
            else:
                self.problems[site_id] = [problem]
            self.reloads += 1
            listeners = list(self._listeners) if old is None or old.version != state.version else []
        for fn in listeners:
            try:
                fn(state)
            except Exception:
                log.exception("school %s: a listener failed on version %d", site_id, state.version)
        return state

    def _fresh(self, site_id: str) -> None:
        """The lazy check: at most every check_s, one row read; reload when the version moved."""
        if time.monotonic() - self._checked.get(site_id, float("-inf")) < self.check_s:
            return
        self._checked[site_id] = time.monotonic()
        try:
            version = version_of(self.db, site_id)
        except Exception as exc:
            log.warning("school %s: version check failed: %s", site_id, exc)
            return
        current = self._states.get(site_id)
        if current is None or current.version != version:
            self.reload(site_id)

    # following ------------------------------------------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> None:
        """`fn(state)` after every reload that brought a new version (from the watcher thread or a get())."""
        with self._lock:
            self._listeners.append(fn)

    def start(self, *, name: str = "school-watch") -> LiveSchools:
        """Follow the store from a watcher thread (LISTEN/NOTIFY or poll); reload everything once it watches."""

        def changed(site: str, _version: int) -> None:
            self.reload(site)

        self._watcher = StateWatcher(self.db.url, changed, self.poll_s, name=name)
        self._watcher.start()
        self.reload_all()  # what changed before the watcher started
        # the watcher reloads from now on: get() never reads the store, so the collector's notify hook, called
        # inside its batch transaction, never waits on a reload
        self.check_s = float("inf")
        return self

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    # reading ---------------------------------------------------------------------------------------------------------
    def state(self, site_id: str) -> SchoolState | None:
        self._fresh(site_id)
        return self._states.get(site_id)

    def states(self) -> list[SchoolState]:
        with self._lock:
            return [self._states[k] for k in sorted(self._states)]

    def get(self, site_id: str, default: SchoolDirectory | None = None) -> SchoolDirectory | None:  # type: ignore[override]
        self._fresh(site_id)
        return self._dirs.get(site_id, default)

    def __getitem__(self, site_id: str) -> SchoolDirectory:
        d = self.get(site_id)
        if d is None:
            raise KeyError(site_id)
        return d

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(sorted(self._dirs))

    def __len__(self) -> int:
        return len(self._dirs)

    def __contains__(self, site_id: object) -> bool:
        return site_id in self._dirs

    def snapshot(self) -> Mapping[str, SchoolDirectory]:
        with self._lock:
            return dict(self._dirs)
