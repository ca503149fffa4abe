-- Deletes a namespace's records past retention and their history, in one statement, and its
-- stats counters older than 100 days (as Redis keeps them).
-- $1 namespace text  $2 now_ms bigint|null (null = server clock)
-- Returns: records (count of records deleted), history (count of history rows deleted).
WITH clock AS (
	SELECT coalesce($2::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
),
doomed AS (
	-- Locked in key order first, the order every statement takes row locks in (claim.sql): a
	-- DELETE alone takes them in the order it finds the rows, and deadlocked with claims.
	SELECT r.key
	FROM {{schema}}.records r, clock c
	WHERE r.namespace = $1 AND r.expires_at IS NOT NULL AND r.expires_at <= c.now_ms
	ORDER BY r.key
	FOR UPDATE OF r
),
gone AS (
	DELETE FROM {{schema}}.records r
	USING clock c
	WHERE r.namespace = $1 AND r.key IN (SELECT d.key FROM doomed d)
		AND r.expires_at IS NOT NULL AND r.expires_at <= c.now_ms
	RETURNING r.key
),
gone_history AS (
	DELETE FROM {{schema}}.history h
	USING gone g
	WHERE h.namespace = $1 AND h.key = g.key
	RETURNING 1
),
old_counts AS (
	DELETE FROM {{schema}}.event_counts e
	USING clock c
	WHERE e.namespace = $1 AND e.hour < c.now_ms - 100 * 86400000::bigint
	RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS records, (SELECT count(*) FROM gone_history) AS history,
	(SELECT count(*) FROM old_counts) AS counters;
