-- Opens incidents, or counts repeats on the open incident of the same (namespace, key): the
-- Router's groupBy = key (docs/CONTRACT.md §12). A reason the incident has not had yet is appended to its
-- `reasons`; `reason` stays the one that opened it, like owner, severity and route.
-- Requests are distinct per key; $3 holds each one's reasons (first seen first) as a JSON array.
-- $1 namespace  $2 keys text[]  $3 reasons (JSON arrays) text[]  $4 owners text[]  $5 severities text[]
-- $6 routes text[]  $7 occurrences int[]  $8 now_ms bigint|null  $9 workflow_id  $10 execution_id
-- Returns the incidents after the change, one row per request.
-- Rows are taken in key order, as in record_exceptions.sql (one incident per key).
WITH clock AS (
	SELECT coalesce($8::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
)
INSERT INTO {{schema}}.exceptions AS e (namespace, key, reason, reasons, group_by, owner, severity, route,
	occurrences, first_seen_at, last_seen_at, workflow_id, execution_id)
SELECT $1, r.key, rs.list[1], rs.list, 'key', r.owner, r.severity, r.route, r.occurrences,
	c.now_ms, c.now_ms, $9, $10
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[])
	AS r(key, reasons, owner, severity, route, occurrences)
CROSS JOIN LATERAL (
	SELECT array_agg(x.value ORDER BY x.n) AS list
	FROM jsonb_array_elements_text(r.reasons::jsonb) WITH ORDINALITY AS x(value, n)
) rs
CROSS JOIN clock c
ORDER BY r.key
ON CONFLICT (namespace, key) WHERE status = 'open' AND group_by = 'key' DO UPDATE SET
	reasons = e.reasons || ARRAY(
		SELECT x.value FROM unnest(excluded.reasons) WITH ORDINALITY AS x(value, n)
		WHERE x.value <> ALL (e.reasons) ORDER BY x.n
	),
	occurrences = e.occurrences + excluded.occurrences,
	last_seen_at = excluded.last_seen_at,
	workflow_id = excluded.workflow_id,
	execution_id = excluded.execution_id
RETURNING e.*;
