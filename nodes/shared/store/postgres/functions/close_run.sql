-- close_run(r): writes a key's open duplicate run to history as one event and closes it on `r`
-- (the caller stores r). No-op when the record has no open run. A run of consecutive
-- `duplicate_seen` events lives on the record (run_* columns; its lastAt is the record's
-- last_seen_at) until whatever event comes next writes it as one row (last_at, count).

CREATE OR REPLACE FUNCTION {{schema}}.close_run(INOUT r {{schema}}.records) LANGUAGE plpgsql VOLATILE AS $fn$
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
