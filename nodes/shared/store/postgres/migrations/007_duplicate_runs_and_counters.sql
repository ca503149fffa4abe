-- Migration 007: cheap duplicates, counted stats, fewer index entries per write (issue 13).
--
-- 1. Duplicate runs. Consecutive `duplicate_seen` events of a key are one history event
--    { at, lastAt, count, reason and actor of the first }. The open run lives on the record
--    (run_* columns; its lastAt is the record's last_seen_at), so a duplicate delivery is one
--    record update and no history row. Whatever event comes next writes the run to history as one
--    row (last_at, count) before its own row; history() shows an open run as the key's last event.
-- 2. Stats from hourly counters (event_counts): every decision and transition adds to the counter
--    of its hour, at the end of its statement (after every row lock, in (hour, event, reason)
--    order, so two statements never wait on each other crosswise). A namespace's counters are
--    spread over a few slots by server process so that concurrent writers rarely share a row.
--    Stats sum the hours from the one holding `since` to the one holding `until`, as on Redis.
-- 3. Index entries that earned nothing: history's primary key on id (reads go through
--    history_key_idx, which holds the id) and history_at_idx (stats no longer scan history);
--    records_lease_idx (stuck claims are read through records_lease_any_idx: only keys in flight
--    are in it, across namespaces).
--
-- The functions this needs (count_events, close_run, claim_existing) are defined in functions/.
--
-- Rolling upgrade: every change is additive but the three DROPs, which take a short ACCESS
-- EXCLUSIVE lock on history / records (no rewrite; they wait for statements in flight). The
-- counter backfill reads all of history once (ACCESS SHARE: writers are not blocked, a large
-- history makes this migration as long as one sequential scan of it). Code of version 006 still
-- running meanwhile keeps working: its writes go to history as before (one row per duplicate,
-- which history() compacts when read) but are not counted in event_counts.

ALTER TABLE {{schema}}.records
	ADD COLUMN run_at bigint,
	ADD COLUMN run_count integer,
	ADD COLUMN run_reason text,
	ADD COLUMN run_workflow_id text,
	ADD COLUMN run_execution_id text,
	ADD COLUMN run_node text;

ALTER TABLE {{schema}}.history
	ADD COLUMN last_at bigint,
	ADD COLUMN count integer;

CREATE TABLE {{schema}}.event_counts (
	namespace text     NOT NULL,
	hour      bigint   NOT NULL, -- epoch ms of the hour's start
	event     text     NOT NULL,
	reason    text     NOT NULL, -- '' for none
	slot      smallint NOT NULL,
	n         bigint   NOT NULL,
	PRIMARY KEY (namespace, hour, event, reason, slot)
);

INSERT INTO {{schema}}.event_counts (namespace, hour, event, reason, slot, n)
SELECT namespace, at - at % 3600000, event, coalesce(reason, ''), 0, count(*)
FROM {{schema}}.history
GROUP BY 1, 2, 3, 4;

ALTER TABLE {{schema}}.history DROP CONSTRAINT IF EXISTS history_pkey;
DROP INDEX IF EXISTS {{schema}}.history_at_idx;
DROP INDEX IF EXISTS {{schema}}.records_lease_idx;
