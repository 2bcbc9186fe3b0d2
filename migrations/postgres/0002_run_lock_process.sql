-- PostgreSQL twin of ../sqlite/0002_run_lock_process.sql: the same tables and columns, in PostgreSQL's types
-- (BIGINT for SQLite's INTEGER, identity columns for its rowid keys). Forward-only.

-- The process that holds the run lock, so that a run restarted after a crash (kill -9,
-- OOM kill, power loss of a container) can tell a dead holder from a live one instead of
-- waiting for the lease. NULL for holders that gave no process identity.
-- `process_ns` names the pid space: Linux boot id and pid namespace; a pid is only
-- compared within the same one.
ALTER TABLE run_lock ADD COLUMN pid BIGINT;
ALTER TABLE run_lock ADD COLUMN process_ns TEXT;
