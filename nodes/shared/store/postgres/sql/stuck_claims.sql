-- The Idempotency Trigger's feed of stuck claims: records still `processing` whose lease ran out
-- after the position ($2, $3, $4) and at or before $5, oldest lease first. Ties are broken by
-- (namespace, key) in byte order (COLLATE "C"), the order the Redis adapter uses too.
-- $1 namespace|null (null = every namespace)  $2 from_at bigint  $3 from_namespace text|null
-- $4 from_key text|null (null with $3: everything at $2 is done)  $5 until bigint  $6 limit
SELECT * FROM {{schema}}.records
WHERE state = 'processing'
	AND ($1::text IS NULL OR namespace = $1)
	AND lease_until >= $2 AND lease_until <= $5
	AND (lease_until > $2 OR ($3::text IS NOT NULL
		AND (namespace COLLATE "C", key COLLATE "C") > ($3::text COLLATE "C", $4::text COLLATE "C")))
ORDER BY lease_until, namespace COLLATE "C", key COLLATE "C"
LIMIT $6;
