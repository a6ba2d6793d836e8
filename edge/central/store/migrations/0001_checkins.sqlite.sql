-- The schema `edge collector run` made before migrations existed (sqlite_utils, edge/collector/store.py).
-- A database made then is recorded as being at this version without running it (see migrate.py: baseline).
CREATE TABLE checkins (
    event_id TEXT PRIMARY KEY,
    site_id TEXT,
    gateway_id TEXT,
    gate TEXT,
    direction TEXT,
    occurred_at TEXT,
    seq INTEGER,
    method TEXT,
    person_id TEXT,
    decision TEXT,
    card_uid TEXT,
    distance FLOAT,
    device_id TEXT,
    clock_unsynced INTEGER,
    received_at FLOAT,
    payload TEXT
);
CREATE INDEX idx_checkins_gateway_id_seq ON checkins (gateway_id, seq);
CREATE INDEX idx_checkins_occurred_at ON checkins (occurred_at);
CREATE TABLE rejected (
    id INTEGER PRIMARY KEY,
    received_at FLOAT,
    topic TEXT,
    reason TEXT,
    payload TEXT
);
