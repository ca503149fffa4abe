-- decide_claim(): the decision table of the Guard's claim as a SQL function,
-- called by claim_existing() under the key's row lock. It mirrors the reference model
-- nodes/shared/engine/model/decideClaim.ts (decide()) line for line; the conformance suite holds
-- both to the same table.
-- Returns the new values of every column the claim may change, plus the decision
-- ('outcome:reason'). Code of schema 006 still calls it directly from its claim statement.

CREATE OR REPLACE FUNCTION {{schema}}.decide_claim(
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
	workflow_id text,
	execution_id text,
	OUT state text, OUT attempt integer, OUT claim_token uuid, OUT fingerprint text,
	OUT result jsonb, OUT last_error text, OUT first_seen_at bigint, OUT last_seen_at bigint,
	OUT updated_at bigint, OUT lease_until bigint, OUT expires_at bigint, OUT retention_ms_out bigint,
	OUT duplicate_count integer, OUT workflow_id_out text, OUT execution_id_out text, OUT decision text
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	outcome text;
	reason text;
	effect text;
BEGIN
	IF r.expires_at IS NOT NULL AND r.expires_at <= now_ms THEN
		outcome := 'new'; reason := 'first_seen'; effect := 'create';
	ELSIF in_fingerprint IS NOT NULL AND r.fingerprint IS NOT NULL AND in_fingerprint <> r.fingerprint THEN
		outcome := on_payload_mismatch; reason := 'payload_mismatch'; effect := 'seen';
	ELSIF r.state = 'received' THEN
		outcome := 'new'; reason := 'first_seen'; effect := 'claim';
	ELSIF r.state = 'processing' THEN
		IF r.lease_until IS NOT NULL AND r.lease_until > now_ms THEN
			IF on_in_progress = 'pending' THEN
				outcome := 'pending'; reason := 'in_progress'; effect := 'none';
			ELSE
				outcome := on_in_progress; reason := 'in_progress'; effect := 'seen';
			END IF;
		ELSIF on_lease_expired = 'reclaim' THEN
			outcome := 'new'; reason := 'reclaimed'; effect := 'claim';
		ELSE
			outcome := 'ambiguous'; reason := 'lease_expired'; effect := 'seen';
		END IF;
	ELSIF r.state = 'processed' THEN
		outcome := 'duplicate'; reason := 'already_processed'; effect := 'seen';
	ELSE -- failed
		IF r.attempt >= max_attempts THEN
			outcome := 'ambiguous'; reason := 'max_attempts'; effect := 'seen';
		ELSIF on_failed = 'retry' THEN
			outcome := 'new'; reason := 'retry_after_failure'; effect := 'claim';
		ELSE
			outcome := 'ambiguous'; reason := 'previously_failed'; effect := 'seen';
		END IF;
	END IF;

	-- Start from the record as it is.
	state := r.state; attempt := r.attempt; claim_token := r.claim_token; fingerprint := r.fingerprint;
	result := r.result; last_error := r.last_error; first_seen_at := r.first_seen_at;
	last_seen_at := r.last_seen_at; updated_at := r.updated_at; lease_until := r.lease_until;
	expires_at := r.expires_at; retention_ms_out := r.retention_ms; duplicate_count := r.duplicate_count;
	workflow_id_out := r.workflow_id; execution_id_out := r.execution_id;
	decision := outcome || ':' || reason;

	IF effect = 'create' THEN
		state := 'processing'; attempt := 1; claim_token := gen_random_uuid(); fingerprint := in_fingerprint;
		result := NULL; last_error := NULL; first_seen_at := now_ms; last_seen_at := now_ms;
		updated_at := now_ms; lease_until := now_ms + lease_ms; expires_at := NULL;
		retention_ms_out := retention_ms; duplicate_count := 0;
		workflow_id_out := workflow_id; execution_id_out := execution_id;
	ELSIF effect = 'claim' THEN
		state := 'processing'; attempt := r.attempt + 1; claim_token := gen_random_uuid();
		fingerprint := coalesce(r.fingerprint, in_fingerprint); last_seen_at := now_ms;
		updated_at := now_ms; lease_until := now_ms + lease_ms; expires_at := NULL;
		retention_ms_out := retention_ms; workflow_id_out := workflow_id; execution_id_out := execution_id;
	ELSIF effect = 'seen' THEN
		last_seen_at := now_ms;
		IF outcome = 'duplicate' THEN
			duplicate_count := r.duplicate_count + 1;
		END IF;
	END IF;
END
$fn$;
