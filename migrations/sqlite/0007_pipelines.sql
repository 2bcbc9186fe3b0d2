-- Pipelines (issue 20): one state database holds several pipelines (a source account,
-- its targets, its mapping, its schedule), so every record is keyed by its pipeline.
-- What was there belongs to the pipeline `default`, the one a single-pipeline config
-- runs. The run lock becomes one lease row per pipeline.
--
-- SQLite cannot change a table's keys in place: each keyed table is rebuilt under a new
-- name, filled from the old one, and renamed. Children of `links` (members, membership)
-- are dropped before `links`, so dropping it cascades into nothing; renaming `links_new`
-- rewrites the references of the new children to `links`.

CREATE TABLE links_new (
    id               INTEGER PRIMARY KEY,
    pipeline         TEXT NOT NULL,
    source_provider  TEXT NOT NULL,
    source_id        TEXT NOT NULL,
    target           TEXT NOT NULL,
    target_provider  TEXT NOT NULL,
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
    stale_since      TEXT,
    drift            TEXT,
    drift_at         TEXT,
    UNIQUE (pipeline, source_provider, source_id, target)
);
INSERT INTO links_new (id, pipeline, source_provider, source_id, target, target_provider,
        target_id, stable_key, group_name, payload_hash, fidelity, fidelity_reasons,
        last_result, last_error, created_at, updated_at, stale_since, drift, drift_at)
    SELECT id, 'default', source_provider, source_id, target, target_provider,
        target_id, stable_key, group_name, payload_hash, fidelity, fidelity_reasons,
        last_result, last_error, created_at, updated_at, stale_since, drift, drift_at
    FROM links;

CREATE TABLE members_new (
    pipeline        TEXT NOT NULL,
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    email_hash      TEXT NOT NULL,
    PRIMARY KEY (pipeline, source_provider, source_id, target, email_hash),
    FOREIGN KEY (pipeline, source_provider, source_id, target)
        REFERENCES links_new (pipeline, source_provider, source_id, target) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO members_new SELECT 'default', source_provider, source_id, target, email_hash
    FROM members;

CREATE TABLE membership_new (
    pipeline        TEXT NOT NULL,
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    member_count    INTEGER NOT NULL DEFAULT 0,
    without_email   INTEGER NOT NULL DEFAULT 0,
    synced_at       TEXT,
    held_runs       INTEGER NOT NULL DEFAULT 0,
    held_reason     TEXT,
    last_result     TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    without_account INTEGER,
    PRIMARY KEY (pipeline, source_provider, source_id, target),
    FOREIGN KEY (pipeline, source_provider, source_id, target)
        REFERENCES links_new (pipeline, source_provider, source_id, target) ON DELETE CASCADE
);
INSERT INTO membership_new (pipeline, source_provider, source_id, target, member_count,
        without_email, synced_at, held_runs, held_reason, last_result, last_error,
        updated_at, without_account)
    SELECT 'default', source_provider, source_id, target, member_count, without_email,
        synced_at, held_runs, held_reason, last_result, last_error, updated_at,
        without_account
    FROM membership;

DROP TABLE members;
DROP TABLE membership;
DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
ALTER TABLE members_new RENAME TO members;
ALTER TABLE membership_new RENAME TO membership;
CREATE INDEX links_target ON links (pipeline, target);

CREATE TABLE intents_new (
    id              INTEGER PRIMARY KEY,
    pipeline        TEXT NOT NULL,
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    target_provider TEXT NOT NULL,
    stable_key      TEXT NOT NULL,
    group_name      TEXT NOT NULL,
    payload_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent            INTEGER NOT NULL DEFAULT 0 CHECK (sent IN (0, 1)),
    UNIQUE (pipeline, source_provider, source_id, target)
);
INSERT INTO intents_new (id, pipeline, source_provider, source_id, target, target_provider,
        stable_key, group_name, payload_hash, created_at, sent)
    SELECT id, 'default', source_provider, source_id, target, target_provider,
        stable_key, group_name, payload_hash, created_at, sent
    FROM intents;
DROP TABLE intents;
ALTER TABLE intents_new RENAME TO intents;

CREATE TABLE contact_ids_new (
    pipeline   TEXT NOT NULL,
    target     TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, target, email_hash)
) WITHOUT ROWID;
INSERT INTO contact_ids_new SELECT 'default', target, email_hash, contact_id FROM contact_ids;
DROP TABLE contact_ids;
ALTER TABLE contact_ids_new RENAME TO contact_ids;

CREATE TABLE no_account_new (
    pipeline   TEXT NOT NULL,
    target     TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, target, email_hash)
) WITHOUT ROWID;
INSERT INTO no_account_new SELECT 'default', target, email_hash, checked_at FROM no_account;
DROP TABLE no_account;
ALTER TABLE no_account_new RENAME TO no_account;

CREATE TABLE guards_new (
    pipeline   TEXT NOT NULL,
    name       TEXT NOT NULL,
    held_runs  INTEGER NOT NULL DEFAULT 0,
    reason     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, name)
);
INSERT INTO guards_new SELECT 'default', name, held_runs, reason, updated_at FROM guards;
DROP TABLE guards;
ALTER TABLE guards_new RENAME TO guards;

CREATE TABLE verify_cursors_new (
    pipeline        TEXT NOT NULL,
    target          TEXT NOT NULL,
    after_source_id TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (pipeline, target)
);
INSERT INTO verify_cursors_new SELECT 'default', target, after_source_id, updated_at
    FROM verify_cursors;
DROP TABLE verify_cursors;
ALTER TABLE verify_cursors_new RENAME TO verify_cursors;

CREATE TABLE verify_pages_new (
    pipeline   TEXT NOT NULL,
    target     TEXT NOT NULL,
    page       INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, target)
);
INSERT INTO verify_pages_new SELECT 'default', target, page, updated_at FROM verify_pages;
DROP TABLE verify_pages;
ALTER TABLE verify_pages_new RENAME TO verify_pages;

-- One lease per pipeline. A lease held while this migration runs belongs to `default`.
CREATE TABLE run_lock_new (
    pipeline    TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       TEXT,
    acquired_at TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    pid         INTEGER,
    process_ns  TEXT
);
INSERT INTO run_lock_new SELECT 'default', holder, token, acquired_at, lease_until, pid, process_ns
    FROM run_lock;
DROP TABLE run_lock;
ALTER TABLE run_lock_new RENAME TO run_lock;

-- Runs keep their ids (events refer to them); a column says whose they are.
ALTER TABLE runs ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_pipeline ON runs (pipeline, id);
