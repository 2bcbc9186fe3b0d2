-- PostgreSQL twin of ../sqlite/0005_no_account.sql: the same tables and columns, in PostgreSQL's types
-- (BIGINT for SQLite's INTEGER, identity columns for its rowid keys). Forward-only.

-- Membership on targets whose people must already exist (issue 16: iSpring Learn, an
-- LMS where sgsync never creates users). Per target, the email hashes a lookup found no
-- user for, and when: such people are counted and reported, not looked up again on every
-- run (a run with no change makes no call), and looked up again once the verdict is old.
CREATE TABLE no_account (
    target     TEXT NOT NULL,
    email_hash TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (target, email_hash)
);

-- Source people of the link's group without an account on the target at the last run;
-- NULL for a target that creates contacts (emfluence).
ALTER TABLE membership ADD COLUMN without_account BIGINT;
