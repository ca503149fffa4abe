-- The Idempotency Trigger's feed of exceptions: open exceptions opened or seen again after the
-- position ($2, $3) and at or before $4, in (last_seen_at, id) order.
-- $1 namespace|null (null = every namespace)  $2 from_at bigint  $3 from_id text|null (null:
-- everything at $2 is done)  $4 until bigint  $5 limit
SELECT * FROM {{schema}}.exceptions
WHERE status = 'open'
	AND ($1::text IS NULL OR namespace = $1)
	AND last_seen_at >= $2 AND last_seen_at <= $4
	AND (last_seen_at > $2 OR ($3::text IS NOT NULL AND id::text COLLATE "C" > $3::text COLLATE "C"))
ORDER BY last_seen_at, id::text COLLATE "C"
LIMIT $5;
