-- PostgreSQL twin of ../sqlite/0004_integrity.sql: the same tables and columns, in PostgreSQL's types
-- (BIGINT for SQLite's INTEGER, identity columns for its rowid keys). Forward-only.

-- Data integrity (issue 13).
--
-- The run lock is held under a random token: a holder is never known by a name that two
-- processes could share (two containers are both "pid 1" on the same host name).
-- A row left by an older binary has no token and is freed by its lease.
ALTER TABLE run_lock ADD COLUMN token TEXT;

-- Whether the create an intent protects was sent. A same-named group found on a target
-- that stores no key is adopted only when this store sent a create for it; an intent
-- recorded by an older binary counts as not sent (the next run looks it up and reports a
-- conflict rather than adopt a group it cannot prove is its own).
ALTER TABLE intents ADD COLUMN sent BIGINT NOT NULL DEFAULT 0 CHECK (sent IN (0, 1));

-- Guards that hold a run's destructive actions back until they are seen on several
-- consecutive runs (the orphan guard: many links losing their source group at once).
CREATE TABLE guards (
    name       TEXT PRIMARY KEY,
    -- Consecutive runs that held the action back, and why (the last time).
    held_runs  BIGINT NOT NULL DEFAULT 0,
    reason     TEXT,
    updated_at TEXT NOT NULL
);

-- Units per run that the orphan guard held, and creates left for a later run by
-- `max_creates_per_run`.
ALTER TABLE runs ADD COLUMN held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN deferred BIGINT NOT NULL DEFAULT 0;
