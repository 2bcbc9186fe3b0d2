-- sgsync state: links, crash-safe create intents, runs with their events, and the run lock.
-- Forward-only: a later change is a new file, never an edit of this one.
-- Timestamps are RFC 3339 text in UTC with a fixed width (nanoseconds, `Z`), so that text
-- comparison is time comparison (the run lock relies on it).

CREATE TABLE links (
    id               INTEGER PRIMARY KEY,
    source_provider  TEXT NOT NULL,
    source_id        TEXT NOT NULL,
    target           TEXT NOT NULL,
    target_provider  TEXT NOT NULL,
    -- A create not yet confirmed is an intent, never a link without a target id.
    target_id        TEXT NOT NULL CHECK (length(target_id) > 0),
    stable_key       TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    payload_hash     TEXT,
    fidelity         TEXT NOT NULL,
    fidelity_reasons TEXT NOT NULL,
    last_result      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (source_provider, source_id, target)
);

CREATE INDEX links_target ON links (target);

CREATE TABLE intents (
    id              INTEGER PRIMARY KEY,
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    target_provider TEXT NOT NULL,
    stable_key      TEXT NOT NULL,
    group_name      TEXT NOT NULL,
    payload_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (source_provider, source_id, target)
);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,
    dry_run     INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    created     INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    orphaned    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    target    TEXT NOT NULL,
    action    TEXT NOT NULL,
    result    TEXT NOT NULL,
    error     TEXT,
    at        TEXT NOT NULL
);

CREATE INDEX events_run_id ON events (run_id);

-- At most one row: the current holder of the run lock and when its lease ends.
CREATE TABLE run_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
