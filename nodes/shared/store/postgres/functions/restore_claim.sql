-- restore_claim(): puts back the record a claim found (p_prior, the claim's `prior`; NULL: there
-- was none, so the key is deleted) if the record still is that claim: `processing` with
-- p_claim_token, so a record someone else changed since is never clobbered. Appends a `released`
-- event, reason `rollback`, so the history says the claim was undone (restore.sql counts it).
-- Returns true when restored, false when the record is not (or no longer) that claim's.

CREATE OR REPLACE FUNCTION {{schema}}.restore_claim(
	p_namespace text,
	p_key text,
	p_claim_token uuid,
	p_prior jsonb,
	p_now bigint,
	p_workflow_id text,
	p_execution_id text,
	p_node text
) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	cur {{schema}}.records;
	p {{schema}}.records;
BEGIN
	SELECT * INTO cur FROM {{schema}}.records r
	WHERE r.namespace = p_namespace AND r.key = p_key FOR UPDATE;
	IF NOT FOUND OR cur.state <> 'processing' OR cur.claim_token IS DISTINCT FROM p_claim_token THEN
		RETURN false;
	END IF;
	-- The claim being undone may have started a run (in-batch repeats): it is history now, and the
	-- record put back has none open (the claim already wrote the prior record's run to history).
	PERFORM {{schema}}.close_run(cur);
	IF p_prior IS NULL THEN
		DELETE FROM {{schema}}.records r WHERE r.namespace = p_namespace AND r.key = p_key;
	ELSE
		p := jsonb_populate_record(NULL::{{schema}}.records, p_prior);
		UPDATE {{schema}}.records r SET
			state = p.state, attempt = p.attempt, claim_token = p.claim_token, fingerprint = p.fingerprint,
			result = p.result, last_error = p.last_error, first_seen_at = p.first_seen_at,
			last_seen_at = p.last_seen_at, updated_at = p.updated_at, lease_until = p.lease_until,
			expires_at = p.expires_at, retention_ms = p.retention_ms, duplicate_count = p.duplicate_count,
			workflow_id = p.workflow_id, execution_id = p.execution_id, decision = p.decision, prior = NULL,
			run_at = NULL, run_count = NULL, run_reason = NULL, run_workflow_id = NULL, run_execution_id = NULL, run_node = NULL
		WHERE r.namespace = p_namespace AND r.key = p_key;
	END IF;
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, detail)
	VALUES (p_namespace, p_key, p_now, 'released', 'rollback', p_workflow_id, p_execution_id, p_node,
		jsonb_build_object('rollback', true, 'restoredState', p_prior ->> 'state'));
	RETURN true;
END
$fn$;
