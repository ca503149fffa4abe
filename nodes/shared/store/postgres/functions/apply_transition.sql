-- apply_transition(): the State Ledger's transitions as one function, applied under the record's
-- row lock. It mirrors the reference model nodes/shared/engine/model/planTransition.ts
-- (planTransition()). Called once per request from transition.sql (many requests, one
-- statement) and by resolve_exception(). Each event it appends ends the key's open duplicate run
-- first (the run's one history row comes before the event).
-- Returns the outcome, the record after, and which event it appended (OUT event) so that the
-- caller counts events after all its row locks. Its OUT list changed in migration 008, which
-- drops the older one first (CREATE OR REPLACE cannot change a result type).

CREATE OR REPLACE FUNCTION {{schema}}.apply_transition(
	p_namespace text,
	p_key text,
	p_kind text,                -- markProcessed | markFailed | markReceived | release
	p_claim_token text,
	p_verify_claim boolean,
	p_force boolean,
	p_result jsonb,
	p_error text,
	p_retention_ms bigint,
	p_now bigint,
	p_workflow_id text,
	p_execution_id text,
	p_node text,
	-- Extra facts for the history event (e.g. the exception a resolution came from); its
	-- "resolution" member, when present, becomes the event's reason.
	p_note jsonb,
	OUT applied boolean, OUT noop boolean, OUT reject_reason text, OUT rec {{schema}}.records,
	-- The history event appended (null when rejected or a no-op), for the caller's event_counts.
	OUT event text
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	cur {{schema}}.records;
	target text;
	owns boolean;
	refused boolean;
	action text;
	from_state text;
	again record;
BEGIN
	applied := false; noop := false; reject_reason := NULL; event := NULL;
	target := CASE p_kind WHEN 'markProcessed' THEN 'processed' WHEN 'markFailed' THEN 'failed'
		WHEN 'markReceived' THEN 'received' ELSE NULL END;

	SELECT * INTO cur FROM {{schema}}.records r
	WHERE r.namespace = p_namespace AND r.key = p_key FOR UPDATE;
	IF FOUND AND cur.expires_at IS NOT NULL AND cur.expires_at <= p_now THEN
		cur := NULL;
	END IF;
	from_state := cur.state;

	owns := p_claim_token IS NOT NULL AND cur.claim_token IS NOT NULL AND p_claim_token = cur.claim_token::text;
	refused := p_verify_claim AND NOT owns;

	IF p_force THEN
		IF p_kind = 'release' THEN
			IF cur.state IS NULL THEN action := 'reject'; reject_reason := 'not_found';
			ELSE action := 'delete'; END IF;
		ELSE
			action := CASE WHEN cur.state IS NULL THEN 'create' ELSE 'set' END;
		END IF;
		event := 'forced';
	ELSIF cur.state IS NULL THEN
		IF p_kind = 'markReceived' THEN action := 'create'; event := 'received';
		ELSE action := 'reject'; reject_reason := 'not_found'; END IF;
	ELSIF p_kind = 'release' THEN
		-- A live claim needs its token; a token that is not the record's (a stale worker) is
		-- refused in every state; an operator without a token may release a settled key.
		IF (cur.state = 'processing' AND refused) OR (p_verify_claim AND p_claim_token IS NOT NULL AND NOT owns) THEN
			action := 'reject'; reject_reason := 'claim_lost';
		ELSE action := 'delete'; event := 'released'; END IF;
	ELSIF p_kind = 'markReceived' THEN
		IF cur.state = 'received' THEN action := 'noop';
		ELSE action := 'reject'; reject_reason := 'invalid_transition'; END IF;
	ELSIF cur.state = target THEN
		IF owns OR NOT p_verify_claim THEN action := 'noop';
		ELSE action := 'reject'; reject_reason := 'claim_lost'; END IF;
	ELSIF cur.state = 'processing' THEN
		IF refused THEN action := 'reject'; reject_reason := 'claim_lost';
		ELSE action := 'set'; event := CASE p_kind WHEN 'markProcessed' THEN 'processed' ELSE 'failed' END; END IF;
	ELSIF refused AND cur.state <> 'received' THEN
		action := 'reject'; reject_reason := 'claim_lost';
	ELSE
		action := 'reject'; reject_reason := 'invalid_transition';
	END IF;

	IF action = 'reject' THEN
		rec := cur; event := NULL;
		RETURN;
	END IF;
	applied := true;
	IF action = 'noop' THEN
		noop := true; rec := cur; event := NULL;
		RETURN;
	END IF;

	-- This event ends the key's duplicate run: its one history row comes first (migration 007).
	IF cur.run_at IS NOT NULL THEN
		PERFORM {{schema}}.close_run(cur);
	END IF;

	IF action = 'delete' THEN
		DELETE FROM {{schema}}.records r WHERE r.namespace = p_namespace AND r.key = p_key;
		rec := NULL;
	ELSIF action = 'create' THEN
		-- An expired record may still be there: replace it (its open run, if any, goes to history first).
		PERFORM {{schema}}.close_run(x) FROM {{schema}}.records x WHERE x.namespace = p_namespace AND x.key = p_key;
		DELETE FROM {{schema}}.records r WHERE r.namespace = p_namespace AND r.key = p_key;
		INSERT INTO {{schema}}.records AS r (namespace, key, state, attempt, result, last_error,
			first_seen_at, last_seen_at, updated_at, retention_ms, expires_at, workflow_id, execution_id)
		VALUES (p_namespace, p_key, target, 0,
			CASE WHEN target = 'processed' THEN p_result END,
			CASE WHEN target = 'failed' THEN p_error END,
			p_now, p_now, p_now, p_retention_ms,
			CASE WHEN target IN ('processed', 'failed') AND p_retention_ms > 0 THEN p_now + p_retention_ms END,
			p_workflow_id, p_execution_id)
		ON CONFLICT (namespace, key) DO NOTHING
		RETURNING * INTO rec;
		IF NOT FOUND THEN
			-- A concurrent transition created the key first: decide again against its record.
			SELECT * INTO again FROM {{schema}}.apply_transition(p_namespace, p_key,
				p_kind, p_claim_token, p_verify_claim, p_force, p_result, p_error, p_retention_ms, p_now,
				p_workflow_id, p_execution_id, p_node, p_note);
			applied := again.applied; noop := again.noop; reject_reason := again.reject_reason; rec := again.rec;
			event := again.event;
			RETURN;
		END IF;
	ELSE -- set
		UPDATE {{schema}}.records r SET
			state = target,
			result = CASE WHEN target = 'processed' THEN p_result ELSE r.result END,
			last_error = CASE WHEN target = 'failed' THEN p_error ELSE r.last_error END,
			lease_until = NULL,
			run_at = NULL, run_count = NULL, run_reason = NULL, run_workflow_id = NULL, run_execution_id = NULL, run_node = NULL,
			expires_at = CASE WHEN target IN ('processed', 'failed') AND r.retention_ms > 0
				THEN p_now + r.retention_ms END,
			updated_at = p_now
		WHERE r.namespace = p_namespace AND r.key = p_key
		RETURNING * INTO rec;
	END IF;

	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, detail)
	VALUES (p_namespace, p_key, p_now, event,
		coalesce(p_note ->> 'resolution', CASE WHEN event = 'forced' THEN p_kind END),
		p_workflow_id, p_execution_id, p_node,
		CASE
			WHEN event = 'forced' THEN jsonb_build_object('from', from_state, 'to', coalesce(target, 'released'), 'kind', p_kind) || coalesce(p_note, '{}'::jsonb)
			ELSE p_note
		END);
END
$fn$;
