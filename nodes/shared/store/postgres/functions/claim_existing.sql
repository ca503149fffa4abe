-- claim_existing(): the claim of a key that has a record and is not a plain duplicate (claim.sql
-- decides those inline): decide_claim() decides, then this keeps the key's history in order —
-- the run it ends, the decision, the in-batch repeats (p_duplicates join a run, p_mismatches end
-- it) — and returns the record to store, run columns included. Runs under the row's lock.

CREATE OR REPLACE FUNCTION {{schema}}.claim_existing(
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
