-- Migration 004: the Exception Router's remembered queue. At most one open exception per
-- (namespace, key, reason): repeats count occurrences on it. resolve_exception() closes
-- exceptions and acts on the key's record in the same transaction.

CREATE TABLE {{schema}}.exceptions (
	id            uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace     text    NOT NULL,
	key           text    NOT NULL,
	reason        text    NOT NULL,
	owner         text    NOT NULL,
	severity      text    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	route         text    NOT NULL,
	status        text    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
	occurrences   integer NOT NULL DEFAULT 1,
	first_seen_at bigint  NOT NULL,
	last_seen_at  bigint  NOT NULL,
	workflow_id   text,
	execution_id  text,
	resolution    text CHECK (resolution IN ('replay', 'markProcessed', 'discard')),
	resolved_by   text,
	resolved_at   bigint,
	note          text
);
CREATE UNIQUE INDEX exceptions_open_key_idx ON {{schema}}.exceptions (namespace, key, reason) WHERE status = 'open';
CREATE INDEX exceptions_open_age_idx ON {{schema}}.exceptions (first_seen_at) WHERE status = 'open';

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
	p_node text
) RETURNS TABLE (exception_ids uuid[], rec {{schema}}.records)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
	ids uuid[];
	ns text;
	k text;
	t record;
	fact jsonb;
BEGIN
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

	UPDATE {{schema}}.exceptions e SET status = 'resolved', resolution = p_resolution,
		resolved_by = p_resolved_by, resolved_at = p_now, note = p_note
	WHERE e.id = ANY (ids);

	fact := jsonb_build_object('resolution', p_resolution, 'exceptionIds', to_jsonb(ids),
		'resolvedBy', p_resolved_by, 'note', p_note);
	IF p_resolution = 'replay' THEN
		SELECT * INTO t FROM {{schema}}.apply_transition(ns, k, 'release', NULL, false, false, NULL, NULL,
			0, p_now, p_workflow_id, p_execution_id, p_node, fact);
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
