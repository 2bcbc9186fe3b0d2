-- PostgreSQL twin of ../sqlite/0006_verification.sql: the same tables and columns, in PostgreSQL's types
-- (BIGINT for SQLite's INTEGER, identity columns for its rowid keys). Forward-only.

-- The target is checked, not assumed (issue 17).
--
-- Per link: since when the copy is stale (its source changed, but the target cannot
-- update a group: GoSquared), and the drift last found on it (deleted, renamed,
-- archived or edited by hand) with when it was first seen. A push clears both.
-- Numbered apart from the membership work beside it, so either may land first.
ALTER TABLE links ADD COLUMN stale_since TEXT;
ALTER TABLE links ADD COLUMN drift TEXT;
ALTER TABLE links ADD COLUMN drift_at TEXT;

-- Per target: where the rotating content check goes on (the source id verified last),
-- so every link is read back in turn, a slice per run.
CREATE TABLE verify_cursors (
    target          TEXT PRIMARY KEY,
    after_source_id TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Per target whose listing does not fit a run's budget: the page the next window of
-- it starts at.
CREATE TABLE verify_pages (
    target     TEXT PRIMARY KEY,
    page       BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Units per run that found drift, and copies left stale.
ALTER TABLE runs ADD COLUMN drift BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN stale BIGINT NOT NULL DEFAULT 0;
