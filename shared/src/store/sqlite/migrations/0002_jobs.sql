-- The embedded job queue: what SQS + DLQ are on AWS.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,         -- idempotency key: enqueueing twice is one job
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,            -- JSON
    status        TEXT NOT NULL,            -- pending | active | dead
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    run_at        INTEGER NOT NULL,         -- pending: not before; active: lock expiry
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs(status, run_at);
