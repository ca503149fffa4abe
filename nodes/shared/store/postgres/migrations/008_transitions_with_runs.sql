-- Migration 008: the transitions, exception resolutions and claim restores of migrations 003 and
-- 005, aware of duplicate runs and event counters (migration 007). Each event they append ends the
-- key's open run first (its one history row comes before the event). apply_transition() now says
-- which event it appended (OUT event) so that transition.sql counts them after all its row locks;
-- resolve_exception() counts its own event last. restore.sql counts the `released` rollbacks.
-- Function bodies only: no table is touched, so this takes no lock on a big table.

DROP FUNCTION {{schema}}.apply_transition(text, text, text, text, boolean, boolean, jsonb, text, bigint, bigint, text, text, text, jsonb);

CREATE FUNCTION {{schema}}.apply_transition(
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

CREATE OR REPLACE FUNCTION {{schema}}.resolve_exception(
	p_id uuid,
	p_namespace text,
	p_key text,
	p_resolution text,
	p_resolved_by text,
	p_note text,
	p_result jsonb,
	p_now bigint,
	p_workflow_id text,
	p_execution_id text,
	p_node text,
	p_force boolean
) RETURNS TABLE (exception_ids uuid[], rec {{schema}}.records, refused text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	ids uuid[];
	ns text;
	k text;
	t record;
	cur {{schema}}.records;
	fact jsonb;
	ev text;
BEGIN
	refused := NULL;
	IF p_id IS NOT NULL THEN
		SELECT e.namespace, e.key INTO ns, k FROM {{schema}}.exceptions e WHERE e.id = p_id;
		IF NOT FOUND THEN
			exception_ids := ARRAY[]::uuid[]; rec := NULL;
			RETURN NEXT; RETURN;
		END IF;
		SELECT array_agg(e.id) INTO ids FROM (
			SELECT e2.id FROM {{schema}}.exceptions e2 WHERE e2.id = p_id AND e2.status = 'open' FOR UPDATE
		) e;
	ELSE
		ns := p_namespace; k := p_key;
		SELECT array_agg(e.id) INTO ids FROM (
			SELECT e2.id FROM {{schema}}.exceptions e2
			WHERE e2.namespace = ns AND e2.key = k AND e2.status = 'open' FOR UPDATE
		) e;
	END IF;
	ids := coalesce(ids, ARRAY[]::uuid[]);

	IF cardinality(ids) = 0 THEN
		-- Nothing open: resolving again is a no-op that reports the key as it is.
		exception_ids := ids;
		SELECT * INTO rec FROM {{schema}}.records r WHERE r.namespace = ns AND r.key = k;
		RETURN NEXT; RETURN;
	END IF;

	IF p_resolution = 'replay' THEN
		-- Locked before deciding, so a claim cannot take the key between the check and the release.
		SELECT * INTO cur FROM {{schema}}.records r WHERE r.namespace = ns AND r.key = k FOR UPDATE;
		IF FOUND AND NOT coalesce(p_force, false) AND cur.state = 'processing'
			AND cur.lease_until IS NOT NULL AND cur.lease_until > p_now
			AND (cur.expires_at IS NULL OR cur.expires_at > p_now) THEN
			-- A worker may be writing right now: releasing would let the next delivery write too.
			exception_ids := ARRAY[]::uuid[]; rec := cur; refused := 'live_claim';
			RETURN NEXT; RETURN;
		END IF;
	END IF;

	UPDATE {{schema}}.exceptions e SET status = 'resolved', resolution = p_resolution,
		resolved_by = p_resolved_by, resolved_at = p_now, note = p_note
	WHERE e.id = ANY (ids);

	fact := jsonb_build_object('resolution', p_resolution, 'exceptionIds', to_jsonb(ids),
		'resolvedBy', p_resolved_by, 'note', p_note);
	IF p_resolution = 'replay' THEN
		SELECT * INTO t FROM {{schema}}.apply_transition(ns, k, 'release', NULL, false, coalesce(p_force, false),
			NULL, NULL, 0, p_now, p_workflow_id, p_execution_id, p_node, fact);
		rec := t.rec; ev := t.event;
	ELSIF p_resolution = 'markProcessed' THEN
		SELECT * INTO t FROM {{schema}}.apply_transition(ns, k, 'markProcessed', NULL, false, true, p_result, NULL,
			2592000000, p_now, p_workflow_id, p_execution_id, p_node, fact);
		rec := t.rec; ev := t.event;
	ELSE
		SELECT * INTO rec FROM {{schema}}.records r WHERE r.namespace = ns AND r.key = k FOR UPDATE;
		IF rec.run_at IS NOT NULL THEN
			-- The forced event below ends the key's duplicate run (migration 007).
			PERFORM {{schema}}.close_run(rec);
			UPDATE {{schema}}.records r SET run_at = NULL, run_count = NULL, run_reason = NULL, run_workflow_id = NULL,
				run_execution_id = NULL, run_node = NULL
			WHERE r.namespace = ns AND r.key = k
			RETURNING * INTO rec;
		END IF;
		INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, detail)
		VALUES (ns, k, p_now, 'forced', 'discard', p_workflow_id, p_execution_id, p_node,
			jsonb_build_object('from', rec.state, 'to', rec.state, 'kind', 'discard') || fact);
	END IF;
	-- Counted last, after every row lock (migration 007): a replay counts as released.
	IF ev IS NOT NULL THEN
		PERFORM {{schema}}.count_events(ns, p_now, ARRAY[ev], ARRAY[coalesce(p_resolution, '')], ARRAY[1::bigint]);
	END IF;
	exception_ids := ids;
	RETURN NEXT;
END
$fn$;

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
