-- Never a false absence notice (#20): the evidence that the school's gates were healthy, recorded by the collector
-- (edge/central/gates/evidence.py), and the absence batches the notifier held because they were not
-- (edge/central/gates/holds.py). Times are Unix seconds (REAL) as in notify_jobs.
-- One row per period a collector was connected to the broker and subscribed; `until_at` moves on every beat.
CREATE TABLE collector_uptime (
    collector_id TEXT NOT NULL,
    since_at REAL NOT NULL,
    until_at REAL NOT NULL,
    PRIMARY KEY (collector_id, since_at)
);
-- Each gateway's link as the collector last saw it: retained status, last message, last health report, last check-in.
CREATE TABLE gateway_links (
    site_id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_at REAL NOT NULL,
    last_seen REAL,
    health_at REAL,
    outbox_depth INTEGER,
    outbox_oldest_age_s REAL,
    last_checkin_at REAL,
    PRIMARY KEY (site_id, gateway_id)
);
-- Every change of a gateway's status (online / offline / stopped), so a past window can be judged.
CREATE TABLE gateway_link_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX gateway_link_log_gw ON gateway_link_log (site_id, gateway_id, at);
-- A cut-off's absence notices held because the gates were not healthy; the office releases or drops the batch.
CREATE TABLE absence_holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    day TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'releasing', 'released', 'dropped')),
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    decided_by TEXT,
    decided_at REAL,
    done_at REAL,
    queued INTEGER,
    arrived_since INTEGER,
    UNIQUE (site_id, day, cutoff)
);
CREATE INDEX absence_holds_open ON absence_holds (site_id, status);
-- The notices a held batch would send: one row per (student, guardian) key of notify_jobs.
CREATE TABLE absence_hold_items (
    hold_id INTEGER NOT NULL REFERENCES absence_holds (id),
    key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    name TEXT NOT NULL,
    class_name TEXT NOT NULL,
    channel TEXT NOT NULL,
    PRIMARY KEY (hold_id, key)
);
