-- Web Push and Zalo ZNS (#24): parents' devices subscribed to Web Push, each device's delivery of a notice, and the
-- message fields a template channel (ZNS) fills its parameters from. See edge/central/notify/push_subscriptions.py.
-- One row per browser push subscription (its endpoint is unique to one device and one app install).
CREATE TABLE push_subscriptions (
    endpoint TEXT PRIMARY KEY,
    site_id TEXT NOT NULL, guardian_id TEXT NOT NULL,
    p256dh TEXT NOT NULL, auth TEXT NOT NULL,
    label TEXT, user_agent TEXT,
    created_at DOUBLE PRECISION NOT NULL, last_ok_at DOUBLE PRECISION
);
CREATE INDEX push_subscriptions_guardian ON push_subscriptions (site_id, guardian_id);
-- A device that accepted a notice (the push service answered 201): a retry of the job sends only to the others.
CREATE TABLE push_deliveries (
    job_key TEXT NOT NULL, endpoint TEXT NOT NULL, accepted_at DOUBLE PRECISION NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (job_key, endpoint)
);
ALTER TABLE notify_jobs ADD COLUMN fields TEXT;
