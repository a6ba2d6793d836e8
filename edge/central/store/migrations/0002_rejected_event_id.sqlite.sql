-- A dead letter remembers the event_id it was rejected under (NULL when the payload had none): a receipt
-- "rejected" may only name an event_id that has a row here (#6: receipts can't erase data).
ALTER TABLE rejected ADD COLUMN event_id TEXT;
CREATE INDEX idx_rejected_event_id ON rejected (event_id);
-- Retention deletes by school and date.
CREATE INDEX idx_checkins_site_occurred ON checkins (site_id, occurred_at);
