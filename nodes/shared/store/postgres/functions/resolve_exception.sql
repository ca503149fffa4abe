-- resolve_exception(): closes a key's open exceptions (one by id, or all of a namespace and key)
-- and acts on the key's record in the same transaction: `replay` releases it (refused as
-- `live_claim` while a claim's lease runs, unless p_force: releasing would let the next delivery
-- write too), `markProcessed` forces it processed with p_result, `reconciled` the same unless the
-- key is already processed (then left as it is: its own result stays), `discard` leaves it. The
-- event it appends ends the key's duplicate run and is counted last, after every row lock.
-- A Reconcile's replay is conditional (migration 009): p_claim_token — the key must still carry
-- the claim that was looked up (`claim_changed`); p_ended_by — that claim must have ended (lease
-- end, or the last update of a failed key) by then (`lookup_too_early`); p_act_on_key — act on
-- the key even when none of its exceptions is open (a stuck claim has none).
-- Returns the resolved exception ids, the record after, and why nothing was done (refused).
--
-- Lock order (migration 010): a key's exceptions first, in (reason, group_by, id) order — the
-- order record_exceptions.sql and record_incidents.sql take them in, by (key, reason) —, then its
-- record, then the event counters. No statement locks a record and then an exception. Before
-- 010 a key's exceptions were locked in whatever order the plan found them (the feed index's
-- last_seen_at order, or the table's), and a resolution by key deadlocked with a recording of
-- several reasons of that key.

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
	p_force boolean,
	p_resolved_via text,
	p_claim_token text,
	p_ended_by bigint,
	p_act_on_key boolean
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
			WHERE e2.namespace = ns AND e2.key = k AND e2.status = 'open'
				-- Always true (the CHECK of migration 006): it lets the plan find the key's open
				-- exceptions by (namespace, key) in the two unique indexes of open ones, one per
				-- grouping, instead of reading the open exceptions of the namespace or of every one.
				AND (e2.group_by = 'keyAndReason' OR e2.group_by = 'key')
			ORDER BY e2.reason, e2.group_by, e2.id FOR UPDATE
		) e;
	END IF;
	ids := coalesce(ids, ARRAY[]::uuid[]);
	-- The history and the reply list them oldest first (first seen, then id), as the Redis script
	-- does; the locks above were taken in (reason, grouping, id) order.
	IF cardinality(ids) > 1 THEN
		SELECT array_agg(e.id ORDER BY e.first_seen_at, e.id) INTO ids FROM {{schema}}.exceptions e WHERE e.id = ANY (ids);
	END IF;

	IF cardinality(ids) = 0 AND NOT (p_id IS NULL AND coalesce(p_act_on_key, false)) THEN
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
		IF FOUND AND (cur.expires_at IS NULL OR cur.expires_at > p_now) AND (p_claim_token IS NOT NULL OR p_ended_by IS NOT NULL) THEN
			IF cur.state NOT IN ('processing', 'failed')
				OR (p_claim_token IS NOT NULL AND cur.claim_token::text IS DISTINCT FROM p_claim_token) THEN
				-- Claimed again or settled since the lookup: what was looked up is not the key's state now.
				exception_ids := ARRAY[]::uuid[]; rec := cur; refused := 'claim_changed';
				RETURN NEXT; RETURN;
			END IF;
			IF p_ended_by IS NOT NULL AND greatest(coalesce(cur.lease_until, 0), cur.updated_at) > p_ended_by THEN
				-- The write may have landed after the lookup: not finding it proves nothing yet.
				exception_ids := ARRAY[]::uuid[]; rec := cur; refused := 'lookup_too_early';
				RETURN NEXT; RETURN;
			END IF;
		END IF;
	ELSIF p_resolution = 'reconciled' THEN
		SELECT * INTO cur FROM {{schema}}.records r WHERE r.namespace = ns AND r.key = k FOR UPDATE;
	END IF;

	UPDATE {{schema}}.exceptions e SET status = 'resolved', resolution = p_resolution,
		resolved_by = p_resolved_by, resolved_via = p_resolved_via, resolved_at = p_now, note = p_note
	WHERE e.id = ANY (ids);

	fact := jsonb_build_object('resolution', p_resolution, 'exceptionIds', to_jsonb(ids),
		'resolvedBy', p_resolved_by, 'resolvedVia', p_resolved_via, 'note', p_note);
	IF p_resolution = 'replay' THEN
		SELECT * INTO t FROM {{schema}}.apply_transition(ns, k, 'release', NULL, false, coalesce(p_force, false),
			NULL, NULL, 0, p_now, p_workflow_id, p_execution_id, p_node, fact);
		rec := t.rec; ev := t.event;
	ELSIF p_resolution = 'markProcessed' OR (p_resolution = 'reconciled' AND (cur.state IS DISTINCT FROM 'processed' OR cur.expires_at <= p_now)) THEN
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
		VALUES (ns, k, p_now, 'forced', p_resolution, p_workflow_id, p_execution_id, p_node,
			jsonb_build_object('from', rec.state, 'to', rec.state, 'kind', p_resolution) || fact);
	END IF;
	-- Counted last, after every row lock (migration 007): a replay counts as released.
	IF ev IS NOT NULL THEN
		PERFORM {{schema}}.count_events(ns, p_now, ARRAY[ev], ARRAY[coalesce(p_resolution, '')], ARRAY[1::bigint]);
	END IF;
	exception_ids := ids;
	RETURN NEXT;
END
$fn$;
