-- Parents' notifications (#9): the notification outbox. A job is inserted in the transaction that stores its
-- check-in (store_batch's on_stored hook, edge/central/notify/hook.py); the unique key (site, student, school day,
-- kind, guardian) makes a notice exactly-once; attempts keep every channel answer. See edge/central/notify/jobs.py.
CREATE TABLE notify_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL, person_id TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,
    guardian_id TEXT NOT NULL, channel TEXT NOT NULL, language TEXT NOT NULL, template TEXT NOT NULL,
    time TEXT NOT NULL, text TEXT NOT NULL, subject TEXT NOT NULL, event_id TEXT, phone TEXT, email TEXT,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, next_at REAL NOT NULL, lease_until REAL, sent_at REAL,
    last_error TEXT,
    UNIQUE (site_id, person_id, day, kind, guardian_id)
);
CREATE INDEX notify_jobs_due ON notify_jobs (status, channel, next_at);
CREATE INDEX notify_jobs_student ON notify_jobs (site_id, person_id, day);
CREATE TABLE notify_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id BIGINT NOT NULL REFERENCES notify_jobs (id),
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'retry', 'permanent', 'interrupted')),
    detail TEXT NOT NULL,
    duration_ms REAL
);
CREATE INDEX notify_attempts_job ON notify_attempts (job_id);
