-- Workers (issue 20): which scheduled run of each pipeline was taken and which was done.
-- A run takes its due time (`claimed_due`) once it holds the pipeline's run lock and
-- records it done (`done_due`) when it ends, so another worker neither runs the same due
-- time again nor leaves a due time whose run died unfinished: it resumes that one.
-- Times are RFC 3339 UTC text of fixed width, so text order is time order.
CREATE TABLE schedule_slots (
    pipeline    TEXT PRIMARY KEY,
    claimed_due TEXT,
    done_due    TEXT,
    updated_at  TEXT NOT NULL
);

-- The due time a run served (NULL: a run asked for by hand).
ALTER TABLE runs ADD COLUMN due TEXT;
