-- Opens exceptions, or counts repeats on the open one of the same (namespace, key, reason)
-- (groupBy = keyAndReason; sql/record_incidents.sql is groupBy = key).
-- Requests are distinct per (key, reason); $7 says how many occurrences each one adds.
-- $1 namespace  $2 keys text[]  $3 reasons text[]  $4 owners text[]  $5 severities text[]
-- $6 routes text[]  $7 occurrences int[]  $8 now_ms bigint|null  $9 workflow_id  $10 execution_id
-- Returns the exceptions after the change, one row per request.
-- Rows are taken in (key, reason) order — the open exception a repeat updates is locked, a new
-- one waits for a concurrent insert of the same one —, the order resolve_exception() locks a
-- key's exceptions in (migration 010), so that the two never wait on each other crosswise.
WITH clock AS (
	SELECT coalesce($8::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
)
INSERT INTO {{schema}}.exceptions AS e (namespace, key, reason, reasons, group_by, owner, severity, route,
	occurrences, first_seen_at, last_seen_at, workflow_id, execution_id)
SELECT $1, r.key, r.reason, ARRAY[r.reason], 'keyAndReason', r.owner, r.severity, r.route, r.occurrences,
	c.now_ms, c.now_ms, $9, $10
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[])
	AS r(key, reason, owner, severity, route, occurrences)
CROSS JOIN clock c
ORDER BY r.key, r.reason
ON CONFLICT (namespace, key, reason) WHERE status = 'open' AND group_by = 'keyAndReason' DO UPDATE SET
	occurrences = e.occurrences + excluded.occurrences,
	last_seen_at = excluded.last_seen_at,
	workflow_id = excluded.workflow_id,
	execution_id = excluded.execution_id
RETURNING e.*;
