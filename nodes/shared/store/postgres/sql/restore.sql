-- Undoes claims of a failed input in one statement: each key whose record still carries its
-- claim gets back the record the claim found (restore_claim(), functions/). Each
-- restore appends a `released` event (reason `rollback`), counted in event_counts last.
-- $1 namespace  $2 keys text[]  $3 claim tokens text[]  $4 prior records jsonb[] (as text[];
-- null entries: the key had no record, it is deleted)  $5 now_ms bigint|null (null = server
-- clock)  $6 workflow_id  $7 execution_id  $8 node
-- Returns per request, in order: restored (false when someone changed the record since).
WITH clock AS (
	SELECT coalesce($5::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
),
restored AS (
	SELECT t.ord, {{schema}}.restore_claim($1, t.key, t.claim_token::uuid, t.prior::jsonb, c.now_ms, $6, $7, $8) AS restored
	FROM (
		SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(key, claim_token, prior, ord)
		ORDER BY u.key, u.ord
	) AS t
	CROSS JOIN clock c
),
counted AS (
	SELECT {{schema}}.count_events($1, (SELECT now_ms FROM clock), ARRAY['released'], ARRAY['rollback'],
		ARRAY[(SELECT count(*) FROM restored WHERE restored)])
)
SELECT r.ord, r.restored
FROM restored r
WHERE (SELECT count(*) FROM counted) >= 0
ORDER BY r.ord;
