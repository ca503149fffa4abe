-- Applies a list of ledger transitions in one statement, in order, each under its row lock.
-- $1 namespace  $2 keys text[]  $3 kinds text[]  $4 claim tokens text[]  $5 verify boolean[]
-- $6 force boolean[]  $7 results jsonb[] (as text[])  $8 errors text[]  $9 retention_ms bigint[]
-- $10 now_ms bigint|null  $11 workflow_id  $12 execution_id  $13 node
-- Returns per request, in order: applied, noop, reject_reason and the record's columns after.
WITH clock AS (
	SELECT coalesce($10::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
)
SELECT t.ord, t.key AS request_key, a.applied, a.noop, a.reject_reason, (a.rec).*
FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], $7::text[],
	$8::text[], $9::bigint[]) WITH ORDINALITY AS t(key, kind, claim_token, verify, force, result,
	error, retention_ms, ord)
CROSS JOIN clock c
CROSS JOIN LATERAL {{schema}}.apply_transition($1, t.key, t.kind, t.claim_token, t.verify, t.force,
	t.result::jsonb, t.error, t.retention_ms, c.now_ms, $11, $12, $13, NULL) a
ORDER BY t.ord;
