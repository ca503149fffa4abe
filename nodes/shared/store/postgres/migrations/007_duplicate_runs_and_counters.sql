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

-- Adds counted events to their hour: rows of (event, reason, n) at one time. Called last in a
-- statement or function (see 2. above).
CREATE FUNCTION {{schema}}.count_events(p_namespace text, p_now bigint, p_events text[], p_reasons text[], p_counts bigint[])
RETURNS void LANGUAGE sql VOLATILE AS $fn$
	INSERT INTO {{schema}}.event_counts AS c (namespace, hour, event, reason, slot, n)
	SELECT p_namespace, p_now - p_now % 3600000, e.event, coalesce(e.reason, ''), pg_backend_pid() % 4, sum(e.n)
	FROM unnest(p_events, p_reasons, p_counts) AS e(event, reason, n)
	WHERE e.event IS NOT NULL AND e.n > 0
	GROUP BY 2, 3, 4
	ORDER BY 2, 3, 4
	ON CONFLICT (namespace, hour, event, reason, slot) DO UPDATE SET n = c.n + excluded.n;
$fn$;

-- Writes a key's open duplicate run to history as one event and closes it on `r` (the caller
-- stores r). No-op when the record has no open run.
CREATE FUNCTION {{schema}}.close_run(INOUT r {{schema}}.records) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
	IF r.run_at IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, last_at, count)
	VALUES (r.namespace, r.key, r.run_at, 'duplicate_seen', r.run_reason, r.run_workflow_id, r.run_execution_id,
		r.run_node, greatest(r.last_seen_at, r.run_at), r.run_count);
	r.run_at := NULL; r.run_count := NULL; r.run_reason := NULL;
	r.run_workflow_id := NULL; r.run_execution_id := NULL; r.run_node := NULL;
END
$fn$;

-- The claim of a key that has a record and is not a plain duplicate (claim.sql decides those
-- inline): decide_claim() (migration 002) decides, then this keeps the key's history in order —
-- the run it ends, the decision, the in-batch repeats (p_duplicates join a run, p_mismatches end
-- it) — and returns the record to store, run columns included. Runs under the row's lock.
CREATE FUNCTION {{schema}}.claim_existing(
	r {{schema}}.records,
	in_fingerprint text,
	now_ms bigint,
	lease_ms bigint,
	retention_ms bigint,
	on_in_progress text,
	on_lease_expired text,
	on_failed text,
	max_attempts integer,
	on_payload_mismatch text,
	p_workflow_id text,
	p_execution_id text,
	p_node text,
	p_duplicates integer,
	p_mismatches integer
) RETURNS {{schema}}.records LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	d record;
	outcome text;
	reason text;
	n record;
BEGIN
	SELECT * INTO d FROM {{schema}}.decide_claim(r, in_fingerprint, now_ms, lease_ms, retention_ms, on_in_progress,
		on_lease_expired, on_failed, max_attempts, on_payload_mismatch, p_workflow_id, p_execution_id);
	outcome := split_part(d.decision, ':', 1);
	reason := split_part(d.decision, ':', 2);
	n := r;
	n.state := d.state; n.attempt := d.attempt; n.claim_token := d.claim_token; n.fingerprint := d.fingerprint;
	n.result := d.result; n.last_error := d.last_error; n.first_seen_at := d.first_seen_at;
	n.last_seen_at := d.last_seen_at; n.updated_at := d.updated_at; n.lease_until := d.lease_until;
	n.expires_at := d.expires_at; n.retention_ms := d.retention_ms_out; n.duplicate_count := d.duplicate_count;
	n.workflow_id := d.workflow_id_out; n.execution_id := d.execution_id_out; n.decision := d.decision;
	-- prior: the record as it was, kept when this claim takes the key (migration 005).
	n.prior := CASE WHEN outcome = 'new' THEN to_jsonb(r) - 'prior' END;

	IF outcome = 'duplicate' THEN
		IF n.run_at IS NULL THEN
			n.run_at := now_ms; n.run_count := 1; n.run_reason := reason;
			n.run_workflow_id := p_workflow_id; n.run_execution_id := p_execution_id; n.run_node := p_node;
		ELSE
			n.run_count := n.run_count + 1;
		END IF;
	ELSIF outcome <> 'pending' THEN
		-- The run before this decision is over; the run's last delivery is the record's last_seen_at.
		n.last_seen_at := r.last_seen_at;
		n := {{schema}}.close_run(n);
		n.last_seen_at := d.last_seen_at;
		INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node)
		VALUES (r.namespace, r.key, now_ms,
			CASE WHEN d.decision = 'new:reclaimed' THEN 'reclaimed' WHEN outcome = 'new' THEN 'claimed' ELSE 'ambiguous_seen' END,
			reason, p_workflow_id, p_execution_id, p_node);
	END IF;

	IF coalesce(p_duplicates, 0) > 0 THEN
		IF n.run_at IS NULL THEN
			n.run_at := now_ms; n.run_count := p_duplicates; n.run_reason := 'duplicate_in_batch';
			n.run_workflow_id := p_workflow_id; n.run_execution_id := p_execution_id; n.run_node := p_node;
		ELSE
			n.run_count := n.run_count + p_duplicates;
		END IF;
	END IF;
	IF coalesce(p_mismatches, 0) > 0 THEN
		n := {{schema}}.close_run(n);
		INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node)
		SELECT r.namespace, r.key, now_ms, 'ambiguous_seen', 'duplicate_in_batch', p_workflow_id, p_execution_id, p_node
		FROM generate_series(1, p_mismatches);
	END IF;
	RETURN n;
END
$fn$;
