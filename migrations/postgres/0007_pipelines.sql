-- PostgreSQL twin of ../sqlite/0007_pipelines.sql: every record keyed by its pipeline;
-- what was there belongs to `default`; the run lock is one lease row per pipeline.
-- PostgreSQL changes keys in place (constraint names are PostgreSQL's defaults, as
-- 0001–0006 created them).

ALTER TABLE members DROP CONSTRAINT members_source_provider_source_id_target_fkey;
ALTER TABLE membership DROP CONSTRAINT membership_source_provider_source_id_target_fkey;

ALTER TABLE links ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE links ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE links DROP CONSTRAINT links_source_provider_source_id_target_key;
ALTER TABLE links ADD CONSTRAINT links_pipeline_key UNIQUE (pipeline, source_provider, source_id, target);
DROP INDEX links_target;
CREATE INDEX links_target ON links (pipeline, target);

ALTER TABLE members ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE members ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE members DROP CONSTRAINT members_pkey;
ALTER TABLE members ADD PRIMARY KEY (pipeline, source_provider, source_id, target, email_hash);
ALTER TABLE members ADD CONSTRAINT members_link_fkey FOREIGN KEY (pipeline, source_provider, source_id, target)
    REFERENCES links (pipeline, source_provider, source_id, target) ON DELETE CASCADE;

ALTER TABLE membership ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE membership ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE membership DROP CONSTRAINT membership_pkey;
ALTER TABLE membership ADD PRIMARY KEY (pipeline, source_provider, source_id, target);
ALTER TABLE membership ADD CONSTRAINT membership_link_fkey FOREIGN KEY (pipeline, source_provider, source_id, target)
    REFERENCES links (pipeline, source_provider, source_id, target) ON DELETE CASCADE;

ALTER TABLE intents ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE intents ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE intents DROP CONSTRAINT intents_source_provider_source_id_target_key;
ALTER TABLE intents ADD CONSTRAINT intents_pipeline_key UNIQUE (pipeline, source_provider, source_id, target);

ALTER TABLE contact_ids ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE contact_ids ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE contact_ids DROP CONSTRAINT contact_ids_pkey;
ALTER TABLE contact_ids ADD PRIMARY KEY (pipeline, target, email_hash);

ALTER TABLE no_account ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE no_account ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE no_account DROP CONSTRAINT no_account_pkey;
ALTER TABLE no_account ADD PRIMARY KEY (pipeline, target, email_hash);

ALTER TABLE guards ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE guards ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE guards DROP CONSTRAINT guards_pkey;
ALTER TABLE guards ADD PRIMARY KEY (pipeline, name);

ALTER TABLE verify_cursors ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE verify_cursors ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE verify_cursors DROP CONSTRAINT verify_cursors_pkey;
ALTER TABLE verify_cursors ADD PRIMARY KEY (pipeline, target);

ALTER TABLE verify_pages ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE verify_pages ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE verify_pages DROP CONSTRAINT verify_pages_pkey;
ALTER TABLE verify_pages ADD PRIMARY KEY (pipeline, target);

ALTER TABLE run_lock ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
ALTER TABLE run_lock ALTER COLUMN pipeline DROP DEFAULT;
ALTER TABLE run_lock DROP CONSTRAINT run_lock_pkey;
ALTER TABLE run_lock DROP CONSTRAINT run_lock_id_check;
ALTER TABLE run_lock DROP COLUMN id;
ALTER TABLE run_lock ADD PRIMARY KEY (pipeline);

ALTER TABLE runs ADD COLUMN pipeline TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_pipeline ON runs (pipeline, id);
