-- Membership materialisation (issue 8): per link, the member set last synced to the
-- target group, as hashes of normalised emails (never profiles); per target, the
-- contact id behind each hash; per link, the counts and the mass-removal guard's memory.
-- Rows of a link go with the link (ON DELETE CASCADE): `forget` and archiving clear them.

CREATE TABLE members (
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    email_hash      TEXT NOT NULL,
    PRIMARY KEY (source_provider, source_id, target, email_hash),
    FOREIGN KEY (source_provider, source_id, target)
        REFERENCES links (source_provider, source_id, target) ON DELETE CASCADE
) WITHOUT ROWID;

-- The target's contact id for an email hash, shared by every group of that target.
CREATE TABLE contact_ids (
    target     TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (target, email_hash)
) WITHOUT ROWID;

CREATE TABLE membership (
    source_provider TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    target          TEXT NOT NULL,
    -- Members the target group holds as far as sgsync knows (= rows in `members`).
    member_count    INTEGER NOT NULL DEFAULT 0,
    -- Source people without a usable email at the last read.
    without_email   INTEGER NOT NULL DEFAULT 0,
    -- When the target last equalled the source (the Snapshot time); NULL before.
    synced_at       TEXT,
    -- Consecutive runs that held a mass removal back, and why.
    held_runs       INTEGER NOT NULL DEFAULT 0,
    held_reason     TEXT,
    last_result     TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (source_provider, source_id, target),
    FOREIGN KEY (source_provider, source_id, target)
        REFERENCES links (source_provider, source_id, target) ON DELETE CASCADE
);
