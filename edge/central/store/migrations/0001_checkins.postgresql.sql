-- Check-ins stored once by event_id; rejects (the dead letters) kept with their reason.
-- occurred_at stays RFC 3339 UTC text with milliseconds, like SQLite: it sorts and compares as time.
CREATE TABLE checkins (
    event_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    gate TEXT,
    direction TEXT,
    occurred_at TEXT NOT NULL,
    seq BIGINT,
    method TEXT,
    person_id TEXT,
    decision TEXT,
    card_uid TEXT,
    distance DOUBLE PRECISION,
    device_id TEXT,
    clock_unsynced INTEGER,
    received_at DOUBLE PRECISION,
    payload TEXT
);
CREATE INDEX idx_checkins_gateway_id_seq ON checkins (gateway_id, seq);
CREATE INDEX idx_checkins_occurred_at ON checkins (occurred_at);
CREATE TABLE rejected (
    id BIGSERIAL PRIMARY KEY,
    received_at DOUBLE PRECISION,
    topic TEXT,
    reason TEXT,
    payload TEXT
);
