-- Consent to face recognition (#24, Decree 13/2023/ND-CP: a face template is sensitive personal data, processed for
-- a child only with consent, which can be withdrawn). One row per decision, never updated: the history is the
-- record (who gave or withdrew it, when, how). The latest row of a student says whether a face may be enrolled.
-- Renumber at merge: state 0005, holds 0006, deploy 0007, channels 0008 -> this one after them.
CREATE TABLE consents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('given', 'withdrawn')),
    given_by TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('paper', 'app')),
    recorded_by TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_student ON consents (site_id, person_id, id);
