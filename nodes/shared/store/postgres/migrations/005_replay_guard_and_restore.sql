-- Migration 005: two holes closed (issue 11).
--
-- 1. A replay never releases a live claim. resolve_exception() gains p_force: `replay` of a key
--    that is `processing` with a valid lease is refused — nothing changes, the exception stays
--    open, `refused` says why — unless forced; a forced replay is recorded as `forced`.
-- 2. A failed input is undone exactly. The claim keeps, in `prior`, the record as it was before a
--    claim that took it (the same trick as `decision`: RETURNING only sees the new row), and
--    restore_claim() writes that image back — only while the record still carries the claim's
--    token and is still `processing`, so a record someone else changed since is never clobbered.

ALTER TABLE {{schema}}.records ADD COLUMN prior jsonb;

-- The image only lives while the claim does: once the key leaves `processing` (settled, or
-- restored) it is dropped, so an earlier life's result is not kept past its retention.
CREATE FUNCTION {{schema}}.drop_prior() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.prior := NULL;
	RETURN NEW;
END
$fn$;
CREATE TRIGGER records_drop_prior BEFORE UPDATE ON {{schema}}.records
	FOR EACH ROW WHEN (NEW.prior IS NOT NULL AND NEW.state <> 'processing') EXECUTE FUNCTION {{schema}}.drop_prior();

DROP FUNCTION {{schema}}.resolve_exception(uuid, text, text, text, text, text, jsonb, bigint, text, text, text);

CREATE FUNCTION {{schema}}.resolve_exception(
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
		rec := t.rec;
	ELSIF p_resolution = 'markProcessed' THEN
		SELECT * INTO t FROM {{schema}}.apply_transition(ns, k, 'markProcessed', NULL, false, true, p_result, NULL,
			2592000000, p_now, p_workflow_id, p_execution_id, p_node, fact);
		rec := t.rec;
	ELSE
		SELECT * INTO rec FROM {{schema}}.records r WHERE r.namespace = ns AND r.key = k;
		INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, detail)
		VALUES (ns, k, p_now, 'forced', 'discard', p_workflow_id, p_execution_id, p_node,
			jsonb_build_object('from', rec.state, 'to', rec.state, 'kind', 'discard') || fact);
	END IF;
	exception_ids := ids;
	RETURN NEXT;
END
$fn$;

-- Puts back the record a claim found (p_prior, the claim's `prior`; NULL: there was none, so the
-- key is deleted) if the record still is that claim: `processing` with p_claim_token. Appends a
-- `released` event, reason `rollback`, so the history says the claim was undone.
-- Returns true when restored, false when the record is not (or no longer) that claim's.
CREATE FUNCTION {{schema}}.restore_claim(
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
	IF p_prior IS NULL THEN
		DELETE FROM {{schema}}.records r WHERE r.namespace = p_namespace AND r.key = p_key;
	ELSE
		p := jsonb_populate_record(NULL::{{schema}}.records, p_prior);
		UPDATE {{schema}}.records r SET
			state = p.state, attempt = p.attempt, claim_token = p.claim_token, fingerprint = p.fingerprint,
			result = p.result, last_error = p.last_error, first_seen_at = p.first_seen_at,
			last_seen_at = p.last_seen_at, updated_at = p.updated_at, lease_until = p.lease_until,
			expires_at = p.expires_at, retention_ms = p.retention_ms, duplicate_count = p.duplicate_count,
			workflow_id = p.workflow_id, execution_id = p.execution_id, decision = p.decision, prior = NULL
		WHERE r.namespace = p_namespace AND r.key = p_key;
	END IF;
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, detail)
	VALUES (p_namespace, p_key, p_now, 'released', 'rollback', p_workflow_id, p_execution_id, p_node,
		jsonb_build_object('rollback', true, 'restoredState', p_prior ->> 'state'));
	RETURN true;
END
$fn$;
